"""`service install|uninstall|status|logs`: rendered files checked by their own tools, and the
install run for real against a temporary HOME with `systemctl`/`launchctl` replaced by a fake
program on PATH that records its arguments."""

from __future__ import annotations

import configparser
import json
import os
import plistlib
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pv2simkl.daemon import service
from pv2simkl.errors import Pv2SimklError

ROOT = Path(__file__).resolve().parents[2]
PYTHON = Path(sys.executable)

FAKE = """#!{python}
import json, os, sys
name = os.path.basename(sys.argv[0])
with open(os.environ["FAKE_RECORD"], "a", encoding="utf-8") as fh:
    fh.write(json.dumps([name, *sys.argv[1:]]) + "\\n")
fail = os.environ.get("FAKE_FAIL", "")
if fail and fail in sys.argv[1:]:
    sys.stderr.write("Failed to connect to bus: No such file or directory\\n")
    sys.exit(1)
if "status" in sys.argv[1:] or "print" in sys.argv[1:]:
    print("pv2simkl.service - active (running)")
    sys.exit(3)
"""


@pytest.fixture
def fake_bin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`systemctl`, `launchctl` and `journalctl` that record their argv to a file."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for name in ("systemctl", "launchctl", "journalctl"):
        exe = folder / name
        exe.write_text(FAKE.format(python=sys.executable), encoding="utf-8")
        exe.chmod(0o755)
    record = tmp_path / "record.jsonl"
    monkeypatch.setenv("FAKE_RECORD", str(record))
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")
    return record


def recorded(record: Path) -> list[list[str]]:
    if not record.exists():
        return []
    return [json.loads(line) for line in record.read_text(encoding="utf-8").splitlines()]


def parse_unit(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(text)
    return parser


def unit_environment(text: str) -> dict[str, str]:
    env = {}
    for line in text.splitlines():
        if line.startswith("Environment="):
            for item in shlex.split(line.removeprefix("Environment=")):
                name, _, value = item.partition("=")
                env[name] = value.replace("%%", "%")
    return env


# ------------------------------------------------------------------ rendering


def test_kind_follows_the_platform() -> None:
    assert service.detect_kind("darwin") == "launchd"
    assert service.detect_kind("linux") == "systemd"
    assert service.detect_kind("freebsd14") == "systemd"


def test_interpreter_is_absolute_and_keeps_the_venv() -> None:
    python = service.interpreter()
    assert python.is_absolute() and python.exists()
    # A venv's python is a symlink to the base interpreter: following it would lose the venv.
    assert python == Path(os.path.abspath(sys.executable))


def test_environment_takes_paths_and_xdg_never_secrets(tmp_path: Path) -> None:
    env = service.service_environment(
        {
            "PV2SIMKL_DB": "rel/store.sqlite3",
            "PV2SIMKL_TMDB_TOKEN": "secret",
            "XDG_CONFIG_HOME": "/home/me/cfg",
            "XDG_DATA_HOME": "relative/ignored",
            "PATH": "/usr/bin",
        },
        data_dir=tmp_path / "d",
    )
    assert env == {
        "PYTHONUNBUFFERED": "1",
        "PV2SIMKL_DB": str(Path("rel/store.sqlite3").resolve()),
        "PV2SIMKL_DATA_DIR": str((tmp_path / "d").resolve()),
        "XDG_CONFIG_HOME": "/home/me/cfg",
    }


def test_unit_is_a_valid_user_service(tmp_path: Path) -> None:
    env = service.service_environment(
        {"PV2SIMKL_DATA_DIR": str(tmp_path / "my data 100%"), "PV2SIMKL_AMAZON_PASSWORD": "pw"},
        config=tmp_path / "conf" / "config.toml",
    )
    text = service.render_unit(PYTHON, env)
    unit = parse_unit(text)
    exec_start = shlex.split(unit["Service"]["ExecStart"])
    assert Path(exec_start[0]).is_absolute() and Path(exec_start[0]).exists()
    assert exec_start[1:] == ["-m", "pv2simkl", "daemon"]
    assert unit["Service"]["Type"] == "simple"
    assert unit["Service"]["Restart"] == "on-failure"
    assert unit["Service"]["RestartSec"] == "10"
    assert "network-online.target" in unit["Unit"]["After"]
    assert unit["Unit"]["Description"]
    assert unit["Install"]["WantedBy"] == "default.target"
    assert unit_environment(text) == {
        "PYTHONUNBUFFERED": "1",
        "PV2SIMKL_CONFIG": str((tmp_path / "conf" / "config.toml").resolve()),
        "PV2SIMKL_DATA_DIR": str((tmp_path / "my data 100%").resolve()),
    }
    assert "pw" not in text.split("=")  # secrets are never copied into the service
    assert "{" not in text  # every placeholder filled


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    env = service.service_environment({"PV2SIMKL_DATA_DIR": str(tmp_path / "a b%c$d")})
    unit = tmp_path / "units" / service.UNIT_NAME
    unit.parent.mkdir()
    unit.write_text(service.render_unit(PYTHON, env), encoding="utf-8")
    runtime = tmp_path / "runtime"  # --user verify needs a runtime dir, even offline
    runtime.mkdir(mode=0o700)
    r = subprocess.run(
        ["systemd-analyze", "--user", "verify", str(unit)],
        capture_output=True,
        text=True,
        env={**os.environ, "XDG_RUNTIME_DIR": str(runtime)},
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert "Unknown" not in r.stderr and "ignoring" not in r.stderr, r.stderr


def test_plist_has_the_launchd_keys(tmp_path: Path) -> None:
    log_dir = tmp_path / "Logs" / "pv2simkl"
    env = service.service_environment({"PV2SIMKL_DATA_DIR": str(tmp_path / "data")})
    text = service.render_plist(PYTHON, env, log_dir)
    plist = plistlib.loads(text.encode("utf-8"))
    assert plist["Label"] == service.LABEL == "io.github.pv2simkl"
    assert plist["ProgramArguments"] == [str(PYTHON), "-m", "pv2simkl", "daemon"]
    assert Path(plist["ProgramArguments"][0]).is_absolute()
    assert plist["RunAtLoad"] is True
    assert plist["KeepAlive"] == {"SuccessfulExit": False}
    assert plist["EnvironmentVariables"]["PV2SIMKL_DATA_DIR"] == str((tmp_path / "data").resolve())
    assert plist["EnvironmentVariables"]["PYTHONUNBUFFERED"] == "1"
    assert Path(plist["StandardOutPath"]).parent == log_dir
    assert Path(plist["StandardErrorPath"]).parent == log_dir
    if shutil.which("plutil"):  # macOS only
        path = tmp_path / "agent.plist"
        path.write_text(text, encoding="utf-8")
        r = subprocess.run(["plutil", "-lint", str(path)], capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr


def test_the_examples_in_systemd_and_launchd_are_what_the_templates_render() -> None:
    """The templates are package data (one copy, in every install); the project's
    systemd/ and launchd/ folders show what they render to, and must stay true."""
    unit = service.render_unit(
        Path("/home/you/.local/share/pipx/venvs/pv2simkl/bin/python"),
        {"PYTHONUNBUFFERED": "1", "PV2SIMKL_DATA_DIR": "/home/you/pv2simkl-data"},
    )
    assert (ROOT / "systemd" / "pv2simkl.service").read_text(encoding="utf-8") == unit
    plist = service.render_plist(
        Path("/Users/you/.local/pipx/venvs/pv2simkl/bin/python"),
        {"PV2SIMKL_DATA_DIR": "/Users/you/pv2simkl-data"},
        Path("/Users/you/Library/Logs/pv2simkl"),
    )
    assert (ROOT / "launchd" / "io.github.pv2simkl.plist").read_text(encoding="utf-8") == plist


def test_templates_are_package_data() -> None:
    """Read through importlib.resources, from inside the package, never the project."""
    folder = Path(service.__file__).parent / service.TEMPLATES
    assert service.systemd_template() == (folder / "pv2simkl.service").read_text("utf-8")
    assert service.launchd_template()["Label"] == service.LABEL
    assert not hasattr(service, "_PROJECT_ROOT")


def test_paths_follow_home_and_xdg(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path / "h"), "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    assert service.service_path("systemd", env) == tmp_path / "cfg/systemd/user/pv2simkl.service"
    del env["XDG_CONFIG_HOME"]
    unit = tmp_path / "h" / ".config" / "systemd" / "user" / "pv2simkl.service"
    assert service.service_path("systemd", env) == unit
    assert service.service_path("launchd", env) == (
        tmp_path / "h/Library/LaunchAgents/io.github.pv2simkl.plist"
    )


# ------------------------------------------------------------------ acting (fake commands)


def test_systemd_install_and_uninstall(fake_bin: Path) -> None:
    unit = Path(os.environ["XDG_CONFIG_HOME"]) / "systemd" / "user" / "pv2simkl.service"
    plan = service.install_plan("systemd")
    assert plan.path == unit
    out = service.apply(plan)
    assert unit.is_file() and unit.read_text(encoding="utf-8") == plan.content
    assert "loginctl enable-linger" in out or "Lingering is on" in out
    assert recorded(fake_bin) == [
        ["systemctl", "--user", "daemon-reload"],
        ["systemctl", "--user", "enable", "--now", "pv2simkl.service"],
    ]

    fake_bin.unlink()  # installing again restarts the service so that it reads the new file
    service.apply(service.install_plan("systemd"))
    assert recorded(fake_bin) == [
        ["systemctl", "--user", "daemon-reload"],
        ["systemctl", "--user", "enable", "pv2simkl.service"],
        ["systemctl", "--user", "restart", "pv2simkl.service"],
    ]

    fake_bin.unlink()
    out = service.apply(service.uninstall_plan("systemd"))
    assert not unit.exists()
    assert f"Removed {unit}" in out
    assert recorded(fake_bin) == [
        ["systemctl", "--user", "disable", "--now", "pv2simkl.service"],
        ["systemctl", "--user", "daemon-reload"],
    ]


def test_systemd_status_and_logs(fake_bin: Path) -> None:
    out = service.apply(service.status_plan("systemd"))  # exit 3 (inactive) is no error
    assert "active (running)" in out
    service.apply(service.logs_plan("systemd"))
    assert recorded(fake_bin) == [
        ["systemctl", "--user", "status", "pv2simkl.service", "--no-pager"],
        ["journalctl", "--user", "-u", "pv2simkl.service", "-n", "200", "--no-pager"],
    ]


def test_launchd_install_and_uninstall(fake_bin: Path, tmp_path: Path) -> None:
    home = Path(os.environ["HOME"])
    plist_path = home / "Library" / "LaunchAgents" / "io.github.pv2simkl.plist"
    log_dir = tmp_path / "logs"
    plan = service.install_plan("launchd", log_dir=log_dir, uid=501)
    service.apply(plan)
    plist = plistlib.loads(plist_path.read_bytes())
    assert plist["Label"] == "io.github.pv2simkl" and log_dir.is_dir()
    assert recorded(fake_bin) == [
        ["launchctl", "enable", "gui/501/io.github.pv2simkl"],
        ["launchctl", "bootstrap", "gui/501", str(plist_path)],
    ]

    fake_bin.unlink()
    service.apply(service.install_plan("launchd", log_dir=log_dir, uid=501))
    assert recorded(fake_bin)[0] == ["launchctl", "bootout", "gui/501/io.github.pv2simkl"]

    fake_bin.unlink()
    service.apply(service.uninstall_plan("launchd", uid=501))
    assert not plist_path.exists()
    assert recorded(fake_bin) == [["launchctl", "bootout", "gui/501/io.github.pv2simkl"]]

    fake_bin.unlink()
    out = service.apply(service.status_plan("launchd", uid=501))
    assert recorded(fake_bin) == [["launchctl", "print", "gui/501/io.github.pv2simkl"]]
    assert "Not installed" in out


def test_launchd_logs_show_the_end_of_each_file(fake_bin: Path, tmp_path: Path) -> None:
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    (log_dir / "pv2simkl.log").write_text(
        "".join(f"line {i}\n" for i in range(100_000)), encoding="utf-8"
    )
    (log_dir / "launchd.err.log").write_text("Traceback: boom\n", encoding="utf-8")
    out = service.apply(service.logs_plan("launchd", log_dir=log_dir, lines=3))
    assert out.splitlines() == [
        f"==> {log_dir / 'launchd.err.log'} <==",
        "Traceback: boom",
        f"==> {log_dir / 'pv2simkl.log'} <==",
        "line 99997",
        "line 99998",
        "line 99999",
    ]
    assert recorded(fake_bin) == []
    assert "No log files yet" in service.tail([tmp_path / "none.log"])


def test_dry_run_changes_nothing(fake_bin: Path) -> None:
    plan = service.install_plan("systemd")
    text = plan.describe()
    assert not plan.path.exists() and not plan.path.parent.exists()
    assert recorded(fake_bin) == []
    assert f"Would write {plan.path}:" in text
    assert "ExecStart=" in text and "Restart=on-failure" in text
    assert "  systemctl --user enable --now pv2simkl.service" in text

    plan = service.install_plan("launchd", uid=501)
    assert "<key>RunAtLoad</key>" in plan.describe()
    assert "launchctl bootstrap gui/501" in plan.describe()
    assert not plan.path.exists()

    assert "Would remove" in service.uninstall_plan("systemd").describe()
    assert recorded(fake_bin) == []


def test_missing_systemctl_is_a_clear_error_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    plan = service.install_plan("systemd")
    with pytest.raises(service.ServiceError) as info:
        service.apply(plan)
    assert isinstance(info.value, Pv2SimklError) and info.value.exit_code == 14
    assert "systemctl was not found" in str(info.value)
    assert "-m pv2simkl daemon" in str(info.value) and "init system" in str(info.value)
    assert not plan.path.exists()


def test_a_failing_command_says_what_to_do(fake_bin: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_FAIL", "daemon-reload")
    with pytest.raises(service.ServiceError) as info:
        service.apply(service.install_plan("systemd"))
    message = str(info.value)
    assert "`systemctl --user daemon-reload` failed (exit 1)" in message
    assert "loginctl enable-linger" in message and "pv2simkl service install" in message


def test_run_takes_any_runner() -> None:
    calls: list[list[str]] = []

    def runner(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess:
        calls.append(argv)
        return subprocess.CompletedProcess(argv, 1 if argv[-1] == "bad" else 0, "", "nope")

    commands = [
        service.Command(("systemctl", "--user", "ok")),
        service.Command(("systemctl", "--user", "bad"), may_fail=True),
    ]
    assert [r.returncode for r in service.run(commands, runner)] == [0, 1]
    with pytest.raises(service.ServiceError, match="nope"):
        service.run([service.Command(("launchctl", "bad"))], runner)
    assert calls == [
        ["systemctl", "--user", "ok"],
        ["systemctl", "--user", "bad"],
        ["launchctl", "bad"],
    ]

    def missing(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess:
        raise FileNotFoundError(argv[0])

    with pytest.raises(service.ServiceError, match="launchctl was not found"):
        service.run([service.Command(("launchctl", "print"))], missing)
