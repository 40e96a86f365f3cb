"""What every command shares: the global options' state, the run's context, errors as one
sentence and an exit code, output that ``-q`` silences, a progress bar, plurals.

Nothing heavy is imported here at module level: ``pv2simkl --help`` and ``--version`` load
click and this package only; the pipeline, rich, httpx and the keyring load when a command
runs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from pv2simkl.pipeline import Context

EXIT_UNEXPECTED = 1
# The reader of our output went away (`pv2simkl history | head -1`): end as a program that
# SIGPIPE ended does (128 + 13), as `seq`, `cat` or `yes` do in that pipe, and quietly.
EXIT_CLOSED_PIPE = 141


class State:
    """Options of the top-level command, shared by the subcommands."""

    debug = False
    quiet = False
    verbose = 0
    create = False
    config: Path | None = None
    overrides: dict[tuple[str, str], object] = {}


def reset_state() -> None:
    """Back to the defaults (each in-process invocation starts from them)."""
    State.debug = State.quiet = State.create = False
    State.verbose = 0
    State.config = None
    State.overrides = {}


def say(message: str = "") -> None:
    """A line telling what a command did; ``-q`` silences it (errors and warnings stay)."""
    if not State.quiet:
        click.echo(message)


def out(message: str = "") -> None:
    """A line of what was asked for (a table, a token, a report): printed even with ``-q``."""
    click.echo(message)


def warn(message: str) -> None:
    """``warning: …`` on stderr."""
    click.echo(f"warning: {message}", err=True)


def load():
    """The settings the global options and the environment say (defaults < file < env <
    flags)."""
    from pv2simkl.config import load_settings

    return load_settings(config_file=State.config, overrides=State.overrides, create=State.create)


@contextmanager
def errors() -> Iterator[None]:
    """pv2simkl's errors as one sentence and an exit code (Ctrl-C: 130, a closed pipe: 141);
    anything else as a bug, with its traceback only under ``--debug``."""
    try:
        yield
    except click.exceptions.Exit:
        raise
    except BrokenPipeError:
        raise closed_pipe() from None
    except KeyboardInterrupt:
        click.echo("stopped (Ctrl-C).", err=True)
        raise click.exceptions.Exit(130) from None
    except Exception as exc:
        raise fail(exc) from None


@contextmanager
def session() -> Iterator[Context]:
    """The run's context (settings, paths, the store when asked for), closed at the end;
    errors as :func:`errors` says them."""
    with errors():
        from pv2simkl import pipeline

        ctx = pipeline.Context.create(load())
        try:
            yield ctx
        finally:
            ctx.close()


def closed_pipe() -> click.exceptions.Exit:
    """Stop writing to a reader that has gone: later writes and the flush at exit go to
    /dev/null, so no BrokenPipeError (and no "Exception ignored") ever reaches stderr."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return click.exceptions.Exit(EXIT_CLOSED_PIPE)


def fail(exc: BaseException) -> click.exceptions.Exit:
    """The exit for an error: pv2simkl's own carry their sentence and code; anything else is
    a bug, said as such (``--debug`` shows its traceback)."""
    from pv2simkl.errors import Pv2SimklError

    if State.debug:
        raise exc
    if isinstance(exc, Pv2SimklError):
        click.echo(f"error: {exc}", err=True)
        return click.exceptions.Exit(exc.exit_code)
    click.echo(
        f"error: unexpected {type(exc).__name__}: {exc}. Run again with --debug for details.",
        err=True,
    )
    return click.exceptions.Exit(EXIT_UNEXPECTED)


def usage_error(message: str) -> click.exceptions.Exit:
    """A wrong use of a command that click cannot see (exit 2, as click's own)."""
    click.echo(f"error: {message}", err=True)
    return click.exceptions.Exit(2)


class Progress:
    """A progress bar per file on a terminal; nothing otherwise (or with ``-q``)."""

    def __init__(self, stack: ExitStack):
        self.bar = None
        if sys.stderr.isatty() and not State.quiet:
            from rich.console import Console
            from rich.progress import Progress as Bar

            self.bar = stack.enter_context(Bar(console=Console(stderr=True), transient=True))

    def __call__(self, name: str) -> Progress:
        if self.bar is not None:
            self.task = self.bar.add_task(Path(name).name[:40], total=None)
        return self

    def set_total(self, total: int) -> None:
        if self.bar is not None:
            self.bar.update(self.task, total=total)

    def advance(self, n: int) -> None:
        if self.bar is not None:
            self.bar.advance(self.task, n)


def console():
    """rich's Console, except that a closed pipe ends as every other output does (exit 141)
    rather than with rich's own exit 1."""
    from rich.console import Console

    class PipeConsole(Console):
        def on_broken_pipe(self) -> None:
            self.quiet = True
            raise BrokenPipeError

    return PipeConsole()


def examples(*lines: str) -> str:
    """A command's epilog: ``Examples:`` and the lines as written (click keeps a paragraph
    that starts with ``\\b`` unwrapped)."""
    return "Examples:\n\n\b\n" + "\n".join(f"  {line}" for line in lines)
