"""The command line: argument parsing and printing only.

Each command calls one function of :mod:`pv2simkl.pipeline`. Errors of pv2simkl's own
types become one sentence on stderr and their own exit code; a traceback appears only
with ``--debug``.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from pv2simkl import __version__, pipeline
from pv2simkl.config import load_settings
from pv2simkl.errors import Pv2SimklError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Keep a Simkl profile in step with Amazon Prime Video watch history.",
)
log = logging.getLogger("pv2simkl")

EXIT_UNEXPECTED = 1
# The reader of our output went away (`pv2simkl history | head -1`): end as a program that
# SIGPIPE ended does (128 + 13), as `seq`, `cat` or `yes` do in that pipe, and quietly.
EXIT_CLOSED_PIPE = 141


class State:
    """Options of the top-level command, shared by the subcommands."""

    debug = False
    quiet = False
    overrides: dict[tuple[str, str], object] = {}
    config: Path | None = None


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


def _version(value: bool) -> None:
    if value:
        typer.echo(f"pv2simkl {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    db: Annotated[Path | None, typer.Option(help="SQLite store to use (env PV2SIMKL_DB).")] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Folder for the store, exports and state (env PV2SIMKL_DATA_DIR)."),
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="config.toml to read (env PV2SIMKL_CONFIG).")
    ] = None,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More detail.")] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors.")] = False,
    debug: Annotated[bool, typer.Option(help="Debug logging and tracebacks.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Global options."""
    State.debug, State.quiet, State.config = debug, quiet, config
    State.overrides = {
        ("paths", "db"): str(db) if db else None,
        ("paths", "data_dir"): str(data_dir) if data_dir else None,
    }
    _setup_logging(verbose, quiet, debug)


@contextmanager
def _session() -> Iterator[pipeline.Context]:
    """The run's context; pv2simkl's errors become one sentence and their exit code."""
    ctx = None
    try:
        settings = load_settings(config_file=State.config, overrides=State.overrides)
        ctx = pipeline.Context.create(settings)
        yield ctx
    except typer.Exit:
        raise
    except BrokenPipeError:
        raise _closed_pipe() from None
    except Exception as exc:
        raise _fail(exc) from None
    finally:
        if ctx:
            ctx.close()


def _closed_pipe() -> typer.Exit:
    """Stop writing to a reader that has gone: later writes and the flush at exit go to
    /dev/null, so no BrokenPipeError (and no "Exception ignored") ever reaches stderr."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return typer.Exit(EXIT_CLOSED_PIPE)


def _fail(exc: BaseException) -> typer.Exit:
    if State.debug:
        raise exc
    if isinstance(exc, Pv2SimklError):
        typer.echo(f"error: {exc}", err=True)
        return typer.Exit(exc.exit_code)
    typer.echo(
        f"error: unexpected {type(exc).__name__}: {exc}. Run again with --debug for details.",
        err=True,
    )
    return typer.Exit(EXIT_UNEXPECTED)


class _Progress:
    """A progress bar per file on a terminal; nothing otherwise."""

    def __init__(self, stack: ExitStack):
        self.bar = None
        if sys.stderr.isatty() and not State.quiet:
            from rich.console import Console
            from rich.progress import Progress

            console = Console(stderr=True)
            self.bar = stack.enter_context(Progress(console=console, transient=True))

    def __call__(self, name: str) -> _Progress:
        if self.bar is not None:
            self.task = self.bar.add_task(Path(name).name[:40], total=None)
        return self

    def set_total(self, total: int) -> None:
        if self.bar is not None:
            self.bar.update(self.task, total=total)

    def advance(self, n: int) -> None:
        if self.bar is not None:
            self.bar.advance(self.task, n)


@app.command("import")
def import_cmd(
    paths: Annotated[
        list[Path], typer.Argument(help="Saved pages, API replies, exports (files, folders, ZIPs).")
    ],
    export: Annotated[
        bool,
        typer.Option(
            "--export",
            help="Find the new titles' ids (when a provider is usable), then write the delta CSV.",
        ),
    ] = False,
    out: Annotated[Path | None, typer.Option(help="Folder for the CSV (with --export).")] = None,
    force: Annotated[bool, typer.Option(help="Read files again even if already imported.")] = False,
    locale: Annotated[
        str | None,
        typer.Option(
            help="Language the files are written in (e.g. de-DE); overrides a page's own."
        ),
    ] = None,
) -> None:
    """Import watch history into the store."""
    with _session() as ctx:
        with ExitStack() as stack:
            report = pipeline.import_paths(
                ctx, paths, force=force, locale=locale, progress=_Progress(stack)
            )
        for r in report.results:
            if r.skipped_file:
                typer.echo(f"{r.path}: already imported, skipped (use --force to read it again)")
            elif r.seen == 0 and r.watchlist_seen:
                typer.echo(f"{r.path}: {r.watchlist_seen} watchlist titles read, {r.watchlist} new")
            elif r.seen == 0 and not r.ignored:
                typer.echo(f"{r.path}: the history is empty; nothing to store")
            else:
                typer.echo(
                    f"{r.path}: {r.seen} events read, {r.added} new"
                    + (f", {r.updated} completed" if r.updated else "")
                    + f" ({r.source})"
                    + (
                        f"; {r.watchlist_seen} watchlist titles, {r.watchlist} new"
                        if r.watchlist_seen
                        else ""
                    )
                    + _not_watches(r.ignored)
                )
        for name, exc in report.failures:
            typer.echo(f"error: {exc if str(exc).startswith(name) else f'{name}: {exc}'}", err=True)
        counts = ctx.store.counts()
        typer.echo(
            f"Stored {report.added} new events; the store holds {counts['events']} events "
            f"of {counts['works']} titles ({ctx.paths.db})."
        )
        if export:
            _print_fresh_export(pipeline.export_fresh(ctx, out_dir=out))
        if report.failures:
            raise typer.Exit(report.failures[0][1].exit_code)


def _not_watches(ignored: dict[str, int]) -> str:
    """``; not watches, skipped: 3 trailers, 7 live broadcasts``."""
    if not ignored:
        return ""
    parts = ", ".join(f"{count} {reason}" for reason, count in sorted(ignored.items()))
    return f"; not watches, skipped: {parts}"


def _print_export(result) -> None:
    if not result.files:
        typer.echo("Nothing new to export.")
        return
    for path in result.files:
        typer.echo(f"Wrote {path}")
    typer.echo(f"{result.rows} rows for Simkl's CSV import (https://simkl.com/apps/import/csv/).")


def _print_fresh_export(fresh: pipeline.FreshExport) -> None:
    """What ``--export`` did: the titles matched first (when a provider was usable), a
    provider's failure as a warning (the CSV is written anyway), then the files."""
    enriched = fresh.enriched
    if enriched is not None and enriched.works:
        typer.echo(
            f"Looked up {enriched.works} titles before the export: {enriched.matched} matched"
            + (
                f", {enriched.unmatched} unmatched (see `pv2simkl unmatched`)"
                if enriched.unmatched
                else ""
            )
            + "."
        )
    errors = enriched.errors if enriched is not None else []
    if errors:
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        typer.echo(f"warning: some lookups failed: {'; '.join(errors[:3])}{more}. The CSV "
                   "carries the ids found so far; the next export adds the others.",
                   err=True)  # fmt: skip
    _print_export(fresh.written)


@app.command("export")
def export_cmd(
    all_history: Annotated[
        bool, typer.Option("--all", help="Write the whole history again.")
    ] = False,
    out: Annotated[Path | None, typer.Option(help="Folder for the CSV files.")] = None,
) -> None:
    """Write a Simkl CSV holding only what is new since the last export."""
    with _session() as ctx:
        _print_export(pipeline.export(ctx, all_history=all_history, out_dir=out))


class HistoryFormat(StrEnum):
    table = "table"
    jsonl = "jsonl"
    csv = "csv"


@app.command("enrich")
def enrich_cmd() -> None:
    """Find each title's Simkl, TMDB, TVDB, IMDb and MyAnimeList ids."""
    with _session() as ctx, ExitStack() as stack:
        report = pipeline.enrich(ctx, progress=_Progress(stack))
        _print_enrich(report)
        if not any(state == "ok" for _, state, _ in report.providers):
            raise typer.Exit(8)


def _print_enrich(report: pipeline.EnrichReport) -> None:
    for name, state, missing in report.providers:
        if state == "no key":
            log.info("%s is off: set %s", name, ", ".join(missing))
    for message in report.errors:
        typer.echo(f"warning: {message}", err=True)
    sent = sum(report.requests.values())
    typer.echo(
        f"{report.works} titles looked up: {report.matched} matched, {report.unmatched} "
        f"unmatched; {report.episodes_numbered} episode numbers found; {sent} requests "
        f"({report.cache_hits} answers from the cache)."
    )
    if sent:
        per = ", ".join(f"{name} {n}" for name, n in report.requests.items() if n)
        typer.echo(f"Requests per service: {per}.")
    if report.unmatched:
        typer.echo("See `pv2simkl unmatched`, and pin a title with `pv2simkl match`.")


@app.command("match")
def match_cmd(
    title: Annotated[str, typer.Argument(help="The title as stored (see `pv2simkl history`).")],
    simkl: Annotated[int | None, typer.Option(help="Simkl id.")] = None,
    tmdb: Annotated[int | None, typer.Option(help="TMDB id.")] = None,
    tvdb: Annotated[int | None, typer.Option(help="TheTVDB series id.")] = None,
    imdb: Annotated[str | None, typer.Option(help="IMDb id (tt…).")] = None,
    mal: Annotated[int | None, typer.Option(help="MyAnimeList id.")] = None,
    year: Annotated[int | None, typer.Option(help="Release or first-air year.")] = None,
    media_type: Annotated[
        str | None, typer.Option("--type", "--kind", help="movie, tv or anime.")
    ] = None,
) -> None:
    """Pin a title's ids by hand; later runs keep them.

    Pins add up: `match X --tmdb 161` then `match X --imdb tt0240772` keeps both, and a
    new id for the same service replaces only that one. The first pin replaces the ids a
    provider had matched. `--year` / `--type` alone make the next enrich look again.
    """
    ids = {"simkl": simkl, "tmdb": tmdb, "tvdb": tvdb, "imdb": imdb, "mal": mal}
    if not any(ids.values()) and year is None and media_type is None:
        typer.echo(
            "error: give at least one id (--simkl, --tmdb, --tvdb, --imdb, --mal), "
            "--year or --type.",
            err=True,
        )
        raise typer.Exit(2)
    if imdb and not (imdb.startswith("tt") and imdb[2:].isdigit()):
        typer.echo(f"error: --imdb {imdb!r} is not an IMDb id such as tt0068646.", err=True)
        raise typer.Exit(2)
    if media_type and media_type not in {"movie", "tv", "anime"}:
        typer.echo("error: --type must be movie, tv or anime.", err=True)
        raise typer.Exit(2)
    if year is not None and not 1870 < year < 2200:
        typer.echo(f"error: --year {year} is not a year.", err=True)
        raise typer.Exit(2)
    given = [f"{k} {v}" for k, v in ids.items() if v]
    given += [f"type {media_type}"] if media_type else []
    given += [f"year {year}"] if year is not None else []
    with _session() as ctx:
        for name in pipeline.pin(ctx, title, ids, media_type, year):
            typer.echo(f"Pinned {name}: " + ", ".join(given))
        typer.echo("The other ids are filled in by the next `pv2simkl enrich`.")


@app.command("unmatched")
def unmatched_cmd() -> None:
    """List titles no provider matched confidently, with their best candidates."""
    with _session() as ctx:
        works = pipeline.unmatched(ctx)
        if not works:
            typer.echo("Every looked-up title is matched.")
            return
        for work in works:
            typer.echo(f"{work['title']} ({work['kind']})")
            for c in work["candidates"]:
                ids = ", ".join(f"{k} {v}" for k, v in c["ids"].items() if v)
                year = c.get("year") or "?"
                typer.echo(
                    f"    {c['score']:5.1f}  {c['title']} ({year}, {c['kind']}) "
                    f"via {c['provider']}: {ids}"
                )
                if c.get("why"):
                    typer.echo(f"           {_why(c['why'])}")
        typer.echo(f'{len(works)} unmatched. Pin one: pv2simkl match "TITLE" --tmdb ID')


def _why(why: dict) -> str:
    """A candidate's named adjustments as ``unmatched`` explains them, like a tagger's
    distance: ``title 92.0, year -40, type +5, date: released after first watch``."""
    parts = []
    for name, value in why.items():
        if isinstance(value, int | float):
            parts.append(f"{name} {value:.1f}" if name == "title" else f"{name} {value:+g}")
        else:
            parts.append(f"{name}: {value}")
    return ", ".join(parts)


@app.command("doctor")
def doctor_cmd(
    no_probe: Annotated[bool, typer.Option("--no-probe", help="Do not call the services.")] = False,
) -> None:
    """Show the config in use, each metadata provider's state and the Simkl sign-in."""
    with _session() as ctx:
        typer.echo(f"config file: {ctx.settings.config_file or '(none; defaults and env)'}")
        typer.echo(f"store: {ctx.paths.db}")
        typer.echo(f"exports: {ctx.paths.export_dir}")
        typer.echo(f"provider order: {', '.join(ctx.settings.metadata.order)}")
        try:
            import keyring

            typer.echo(f"keyring backend: {type(keyring.get_keyring()).__name__}")
        except Exception as exc:  # a broken keyring must not stop the report
            typer.echo(f"keyring backend: unavailable ({type(exc).__name__})")
        for name, state, detail in pipeline.doctor(ctx, probe=not no_probe):
            typer.echo(f"  {name:8} {state:12} {detail}")


credentials_app = typer.Typer(help="Store, show or clear secrets (system keyring).")
app.add_typer(credentials_app, name="credentials")


@credentials_app.command("set")
def credentials_set(
    section: Annotated[str, typer.Argument(help="amazon, or a service: simkl, tmdb, tvdb, …")],
) -> None:
    """Ask for the secrets of SECTION and store them in the system keyring."""
    from pv2simkl import credentials

    with _session():
        values = {}
        for key in credentials.secret_keys(section):
            label = key.replace("_", " ")
            hidden = key != "email"
            optional = key == "totp_secret" or section != "amazon"
            prompt = f"{label}" + (" (optional, Enter to skip)" if optional else "")
            value = typer.prompt(prompt, hide_input=hidden, default="" if optional else None,
                                 show_default=False)  # fmt: skip
            if key == "totp_secret" and value:
                value = credentials.normalise_totp_secret(value)
            values[key] = value
        saved = credentials.store(section, values)
        typer.echo(f"Stored in the system keyring: {', '.join(saved) or 'nothing'}.")


@credentials_app.command("show")
def credentials_show(
    section: Annotated[str, typer.Argument(help="amazon, or a service.")] = "amazon",
) -> None:
    """Say where each secret of SECTION is set, never what it is."""
    from pv2simkl import credentials

    with _session() as ctx:
        for key, where in credentials.describe(section, ctx.settings):
            typer.echo(f"{section}.{key}: {where}")


@credentials_app.command("clear")
def credentials_clear(
    section: Annotated[str, typer.Argument(help="amazon, or a service.")] = "amazon",
) -> None:
    """Remove the secrets of SECTION from the keyring."""
    from pv2simkl import credentials

    with _session():
        removed = credentials.clear(section)
        typer.echo(f"Removed from the keyring: {', '.join(removed) or 'nothing was stored'}.")


@app.command("login")
def login_cmd(
    browser: Annotated[
        bool, typer.Option("--browser", help="Sign in in a browser window.")
    ] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the sign-in.")] = 600.0,
) -> None:
    """Sign in to Amazon in a real browser (captcha, phone approval) and keep its cookies."""
    if not browser:
        typer.echo("Use `pv2simkl login --browser`; `pv2simkl fetch` signs in by itself.")
        raise typer.Exit(2)
    with _session() as ctx:
        typer.echo("A browser window opens: sign in until your watch history shows.")
        saved = pipeline.browser_login(ctx, timeout=timeout)
        typer.echo(f"Signed in; {saved} cookies kept for `pv2simkl fetch`.")


simkl_app = typer.Typer(help="Sign in to Simkl (for `pv2simkl push`), or out.")
app.add_typer(simkl_app, name="simkl")


@simkl_app.command("login")
def simkl_login(
    print_token: Annotated[
        bool,
        typer.Option(
            "--print-token",
            help="Print the token instead of keeping it in the keyring (for a server: "
            "put it in PV2SIMKL_SIMKL_ACCESS_TOKEN).",
        ),
    ] = False,
) -> None:
    """Sign in with Simkl's PIN: open the address shown and enter the code."""
    from pv2simkl import simkl_auth

    def show(code: str, url: str) -> None:
        typer.echo(f"Open {url} and enter the code {code} (Ctrl-C to stop).", err=print_token)
        typer.echo("Waiting for Simkl…", err=print_token)

    with _session() as ctx:
        done = simkl_auth.sign_in(ctx.settings, show=show, store=not print_token)
        if print_token:
            typer.echo(done.token)
            return
        typer.echo("Signed in to Simkl; the token is in the system keyring (simkl.access_token).")
        if done.env_wins:
            typer.echo(f"note: {simkl_auth.TOKEN_ENV} is set and wins over the keyring.")


@simkl_app.command("logout")
def simkl_logout() -> None:
    """Forget the Simkl token kept in the keyring."""
    from pv2simkl import simkl_auth

    with _session():
        removed = simkl_auth.sign_out()
        typer.echo("Signed out of Simkl: the token is gone from the keyring."
                   if removed else "No Simkl token was in the keyring.")  # fmt: skip
        if os.environ.get(simkl_auth.TOKEN_ENV):
            typer.echo(f"note: {simkl_auth.TOKEN_ENV} is still set; unset it to sign out there.")


@app.command("fetch")
def fetch_cmd(
    full: Annotated[
        bool, typer.Option("--full", help="Read every page, not only new ones.")
    ] = False,
    export: Annotated[
        bool,
        typer.Option(
            "--export",
            help="Find the new titles' ids (when a provider is usable), then write the delta CSV.",
        ),
    ] = False,
) -> None:
    """Read the watch history from Amazon (signing in with the stored credentials)."""
    ask = None
    if sys.stdin.isatty():

        def ask() -> str:
            return typer.prompt("Amazon one-time code")

    with _session() as ctx, ExitStack() as stack:
        report = pipeline.fetch(ctx, full=full, ask_code=ask, progress=_Progress(stack))
        for warning in report.warnings:
            typer.echo(f"warning: {warning}", err=True)
        how = " (stopped at events already stored)" if report.stopped_early else ""
        typer.echo(
            f"Read {report.pages} history page(s){how}: {report.read} events, {report.added} new"
            + (
                f"; {report.numbered} episode numbers from Amazon's catalog"
                if report.numbered
                else ""
            )
            + "."
        )
        if export:
            _print_fresh_export(pipeline.export_fresh(ctx))


@app.command("sync")
def sync_cmd() -> None:
    """One cycle: fetch (if signed in), import the inbox, enrich, export a delta CSV."""
    with _session() as ctx:
        report = pipeline.sync(ctx)
        if report.fetched is not None:
            typer.echo(f"fetched from Amazon: {report.fetched} new events")
        typer.echo(
            f"inbox: {report.inbox_ok} imported, {report.inbox_failed} failed; "
            f"{report.new_events} new events; titles matched {report.matched}, "
            f"unmatched {report.unmatched}"
        )
        for path in report.csv:
            typer.echo(f"Wrote {path}")
        if not report.csv and ctx.settings.export.csv:
            typer.echo("Nothing new to export.")
        if report.pushed is not None:
            typer.echo(f"pushed to Simkl: {report.pushed} watches")
        for error in report.errors:
            typer.echo(f"warning: {error}", err=True)


def _print_push(report) -> None:
    """The plan (``--dry-run``) or what was sent, then what waits and why."""
    for line in report.recovered:
        typer.echo(line)
    plan = report.plan
    if report.dry_run:
        for line in pusher_describe(plan):
            typer.echo(line)
        typer.echo(
            f"Would send {plan.plays} watch(es) of {len(plan.items)} title(s); "
            "nothing was sent (--dry-run)."
        )
    elif report.posts:
        missing = f"; {report.not_found} not found" if report.not_found else ""
        typer.echo(
            f"Pushed {report.added} watch(es) to Simkl in {report.posts} request(s){missing}."
        )
    else:
        typer.echo("Nothing new to push.")
    for title, count in plan.unnumbered:
        typer.echo(
            f"warning: {count} episode(s) of {title} have no number: run `pv2simkl enrich` "
            "(they are never sent as a whole show).",
            err=True,
        )
    for row in report.kept:
        name = f"{row['title']} ({row['year']})" if row["year"] else row["title"]
        typer.echo(
            f"not found at Simkl: {name}, {row['events']} watch(es): {row['reason']}; "
            "`pv2simkl match` gives it ids, and the next push sends it again."
        )


def pusher_describe(plan) -> list[str]:
    from pv2simkl.push import describe

    return describe(plan)


@app.command("push")
def push_cmd(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would be sent; send nothing.")
    ] = False,
    all_history: Annotated[
        bool, typer.Option("--all", help="Send the whole history again (a new account).")
    ] = False,
    max_plays: Annotated[int, typer.Option(hidden=True, min=1)] = 250,
) -> None:
    """Send every watch not yet pushed to Simkl's API, each episode with its own date."""
    with _session() as ctx:
        _print_push(
            pipeline.push(ctx, dry_run=dry_run, all_history=all_history, max_plays=max_plays)
        )


@app.command("daemon")
def daemon_cmd() -> None:
    """Run for good: sync on a schedule and import files dropped in the inbox."""
    from pv2simkl.daemon import runner

    with _session() as ctx:
        raise typer.Exit(runner.run(ctx))


@app.command("status")
def status_cmd() -> None:
    """Last runs, the next scheduled one, what waits for export, the newest CSV."""
    with _session() as ctx:
        info = pipeline.status(ctx)
        daemon = info["daemon"]
        if daemon:
            typer.echo(
                f"daemon: running (pid {daemon.get('pid')}), next sync {daemon.get('next_run')}"
            )
        elif info.get("daemon_gone"):
            typer.echo(
                f"daemon: not running (pid {info['daemon_gone']} ended without stopping cleanly: "
                "killed or crashed; `pv2simkl service logs` may say why)"
            )
        else:
            typer.echo("daemon: not running")
        typer.echo(
            f"store: {info['events']} events of {info['works']} titles; "
            f"{info['unexported']} events not exported yet"
            + (
                f", {info['ids_pending']} titles to export again with ids found since"
                if info.get("ids_pending")
                else ""
            )
        )
        matches = info["matches"]
        typer.echo(
            "titles: " + ", ".join(f"{n} {state}" for state, n in sorted(matches.items())) or "none"
        )
        typer.echo(f"newest CSV: {info['newest_csv'] or '(none yet)'}")
        _print_push_status(info["push"])
        for run in info["runs"]:
            summary = run["summary"]
            typer.echo(
                f"  {run['started_at'][:19]} {run['kind']:9} {run['status']:7} "
                f"new {summary.get('new_events', '?')}, csv {len(summary.get('csv', []))}"
            )


def _print_push_status(push: dict) -> None:
    """The last push to Simkl's API and what waits for the next."""
    last = push["last"]
    when = "never"
    if last:
        when = f"{last['finished_at'][:19]} ({last['added']} added, {last['not_found']} not found)"
    auto = "each sync pushes" if push["enabled"] else "`pv2simkl push` sends them"
    line = f"simkl push: last {when}; {push['waiting']} watches not pushed yet ({auto})"
    if push["not_found"]:
        line += f", {push['not_found']} not found at Simkl"
    if push["in_flight"]:
        line += f", {push['in_flight']} request(s) in flight"
    typer.echo(line)


store_app = typer.Typer(help="Check, back up or restore the SQLite store.")
app.add_typer(store_app, name="store")


def _counts_line(counts: dict[str, int | None]) -> str:
    names = {"events": "events", "works": "titles", "imports": "imports",
             "export_batches": "export batches"}  # fmt: skip
    return ", ".join(
        f"{counts[k]} {name}" for k, name in names.items() if counts.get(k) is not None
    )


@store_app.command("check")
def store_check() -> None:
    """Run SQLite's integrity check on the store and count what it holds (exit 6 if damaged)."""
    from pv2simkl import maintenance
    from pv2simkl.errors import StoreError

    with _session() as ctx:
        report = maintenance.check(ctx.paths.db)
        typer.echo(f"store: {report.path} ({report.size:,} bytes)")
        if report.counts:
            typer.echo(f"holds: {_counts_line(report.counts)}")
        for copy in report.backups:
            typer.echo(f"copy beside it: {copy} (`pv2simkl store restore {copy}`)")
        if not report.ok:
            raise StoreError(report.sentence())
        typer.echo("integrity: ok")


@store_app.command("backup")
def store_backup(
    dest: Annotated[Path, typer.Argument(help="A new file, or a folder for a dated copy.")],
) -> None:
    """Copy the store to DEST (SQLite's backup API: safe while the daemon runs)."""
    from pv2simkl import maintenance

    with _session() as ctx:
        report = maintenance.backup(ctx.paths.db, dest)
        typer.echo(f"Backed up {ctx.paths.db} to {report.path}: {_counts_line(report.counts)}.")


@store_app.command("restore")
def store_restore(
    src: Annotated[Path, typer.Argument(help="A backup, or a copy made before a migration.")],
) -> None:
    """Replace the store by SRC (checked first); the current store is kept aside."""
    from pv2simkl import maintenance

    with _session() as ctx:
        report = maintenance.restore(
            ctx.paths.db, src, daemon_lock=ctx.paths.state_dir / "daemon.lock"
        )
        typer.echo(f"Restored {report.path} from {src}: {_counts_line(report.counts)}.")
        if report.aside:
            typer.echo(f"The store it replaced is kept as {report.aside}.")


service_app = typer.Typer(help="Run the daemon as a user service (systemd or launchd).")
app.add_typer(service_app, name="service")

DryRun = Annotated[
    bool, typer.Option("--dry-run", help="Print the file and the commands; change nothing.")
]


def _flag(section: str, key: str) -> str | None:
    value = State.overrides.get((section, key))
    return str(value) if value else None


@service_app.command("install")
def service_install(dry_run: DryRun = False) -> None:
    """Write the user service file and start the daemon now and at each login."""
    from pv2simkl.daemon import service

    with _session() as ctx:
        env = service.service_environment(
            config=State.config, data_dir=_flag("paths", "data_dir"), db=_flag("paths", "db")
        )
        plan = service.install_plan(environment=env, log_dir=ctx.paths.log_dir)
        typer.echo(plan.describe() if dry_run else service.apply(plan))


@service_app.command("uninstall")
def service_uninstall(dry_run: DryRun = False) -> None:
    """Stop the daemon, disable it and remove the service file."""
    from pv2simkl.daemon import service

    with _session():
        plan = service.uninstall_plan()
        typer.echo(plan.describe() if dry_run else service.apply(plan))


@service_app.command("status")
def service_status(dry_run: DryRun = False) -> None:
    """Ask systemd or launchd whether the daemon runs."""
    from pv2simkl.daemon import service

    with _session():
        plan = service.status_plan()
        typer.echo(plan.describe() if dry_run else service.apply(plan))


@service_app.command("logs")
def service_logs(
    lines: Annotated[int, typer.Option("--lines", "-n", help="How many lines.")] = 200,
    dry_run: DryRun = False,
) -> None:
    """Show the daemon's recent output (the user journal, or the launchd log files)."""
    from pv2simkl.daemon import service

    with _session() as ctx:
        plan = service.logs_plan(log_dir=ctx.paths.log_dir, lines=lines)
        typer.echo(plan.describe() if dry_run else service.apply(plan))


config_app = typer.Typer(help="Create config.toml, or migrate the old exporter's config.")
app.add_typer(config_app, name="config")


def _config_file() -> Path:
    from pv2simkl.config import default_config_file

    return State.config or default_config_file()


@config_app.command("init")
def config_init(
    force: Annotated[bool, typer.Option(help="Replace an existing config.toml.")] = False,
) -> None:
    """Write a config.toml holding every setting at its default, each with a comment."""
    from pv2simkl import migrate

    try:  # not _session(): a broken config.toml must not stop `init --force` replacing it
        path = migrate.init(_config_file(), force=force)
    except Exception as exc:
        raise _fail(exc) from None
    typer.echo(f"Wrote {path}. Secrets go to the keyring: `pv2simkl credentials set amazon`, …")


@config_app.command("migrate")
def config_migrate(
    old: Annotated[Path, typer.Argument(help="The old exporter's config.js or config.json.")],
    force: Annotated[
        bool, typer.Option(help="Replace keys that config.toml already sets differently.")
    ] = False,
) -> None:
    """Turn the old exporter's config into config.toml; its secrets go to the keyring."""
    from pv2simkl import migrate

    try:  # not _session(): the file being migrated into may not load yet
        report = migrate.migrate(old, _config_file(), force=force)
    except Exception as exc:
        raise _fail(exc) from None
    for line in report.lines():
        typer.echo(line)


@app.command("history")
def history_cmd(
    fmt: Annotated[
        HistoryFormat, typer.Option("--format", help="Output format.")
    ] = HistoryFormat.table,
) -> None:
    """Print every stored watch event, oldest first."""
    with _session() as ctx:
        events = (e.to_public() for e in pipeline.history(ctx))
        if fmt is HistoryFormat.jsonl:
            for row in events:
                sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
        elif fmt is HistoryFormat.csv:
            writer = None
            for row in events:
                if writer is None:
                    writer = csv.DictWriter(sys.stdout, fieldnames=list(row), lineterminator="\n")
                    writer.writeheader()
                writer.writerow(row)
        else:
            from rich.table import Table

            table = Table("watched (UTC)", "kind", "title", "S", "E", "episode", "source")
            table.caption = "No watch events stored yet: run `pv2simkl import`."
            for row in events:
                table.add_row(
                    row["watched_at"][:16].replace("T", " "),
                    row["kind"],
                    row["title"],
                    _s(row["season"]),
                    _s(row["episode"]),
                    row["episode_title"] or "",
                    row["source"],
                )
            if table.row_count:
                table.caption = f"{table.row_count} watch events"
            _console().print(table)


def _console():
    """rich's Console, except that a closed pipe ends as every other output does (exit 141)
    rather than with rich's own exit 1."""
    from rich.console import Console

    class PipeConsole(Console):
        def on_broken_pipe(self) -> None:
            self.quiet = True
            raise BrokenPipeError

    return PipeConsole()


def _s(value: object) -> str:
    return "" if value is None else str(value)


def main() -> None:
    """Console-script entry point; output to a closed pipe ends quietly (exit 141)."""
    try:
        app()
    except BrokenPipeError:
        code: int | str | None = _closed_pipe().exit_code
    except SystemExit as done:
        code = done.code
    try:
        sys.stdout.flush()  # what the interpreter would flush at exit, where it cannot be caught
    except BrokenPipeError:
        code = _closed_pipe().exit_code
    sys.exit(code)
