"""``pv2simkl service install|uninstall|status|logs``: the daemon as a user service.

On Linux (and anything that is not macOS) a systemd *user* unit in
``~/.config/systemd/user/pv2simkl.service``; on macOS a LaunchAgent in
``~/Library/LaunchAgents/io.github.pv2simkl.plist``. Both come from the templates shipped
in the package (``pv2simkl/daemon/templates/``, read with :mod:`importlib.resources`); the
project's ``systemd/`` and ``launchd/`` folders hold examples of what they render to.

The module is plain functions that return data (the rendered file, the commands, the
paths) gathered in a :class:`Plan`, and two that act: :func:`run` runs commands through a
substitutable ``runner`` (``subprocess.run`` by default) and :func:`apply` carries out a
whole plan. ``--dry-run`` is :meth:`Plan.describe` without :func:`apply`, and tests swap
the system commands for fakes.

What earlier tools got wrong, and this module does not: the service gets the *absolute*
interpreter (services do not see the login shell's ``PATH``), paths set in the installing
shell are written into the service as absolute values (a service skips the shell profile
that sets them), ``Restart=on-failure``, a plist built with :mod:`plistlib`, and
``launchctl bootstrap``/``bootout`` instead of the legacy ``load``/``unload``.
Secrets are never written into a service file.
"""

from __future__ import annotations

import json
import os
import plistlib
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pv2simkl.config import LOG_FILE, platform_dirs
from pv2simkl.errors import Pv2SimklError

Kind = Literal["systemd", "launchd"]
Runner = Callable[..., subprocess.CompletedProcess]

UNIT_NAME = "pv2simkl.service"
LABEL = "io.github.pv2simkl"
LOG_LINES = 200

# Settings that name paths: copied into the service, made absolute, when set at install.
PATH_VARIABLES = (
    "PV2SIMKL_CONFIG",
    "PV2SIMKL_DATA_DIR",
    "PV2SIMKL_DB",
    "PV2SIMKL_EXPORT_DIR",
    "PV2SIMKL_INBOX",
)
# platformdirs reads these on Linux; a service does not inherit them from the shell profile.
XDG_VARIABLES = ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME")

TEMPLATES = "templates"  # package data beside this module: one file per service kind


class ServiceError(Pv2SimklError):
    """The user service cannot be installed, removed or asked about."""

    exit_code = 14


@dataclass(frozen=True)
class Command:
    """One system command; ``may_fail`` when a failure is expected and harmless."""

    argv: tuple[str, ...]
    may_fail: bool = False

    def __str__(self) -> str:
        return shlex.join(self.argv)


@dataclass
class Plan:
    """Everything one ``service`` action would do, as data (nothing done yet).

    ``before`` runs first, then ``content`` is written to ``path`` (or ``path`` is
    removed when ``remove``), then ``after`` runs. ``logs`` are files whose end is shown
    (launchd has no journal). ``notes`` are sentences for the person afterwards.
    """

    kind: Kind
    action: str
    path: Path
    content: str | None = None
    remove: bool = False
    before: list[Command] = field(default_factory=list)
    after: list[Command] = field(default_factory=list)
    dirs: list[Path] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)
    log_lines: int = LOG_LINES
    notes: list[str] = field(default_factory=list)

    @property
    def commands(self) -> list[Command]:
        """Every command, in the order they run."""
        return [*self.before, *self.after]

    def describe(self) -> str:
        """What :func:`apply` would do, for ``--dry-run``: the file and the commands."""
        out: list[str] = []
        if self.content is not None:
            out += [f"Would write {self.path}:", "", self.content.rstrip("\n"), ""]
        if self.remove:
            out.append(f"Would remove {self.path}" + ("" if self.path.exists() else " (absent)"))
        if self.commands:
            out.append("Would run:")
            out += [f"  {c}" for c in self.commands]
        if self.logs:
            out.append("Would show the end of:")
            out += [f"  {p}" for p in self.logs]
        return "\n".join(out)


# ---------------------------------------------------------------- where and what


def detect_kind(platform: str | None = None) -> Kind:
    """``launchd`` on macOS, ``systemd`` everywhere else."""
    return "launchd" if (platform or sys.platform) == "darwin" else "systemd"


def interpreter() -> Path:
    """The absolute path of the Python running pv2simkl, for the service to start.

    Made absolute but *not* symlink-resolved: a virtualenv's ``bin/python`` is a symlink
    to the base interpreter, and following it would start Python without the venv's
    packages (and without pv2simkl).
    """
    if not sys.executable:
        raise ServiceError(
            "Cannot tell which Python runs pv2simkl (sys.executable is empty); run "
            "`pv2simkl service install` from a normal Python installation."
        )
    return Path(os.path.abspath(sys.executable))


def service_environment(
    environ: Mapping[str, str] | None = None,
    *,
    config: Path | str | None = None,
    data_dir: Path | str | None = None,
    db: Path | str | None = None,
) -> dict[str, str]:
    """The environment written into the service, resolved now, at install time.

    ``PYTHONUNBUFFERED``, plus the path settings and ``XDG_*_HOME`` that are set in
    ``environ`` (default: this process's), plus ``config``/``data_dir``/``db`` (the CLI's
    ``--config``, ``--data-dir`` and ``--db``), which win. Relative paths become absolute
    against the current folder. Nothing else is copied, so no secret ever lands in the
    service file.
    """
    environ = os.environ if environ is None else environ
    env = {"PYTHONUNBUFFERED": "1"}
    for name in PATH_VARIABLES:
        if environ.get(name):
            env[name] = _absolute(environ[name])
    for name in XDG_VARIABLES:
        if environ.get(name) and os.path.isabs(environ[name]):
            env[name] = environ[name]
    for name, value in (
        ("PV2SIMKL_CONFIG", config),
        ("PV2SIMKL_DATA_DIR", data_dir),
        ("PV2SIMKL_DB", db),
    ):
        if value:
            env[name] = _absolute(value)
    return env


def _absolute(value: Path | str) -> str:
    return str(Path(value).expanduser().resolve())


def service_path(kind: Kind | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """Where the service file goes: the user's systemd unit folder or LaunchAgents."""
    kind = kind or detect_kind()
    environ = os.environ if environ is None else environ
    home = Path(environ.get("HOME") or Path.home())
    if kind == "launchd":
        return home / "Library" / "LaunchAgents" / f"{LABEL}.plist"
    xdg = environ.get("XDG_CONFIG_HOME", "")
    config_home = Path(xdg) if os.path.isabs(xdg) else home / ".config"
    return config_home / "systemd" / "user" / UNIT_NAME


def default_log_dir() -> Path:
    """pv2simkl's log folder when the caller does not name one (``user_log_path``)."""
    return platform_dirs().user_log_path


def launchd_domain(uid: int | None = None) -> str:
    """``gui/<uid>``: the per-user launchd domain of the logged-in user."""
    return f"gui/{os.getuid() if uid is None else uid}"


# ---------------------------------------------------------------- rendering


def template(name: str) -> str:
    """The text of the package's template ``name`` (``templates/`` beside this module)."""
    return (resources.files(__package__) / TEMPLATES / name).read_text(encoding="utf-8")


def systemd_template() -> str:
    """The unit template, ``{exec_start}`` and ``{environment}`` still to fill."""
    return template("pv2simkl.service")


def launchd_template() -> dict[str, Any]:
    """The plist template as data, ``{python}`` and ``{log_dir}`` still to fill."""
    return json.loads(template("pv2simkl.plist.template.json"))


def _systemd_arg(arg: str) -> str:
    """One ExecStart argument, quoted for systemd (``%`` and ``$`` are special there)."""
    text = arg.replace("%", "%%").replace("$", "$$")
    if text and not any(c in text for c in " \t\n\"'\\;"):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _systemd_env(name: str, value: str) -> str:
    """One ``Environment=`` line; quoted, with specifiers (``%``) escaped."""
    text = f"{name}={value}".replace("%", "%%").replace("\\", "\\\\").replace('"', '\\"')
    return f'Environment="{text}"'


def render_unit(
    python: Path | None = None,
    environment: Mapping[str, str] | None = None,
    template: str | None = None,
) -> str:
    """The systemd user unit, with the absolute interpreter and the environment filled in."""
    python = python or interpreter()
    env = {"PYTHONUNBUFFERED": "1"} if environment is None else dict(environment)
    exec_start = " ".join(_systemd_arg(a) for a in [str(python), "-m", "pv2simkl", "daemon"])
    lines = "\n".join(_systemd_env(k, v) for k, v in sorted(env.items()))
    text = template if template is not None else systemd_template()
    return text.replace("{exec_start}", exec_start).replace("{environment}", lines)


def render_plist(
    python: Path | None = None,
    environment: Mapping[str, str] | None = None,
    log_dir: Path | None = None,
    template: Mapping[str, Any] | None = None,
) -> str:
    """The LaunchAgent plist (XML text), built with :mod:`plistlib` from the template."""
    python = python or interpreter()
    log_dir = log_dir or default_log_dir()
    marks = {"{python}": str(python), "{log_dir}": str(log_dir)}

    def fill(value: Any) -> Any:
        if isinstance(value, str):
            for mark, text in marks.items():
                value = value.replace(mark, text)
            return value
        if isinstance(value, list):
            return [fill(v) for v in value]
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return value

    data = fill(dict(template if template is not None else launchd_template()))
    env = dict(data.get("EnvironmentVariables") or {})
    env.update(environment or {})
    data["EnvironmentVariables"] = dict(sorted(env.items()))
    return plistlib.dumps(data, fmt=plistlib.FMT_XML, sort_keys=False).decode("utf-8")


# ---------------------------------------------------------------- plans


def _systemctl(*args: str, may_fail: bool = False) -> Command:
    return Command(("systemctl", "--user", *args), may_fail)


def _launchctl(*args: str, may_fail: bool = False) -> Command:
    return Command(("launchctl", *args), may_fail)


def _lingering(user: str | None = None) -> bool:
    user = user or os.environ.get("USER") or os.environ.get("LOGNAME") or ""
    return bool(user) and Path("/var/lib/systemd/linger", user).exists()


def _volatile(python: Path) -> bool:
    """An interpreter in a temporary or cache folder (``pipx run``, ``uvx``) may vanish."""
    text = str(python)
    tmp = os.path.realpath(tempfile.gettempdir())
    return "/.cache/" in text or text.startswith((tmp + os.sep, "/tmp/"))


def install_plan(
    kind: Kind | None = None,
    *,
    python: Path | None = None,
    environment: Mapping[str, str] | None = None,
    log_dir: Path | None = None,
    uid: int | None = None,
) -> Plan:
    """Write the service file and enable it (start now and at each login).

    Installing again replaces the file and restarts the service so that it takes the
    new file. ``environment`` defaults to :func:`service_environment`.
    """
    kind = kind or detect_kind()
    python = python or interpreter()
    environment = service_environment() if environment is None else environment
    log_dir = log_dir or default_log_dir()
    path = service_path(kind)
    again = path.exists()
    notes: list[str] = []
    if kind == "systemd":
        plan = Plan(kind, "install", path, render_unit(python, environment), dirs=[path.parent])
        plan.after = [
            _systemctl("daemon-reload"),
            *(
                [_systemctl("enable", UNIT_NAME), _systemctl("restart", UNIT_NAME)]
                if again
                else [_systemctl("enable", "--now", UNIT_NAME)]
            ),
        ]
        notes.append(f"Installed {path}; the daemon runs now and starts at each login.")
        if _lingering():
            notes.append("Lingering is on for your user: the daemon also runs while logged out.")
        else:
            notes.append(
                "A user service stops when you log out. To keep it running (and start it at "
                "boot), run: loginctl enable-linger $USER"
            )
    else:
        domain = launchd_domain(uid)
        content = render_plist(python, environment, log_dir)
        plan = Plan(kind, "install", path, content, dirs=[path.parent, log_dir])
        plan.before = [_launchctl("bootout", f"{domain}/{LABEL}", may_fail=True)] if again else []
        plan.after = [
            _launchctl("enable", f"{domain}/{LABEL}"),
            _launchctl("bootstrap", domain, str(path)),
        ]
        notes.append(f"Installed {path}; the daemon runs now and starts at each login.")
        notes.append(f"Its output goes to {log_dir}.")
    notes.append("Check it with `pv2simkl service status` and `pv2simkl service logs`.")
    if _volatile(python):
        notes.append(
            f"warning: the service starts {python}, which looks temporary; install pv2simkl "
            "for good (pipx install, or a venv of its own) and run `service install` again."
        )
    plan.notes = notes
    return plan


def uninstall_plan(kind: Kind | None = None, *, uid: int | None = None) -> Plan:
    """Stop and disable the service, then remove its file."""
    kind = kind or detect_kind()
    path = service_path(kind)
    present = path.exists()
    plan = Plan(kind, "uninstall", path, remove=True)
    if kind == "systemd":
        plan.before = [_systemctl("disable", "--now", UNIT_NAME, may_fail=not present)]
        plan.after = [_systemctl("daemon-reload")]
    else:
        plan.before = [_launchctl("bootout", f"{launchd_domain(uid)}/{LABEL}", may_fail=True)]
    plan.notes = [f"Removed {path}." if present else f"{path} was not installed; nothing removed."]
    return plan


def status_plan(kind: Kind | None = None, *, uid: int | None = None) -> Plan:
    """Ask the service manager about the service (a stopped service is not an error)."""
    kind = kind or detect_kind()
    plan = Plan(kind, "status", service_path(kind))
    if kind == "systemd":
        plan.after = [_systemctl("status", UNIT_NAME, "--no-pager", may_fail=True)]
    else:
        plan.after = [_launchctl("print", f"{launchd_domain(uid)}/{LABEL}", may_fail=True)]
    if not plan.path.exists():
        plan.notes = [f"Not installed ({plan.path} is missing): run `pv2simkl service install`."]
    return plan


def logs_plan(
    kind: Kind | None = None, *, log_dir: Path | None = None, lines: int = LOG_LINES
) -> Plan:
    """The service's recent output: the user journal, or the log files under launchd."""
    kind = kind or detect_kind()
    plan = Plan(kind, "logs", service_path(kind))
    if kind == "systemd":
        plan.after = [
            Command(("journalctl", "--user", "-u", UNIT_NAME, "-n", str(lines), "--no-pager"))
        ]
    else:
        log_dir = log_dir or default_log_dir()
        names = ("launchd.err.log", "launchd.out.log", LOG_FILE)  # the first two: the template's
        plan.logs = [log_dir / name for name in names]
        plan.log_lines = lines
    return plan


# ---------------------------------------------------------------- acting


def _missing_tool(name: str) -> ServiceError:
    if name == "launchctl":
        what = "launchctl was not found, so this is not macOS (or PATH lacks /bin)."
    elif name == "journalctl":
        what = "journalctl was not found; the daemon also writes pv2simkl.log in its log folder."
    else:
        what = f"{name} was not found: this system does not run systemd (or PATH lacks it)."
    return ServiceError(
        f"{what} Start `{interpreter()} -m pv2simkl daemon` from your own init system "
        "(OpenRC, runit, a container's command, cron @reboot) instead."
    )


def _failed(command: Command, result: subprocess.CompletedProcess) -> ServiceError:
    said = " ".join(f"{result.stderr or ''} {result.stdout or ''}".split())[-400:]
    hint = ""
    if "Failed to connect to bus" in said or "XDG_RUNTIME_DIR" in said:
        hint = (
            " No user systemd instance is reachable from this shell (ssh, su, sudo or a "
            "container?): log in on the machine itself, or run `loginctl enable-linger $USER` "
            "and `export XDG_RUNTIME_DIR=/run/user/$(id -u)`, or start `pv2simkl daemon` from "
            "your own init system."
        )
    return ServiceError(
        f"`{command}` failed (exit {result.returncode})" + (f": {said}" if said else ".") + hint
    )


def check_tools(commands: Iterable[Command]) -> None:
    """Fail before changing anything when a command's program is not on PATH."""
    for command in commands:
        if shutil.which(command.argv[0]) is None:
            raise _missing_tool(command.argv[0])


def run(
    commands: Sequence[Command], runner: Runner = subprocess.run
) -> list[subprocess.CompletedProcess]:
    """Run each command (output captured), stopping at the first unexpected failure.

    ``runner`` is called like :func:`subprocess.run`; tests pass their own. A missing
    program or a failure raises :class:`ServiceError` with what to do next.
    """
    results = []
    for command in commands:
        try:
            result = runner(list(command.argv), capture_output=True, text=True, check=False)
        except FileNotFoundError:
            raise _missing_tool(command.argv[0]) from None
        if result.returncode != 0 and not command.may_fail:
            raise _failed(command, result)
        results.append(result)
    return results


def _write(path: Path, content: str) -> None:
    """Write the service file atomically (a half-written unit must never be loaded)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(content)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def tail(paths: Iterable[Path], lines: int = LOG_LINES) -> str:
    """The last ``lines`` lines of each existing file, each under a ``==> path <==`` header."""
    out = []
    for path in paths:
        if not path.is_file():
            continue
        out.append(f"==> {path} <==")
        out.append(_last_lines(path, lines))
    return "\n".join(out) if out else "No log files yet: " + ", ".join(str(p) for p in paths)


def _last_lines(path: Path, lines: int) -> str:
    """Read backwards in blocks, so a large log costs only its end."""
    with open(path, "rb") as fh:
        end = fh.seek(0, os.SEEK_END)
        data = b""
        pos = end
        while pos > 0 and data.count(b"\n") <= lines:
            step = min(65536, pos)
            pos -= step
            fh.seek(pos)
            data = fh.read(step) + data
    text = data.decode("utf-8", errors="replace").rstrip("\n")
    return "\n".join(text.split("\n")[-lines:]) if text else ""


def apply(plan: Plan, runner: Runner = subprocess.run) -> str:
    """Carry out ``plan``; returns what to show the person (command output, logs, notes).

    Every program is looked up first, so a missing ``systemctl`` changes nothing.
    """
    check_tools(plan.commands)
    shown: list[str] = []

    def collect(results: list[subprocess.CompletedProcess]) -> None:
        for result in results:
            text = "\n".join(s.rstrip("\n") for s in (result.stdout, result.stderr) if s)
            if text and plan.action in {"status", "logs"}:
                shown.append(text)

    collect(run(plan.before, runner))
    for folder in plan.dirs:
        folder.mkdir(parents=True, exist_ok=True)
    if plan.content is not None:
        _write(plan.path, plan.content)
    if plan.remove:
        plan.path.unlink(missing_ok=True)
    try:
        collect(run(plan.after, runner))
    except ServiceError as exc:
        if plan.action == "install":
            raise ServiceError(
                f"{exc} The service file {plan.path} is in place: fix that and run "
                "`pv2simkl service install` again, or remove it with `pv2simkl service "
                "uninstall`."
            ) from None
        raise
    if plan.logs:
        shown.append(tail(plan.logs, plan.log_lines))
    shown += plan.notes
    return "\n".join(shown)
