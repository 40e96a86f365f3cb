"""The command line: argument parsing and printing only.

Each command calls one function of :mod:`pv2simkl.pipeline` (or of one module). Errors of
pv2simkl's own types become one sentence on stderr and their own exit code; a traceback
appears only with ``--debug``. Built on click: it starts in a few hundredths of a second
and its usage lines read as people write them (``PATH...``, ``--out DIR``).

The commands live in four modules — :mod:`.data` (import, export, enrich, fetch, sync,
push, daemon, login), :mod:`.show` (status, history), :mod:`.match` (match, unmatched),
:mod:`.admin` (doctor, credentials, simkl, store, service, config) — each listing its
commands in ``COMMANDS``. Nothing else imports this package.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from pathlib import Path

import click

from pv2simkl import __version__
from pv2simkl.cli import admin, data, match, show
from pv2simkl.cli.core import State, closed_pipe, examples, reset_state

PROG = "pv2simkl"
COMPLETE_VAR = "_PV2SIMKL_COMPLETE"

# Global options that may also come after the subcommand (`pv2simkl status --db x.sqlite`):
# flags, and options that take one value.
GLOBAL_FLAGS = {"--create", "--offline", "--debug", "-q", "--quiet", "--verbose"}
GLOBAL_WITH_VALUE = {"--db", "--data-dir", "--config"}
_VERBOSE = re.compile(r"-v+\Z")


def hoist_global_options(args: list[str], commands: set[str]) -> list[str]:
    """Move the global options written after the subcommand in front of it, where click
    reads them; ``--`` ends the search (what follows is the command's own)."""
    args = list(args)
    i = 0
    while i < len(args):  # find the subcommand: the first word that names one
        word = args[i]
        if word in GLOBAL_WITH_VALUE:
            i += 2
            continue
        if word in commands:
            break
        if not word.startswith("-"):
            return args
        i += 1
    else:
        return args
    front, rest = args[:i], []
    j = i
    while j < len(args):
        word = args[j]
        if word == "--":
            rest += args[j:]
            break
        name = word.split("=", 1)[0]
        if (
            word in GLOBAL_FLAGS
            or _VERBOSE.match(word)
            or (name in GLOBAL_WITH_VALUE and "=" in word)
        ):
            front.append(word)
        elif word in GLOBAL_WITH_VALUE and j + 1 < len(args):
            front += [word, args[j + 1]]
            j += 1
        else:
            rest.append(word)
        j += 1
    return front + rest


class Group(click.Group):
    """Commands listed in the order they were added (the order of the day's work, not the
    alphabet), and global options accepted after the subcommand too."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if ctx.parent is None:
            args = hoist_global_options(args, set(self.commands))
        return super().parse_args(ctx, args)


def _setup_logging(verbose: int, quiet: bool, debug: bool) -> None:
    level = logging.DEBUG if debug or verbose > 1 else logging.INFO if verbose else logging.WARNING
    if quiet:
        level = logging.ERROR
    if sys.stderr.isatty():
        from rich.logging import RichHandler

        handler: logging.Handler = RichHandler(show_path=False, show_time=False)
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def _version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(f"{PROG} {__version__}")
        ctx.exit()


SHELLS = ("bash", "zsh", "fish")


def _shell(value: str) -> str:
    if value != "auto":
        return value
    shell = Path(os.environ.get("SHELL", "bash")).name
    if shell not in SHELLS:
        raise click.BadParameter(f"cannot tell the shell from SHELL={shell!r}: name one of "
                                 f"{', '.join(SHELLS)}.")  # fmt: skip
    return shell


def _completion_script(shell: str) -> str:
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    assert cls is not None  # SHELLS are click's own
    return cls(app, {}, PROG, COMPLETE_VAR).source()


def _show_completion(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(_completion_script(_shell(value)))
        ctx.exit()


def install_completion(shell: str, home: Path) -> Path:
    """Make the shell complete pv2simkl's commands and options from its next start: bash and
    zsh evaluate click's script from their rc file, fish reads a completions file."""
    if shell == "fish":
        target = home / ".config" / "fish" / "completions" / f"{PROG}.fish"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(_completion_script("fish"), encoding="utf-8")
        return target
    target = home / (".bashrc" if shell == "bash" else ".zshrc")
    line = f'eval "$({COMPLETE_VAR}={shell}_source {PROG})"'
    old = target.read_text(encoding="utf-8") if target.exists() else ""
    if line not in old:
        with target.open("a", encoding="utf-8") as rc:
            rc.write(("" if not old or old.endswith("\n") else "\n") + line + "\n")
    return target


def _install_completion(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value and not ctx.resilient_parsing:
        shell = _shell(value)
        target = install_completion(shell, Path.home())
        click.echo(f"Completion for {shell} written to {target}; it works in new shells.")
        ctx.exit()


_SHELL_CHOICE = click.Choice(["auto", *SHELLS])


@click.group(
    PROG,
    cls=Group,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=examples(
        "pv2simkl import ~/Downloads/watch-history.html --export",
        "pv2simkl status",
        "pv2simkl history --since 2024-01-01 --title house",
        "pv2simkl --offline enrich",
        "pv2simkl status --db ~/pv2simkl.sqlite   # global options go before or after",
    ),
)
@click.option("--db", type=click.Path(path_type=Path), metavar="FILE",
              help="SQLite store to use (env PV2SIMKL_DB).")  # fmt: skip
@click.option("--data-dir", type=click.Path(path_type=Path), metavar="DIR",
              help="Folder for the store, exports and state (env PV2SIMKL_DATA_DIR).")  # fmt: skip
@click.option("--config", type=click.Path(path_type=Path), metavar="FILE",
              help="config.toml to read (env PV2SIMKL_CONFIG); it must exist.")  # fmt: skip
@click.option("--create", is_flag=True,
              help="Create the store where --db names it, even in a new folder.")  # fmt: skip
@click.option("--offline", is_flag=True,
              help="Send no request at all (env PV2SIMKL_OFFLINE=1).")  # fmt: skip
@click.option("-v", "--verbose", count=True, help="Say more: -v what happens, -vv debug detail.")
@click.option("-q", "--quiet", is_flag=True, help="Print only warnings, errors and what was asked.")
@click.option("--debug", is_flag=True, help="Debug logging, and tracebacks for errors.")
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_version,
              help="Print the version and exit.")  # fmt: skip
@click.option("--install-completion", type=_SHELL_CHOICE, expose_value=False, is_eager=True,
              callback=_install_completion, metavar="[auto|bash|zsh|fish]",
              help="Install shell completion for pv2simkl (auto: your $SHELL).")  # fmt: skip
@click.option("--show-completion", type=_SHELL_CHOICE, expose_value=False, is_eager=True,
              callback=_show_completion, metavar="[auto|bash|zsh|fish]",
              help="Print the shell completion script.")  # fmt: skip
def app(
    db: Path | None,
    data_dir: Path | None,
    config: Path | None,
    create: bool,
    offline: bool,
    verbose: int,
    quiet: bool,
    debug: bool,
) -> None:
    """Keep a Simkl profile in step with Amazon Prime Video watch history.

    Global options may come before or after the command.
    """
    reset_state()
    State.debug, State.quiet, State.verbose = debug, quiet, verbose
    State.config, State.create = config, create
    State.overrides = {
        ("paths", "db"): str(db) if db else None,
        ("paths", "data_dir"): str(data_dir) if data_dir else None,
    }
    if offline:
        State.overrides[("metadata", "offline")] = True
    _setup_logging(verbose, quiet, debug)


for _module in (data, show, match, admin):
    for _command in _module.COMMANDS:
        app.add_command(_command)


def main() -> None:
    """Console-script entry point; output to a closed pipe ends quietly (exit 141)."""
    try:
        app.main(prog_name=PROG, complete_var=COMPLETE_VAR)
    except BrokenPipeError:
        code: int | str | None = closed_pipe().exit_code
    except SystemExit as done:
        code = done.code
    try:
        sys.stdout.flush()  # what the interpreter would flush at exit, where it cannot be caught
    except BrokenPipeError:
        code = closed_pipe().exit_code
    sys.exit(code)
