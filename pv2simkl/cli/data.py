"""The commands that move watches: import, export, enrich, fetch, sync, push, daemon and
Amazon's browser login."""

from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path

import click

from pv2simkl.cli.core import Progress, examples, out, say, session, usage_error, warn
from pv2simkl.words import plural

EXPORT_HELP = "Find the new titles' ids (when a service is usable), then write the delta CSV."


@click.command(
    "import",
    epilog=examples(
        "pv2simkl import ~/Downloads/watch-history.html",
        "pv2simkl import ~/Downloads/Prime-Video-export.zip --export",
        "pv2simkl import saved-pages/ --locale de-DE",
    ),
)
@click.argument("paths", nargs=-1, required=True, metavar="PATH...",
                type=click.Path(path_type=Path))  # fmt: skip
@click.option("--export", "export", is_flag=True, help=EXPORT_HELP)
@click.option("--out", type=click.Path(path_type=Path), metavar="DIR",
              help="Folder for the CSV (with --export).")  # fmt: skip
@click.option("--force", is_flag=True, help="Read files again even if already imported.")
@click.option(
    "--locale",
    metavar="LANG",
    help="Language the files are written in (e.g. de-DE); overrides a page's own.",
)
def import_cmd(
    paths: tuple[Path, ...], export: bool, out: Path | None, force: bool, locale: str | None
) -> None:
    """Import watch history into the store.

    PATH is a saved watch-history page, a history JSON reply, Amazon's data export (ZIP,
    folder or CSV) or the old browser exporter's file; folders are searched. The format is
    told from the content, not the name.
    """
    from pv2simkl import pipeline

    with session() as ctx:
        with ExitStack() as stack:
            report = pipeline.import_paths(
                ctx, list(paths), force=force, locale=locale, progress=Progress(stack)
            )
        for r in report.results:
            if r.skipped_file:
                say(f"{r.path}: already imported, skipped (use --force to read it again)")
            elif r.seen == 0 and r.watchlist_seen:
                say(f"{r.path}: {plural(r.watchlist_seen, 'watchlist title')} read, "
                    f"{r.watchlist} new")  # fmt: skip
            elif r.seen == 0 and not r.ignored:
                say(f"{r.path}: the history is empty; nothing to store")
            else:
                say(
                    f"{r.path}: {plural(r.seen, 'event')} read, {r.added} new"
                    + (
                        f", {plural(r.updated, 'stored watch', 'stored watches')} filled in "
                        "(an episode number or an exact time)"
                        if r.updated
                        else ""
                    )
                    + f" ({r.source})"
                    + (
                        f"; {plural(r.watchlist_seen, 'watchlist title')}, {r.watchlist} new"
                        if r.watchlist_seen
                        else ""
                    )
                    + _not_watches(r.ignored)
                )
        for name, exc in report.failures:  # one sentence each, the file named once
            click.echo(f"error: {exc if name in str(exc) else f'{name}: {exc}'}", err=True)
        counts = ctx.store.counts()
        say(
            f"Stored {plural(report.added, 'new event')}; the store holds "
            f"{plural(counts['events'], 'event')} of {plural(counts['works'], 'title')} "
            f"({ctx.paths.db})."
        )
        if export:
            print_fresh_export(pipeline.export_fresh(ctx, out_dir=out))
        if report.failures:
            raise click.exceptions.Exit(report.failures[0][1].exit_code)


def _not_watches(ignored: dict[str, int]) -> str:
    """``; not watches, skipped: 3 trailers, 7 live broadcasts``."""
    if not ignored:
        return ""
    parts = ", ".join(
        f"{count} {_one(reason) if count == 1 else reason}"
        for reason, count in sorted(ignored.items())
    )
    return f"; not watches, skipped: {parts}"


_ONE = {
    "trailers": "trailer",
    "trailers and promos": "trailer or promo",
    "live broadcasts": "live broadcast",
    "rows deleted from the watch history": "row deleted from the watch history",
    "rows without a title": "row without a title",
}


def _one(reason: str) -> str:
    """The importers' reasons are plural (``live broadcasts``): one row's, singular."""
    if reason.startswith("views "):
        return "view " + reason.removeprefix("views ")
    return _ONE.get(reason, reason)


def print_export(result) -> None:
    if not result.files:
        say("Nothing new to export.")
        return
    for path in result.files:
        say(f"Wrote {path}")
    say(f"{plural(result.rows, 'row')} for Simkl's CSV import "
        "(https://simkl.com/apps/import/csv/).")  # fmt: skip


def print_fresh_export(fresh) -> None:
    """What ``--export`` did: the titles matched first (when a provider was usable), a
    provider's failure as a warning (the CSV is written anyway), then the files."""
    enriched = fresh.enriched
    if enriched is not None and enriched.works:
        say(
            f"Looked up {plural(enriched.works, 'title')} before the export: "
            f"{enriched.matched} matched"
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
        warn(f"some lookups failed: {'; '.join(errors[:3])}{more}. The CSV carries the ids "
             "found so far; the next export adds the others.")  # fmt: skip
    print_export(fresh.written)


@click.command(
    "export",
    epilog=examples(
        "pv2simkl export",
        "pv2simkl export --out ~/Desktop",
        "pv2simkl export --all        # a new Simkl account: everything again",
    ),
)
@click.option("--all", "all_history", is_flag=True, help="Write the whole history again.")
@click.option("--out", type=click.Path(path_type=Path), metavar="DIR",
              help="Folder for the CSV files.")  # fmt: skip
def export_cmd(all_history: bool, out: Path | None) -> None:
    """Write a Simkl CSV holding only what is new since the last export.

    Upload it at https://simkl.com/apps/import/csv/. Movies are "completed"; a show is
    "completed" when its service says it has ended and you watched its last aired episode,
    "watching" otherwise.
    """
    from pv2simkl import pipeline

    with session() as ctx:
        print_export(pipeline.export(ctx, all_history=all_history, out_dir=out))


@click.command("enrich", epilog=examples("pv2simkl enrich", "pv2simkl --offline enrich"))
def enrich_cmd() -> None:
    """Find each title's Simkl, TMDB, TVDB, IMDb and MyAnimeList ids.

    Asks the services in [metadata] order; answers are cached, so a second run asks
    nothing it asked before. Exit 8 when no service is usable.
    """
    from pv2simkl import pipeline

    with session() as ctx, ExitStack() as stack:
        report = pipeline.enrich(ctx, progress=Progress(stack))
        print_enrich(report)
        if not any(state == "ok" for _, state, _ in report.providers):
            raise click.exceptions.Exit(8)


def print_enrich(report) -> None:
    import logging

    log = logging.getLogger("pv2simkl")
    for name, state, missing in report.providers:
        if state == "no key":
            log.info("%s is off: set %s", name, ", ".join(missing))
    for message in report.errors:
        warn(message)
    sent = sum(report.requests.values())
    say(
        f"{plural(report.works, 'title')} looked up: {report.matched} matched, "
        f"{report.unmatched} unmatched; {plural(report.episodes_numbered, 'episode number')} "
        f"found; {plural(sent, 'request')} ({plural(report.cache_hits, 'answer')} from the "
        "cache)."
    )
    if sent:
        per = ", ".join(f"{name} {n}" for name, n in report.requests.items() if n)
        say(f"Requests per service: {per}.")
    if report.unmatched:
        say("See `pv2simkl unmatched`, and pin a title with `pv2simkl match`.")


@click.command("login", epilog=examples("pv2simkl login --browser"))
@click.option("--browser", is_flag=True, help="Sign in in a browser window.")
@click.option("--timeout", type=float, default=600.0, show_default=True, metavar="SECONDS",
              help="How long to wait for the sign-in.")  # fmt: skip
def login_cmd(browser: bool, timeout: float) -> None:
    """Sign in to Amazon in a real browser (captcha, phone approval) and keep its cookies.

    Needed only when Amazon asks for more than a password and a one-time code:
    `pv2simkl fetch` signs in by itself with the stored credentials.
    """
    from pv2simkl import pipeline

    if not browser:
        raise usage_error("use `pv2simkl login --browser`; `pv2simkl fetch` signs in by itself.")
    with session() as ctx:
        saved = pipeline.browser_login(
            ctx,
            timeout=timeout,
            opening=lambda: say("A browser window opens: sign in until your watch history shows."),
        )
        say(f"Signed in; {plural(saved, 'cookie')} kept for `pv2simkl fetch`.")


@click.command(
    "fetch",
    epilog=examples(
        "pv2simkl fetch",
        "pv2simkl fetch --export",
        "pv2simkl fetch --full",
        "pv2simkl login --browser && pv2simkl fetch --browser",
    ),
)
@click.option("--full", is_flag=True, help="Read every page, not only new ones.")
@click.option("--export", "export", is_flag=True, help=EXPORT_HELP)
@click.option(
    "--browser",
    is_flag=True,
    help="Scroll the history page in a headless Chromium instead of calling the API "
    "(needs the [browser] extra and a system Chromium).",
)
def fetch_cmd(full: bool, export: bool, browser: bool) -> None:
    """Read the watch history from Amazon (signing in with the stored credentials).

    Store the credentials once with `pv2simkl credentials set amazon`. With --browser the
    whole page is read in a browser that uses the session `pv2simkl login --browser` kept.
    """
    from pv2simkl import pipeline

    ask = None
    if sys.stdin.isatty():

        def ask() -> str:
            return click.prompt("Amazon one-time code")

    if browser:
        with session() as ctx:
            result = pipeline.browser_fetch(ctx)
            for warning in result.warnings:
                warn(warning)
            say(f"Read the history page in the browser: {plural(result.seen, 'event')}, "
                f"{result.added} new.")  # fmt: skip
            if export:
                print_fresh_export(pipeline.export_fresh(ctx))
        return
    with session() as ctx, ExitStack() as stack:
        report = pipeline.fetch(ctx, full=full, ask_code=ask, progress=Progress(stack))
        for warning in report.warnings:
            warn(warning)
        how = " (stopped at events already stored)" if report.stopped_early else ""
        say(
            f"Read {plural(report.pages, 'history page')}{how}: "
            f"{plural(report.read, 'event')}, {report.added} new"
            + (
                f"; {plural(report.numbered, 'episode number')} from Amazon's catalog"
                if report.numbered
                else ""
            )
            + "."
        )
        if export:
            print_fresh_export(pipeline.export_fresh(ctx))


@click.command("sync", epilog=examples("pv2simkl sync", "pv2simkl -q sync   # for cron"))
def sync_cmd() -> None:
    """One cycle: fetch (if signed in), import the inbox, enrich, export a delta CSV.

    With [simkl] push = true it also sends the new watches to Simkl's API.
    """
    from pv2simkl import pipeline

    with session() as ctx:
        report = pipeline.sync(ctx)
        if report.fetched is not None:
            say(f"fetched from Amazon: {plural(report.fetched, 'new event')}")
        say(
            f"inbox: {report.inbox_ok} imported, {report.inbox_failed} failed; "
            f"{plural(report.new_events, 'new event')}; titles matched {report.matched}, "
            f"unmatched {report.unmatched}"
        )
        for path in report.csv:
            say(f"Wrote {path}")
        if not report.csv and ctx.settings.export.csv:
            say("Nothing new to export.")
        if report.pushed is not None:
            say(f"pushed to Simkl: {plural(report.pushed, 'watch')}")
        for note in report.notes:
            say(f"note: {note}")
        for error in report.errors:
            warn(error)


def print_push(report) -> None:
    """The plan (``--dry-run``) or what was sent, then what waits and why."""
    from pv2simkl.sinks.simkl_push import describe

    for line in report.recovered:
        say(line)
    plan = report.plan
    if report.dry_run:
        for line in describe(plan):
            out(line)
        out(f"Would send {plural(plan.plays, 'watch')} of {plural(len(plan.items), 'title')}; "
            "nothing was sent (--dry-run).")  # fmt: skip
    elif report.posts:
        missing = f"; {report.not_found} not found" if report.not_found else ""
        say(f"Pushed {plural(report.added, 'watch')} to Simkl in "
            f"{plural(report.posts, 'request')}{missing}.")  # fmt: skip
    else:
        say("Nothing new to push.")
    for title, count in plan.unnumbered:
        have = "has" if count == 1 else "have"
        warn(f"{plural(count, 'episode')} of {title} {have} no number: run `pv2simkl enrich` "
             "(they are never sent as a whole show).")  # fmt: skip
    for row in report.kept:
        name = f"{row['title']} ({row['year']})" if row["year"] else row["title"]
        say(f"not found at Simkl: {name}, {plural(row['events'], 'watch')}: {row['reason']}; "
            "`pv2simkl match` gives it ids, and the next push sends it again.")  # fmt: skip


@click.command(
    "push",
    epilog=examples("pv2simkl simkl login", "pv2simkl push --dry-run", "pv2simkl push"),
)
@click.option("--dry-run", is_flag=True, help="Print what would be sent; send nothing.")
@click.option("--all", "all_history", is_flag=True,
              help="Send the whole history again (a new account).")  # fmt: skip
@click.option("--max-plays", type=click.IntRange(min=1), default=250, hidden=True)
def push_cmd(dry_run: bool, all_history: bool, max_plays: int) -> None:
    """Send every watch not yet pushed to Simkl's API, each episode with its own date.

    Sign in first with `pv2simkl simkl login`. A watch is sent once: a push stopped
    half-way is finished by the next one, never doubled.
    """
    from pv2simkl import pipeline

    with session() as ctx:
        print_push(
            pipeline.push(ctx, dry_run=dry_run, all_history=all_history, max_plays=max_plays)
        )


@click.command(
    "daemon",
    epilog=examples("pv2simkl daemon", "pv2simkl service install   # run it at each login"),
)
def daemon_cmd() -> None:
    """Run for good: sync on a schedule and import files dropped in the inbox.

    Stop it with Ctrl-C or SIGTERM; `pv2simkl service install` runs it as a user service.
    """
    from pv2simkl.daemon import runner

    with session() as ctx:
        raise click.exceptions.Exit(runner.run(ctx))


COMMANDS = [import_cmd, export_cmd, enrich_cmd, fetch_cmd, sync_cmd, push_cmd, daemon_cmd,
            login_cmd]  # fmt: skip
