"""What the store holds and what the runs did: ``status`` and ``history``.

``status`` reads through :mod:`pv2simkl.store.views` alone (no pipeline, no sqlite_utils),
so it answers at once; ``history`` writes plain aligned columns as it reads rows (rich's
Table measures every cell of every row first), through a pager on a terminal.
"""

from __future__ import annotations

import shutil
import sqlite3
import sys
import unicodedata
from collections.abc import Iterable, Iterator
from datetime import datetime

import click

from pv2simkl.cli.core import errors, examples, load, out
from pv2simkl.words import plural

# ---- time, as people read it --------------------------------------------------------------


def humanise(when: datetime | str | None, now: datetime) -> str:
    """``just now``, ``5 minutes ago``, ``in 12 minutes``, ``2 hours ago``, ``today at
    09:30``, ``yesterday at 21:04``, ``tomorrow at 06:00``, ``Monday at 21:04``, else
    ``2026-11-12 21:04``: in local time, never microseconds."""
    if isinstance(when, str):
        when = datetime.fromisoformat(when.replace("Z", "+00:00"))
    if when is None:
        return "never"
    when, now = when.astimezone(), now.astimezone()
    seconds = (now - when).total_seconds()
    ahead, gap = seconds < 0, abs(seconds)
    if gap < 45:
        return "in a moment" if ahead else "just now"
    if gap < 90 * 60:
        span = plural(max(1, round(gap / 60)), "minute")
        return f"in {span}" if ahead else f"{span} ago"
    if gap < 6 * 3600:
        span = plural(round(gap / 3600), "hour")
        return f"in {span}" if ahead else f"{span} ago"
    clock = when.strftime("%H:%M")
    days = (when.date() - now.date()).days
    if days == 0:
        return f"today at {clock}"
    if days == -1:
        return f"yesterday at {clock}"
    if days == 1:
        return f"tomorrow at {clock}"
    if -6 <= days <= 6:
        return f"{'last' if days < 0 else 'next'} {when.strftime('%A')} at {clock}"
    return when.strftime("%Y-%m-%d %H:%M")


# ---- status -------------------------------------------------------------------------------

_MATCH_WORDS = {"matched": "matched", "pinned": "pinned by hand", "unmatched": "unmatched",
                "new": "not looked up yet"}  # fmt: skip
_KIND_WIDTH = 14


def status_lines(info: dict, now: datetime) -> list[str]:
    """The printed ``status``: one line per fact, nothing left blank."""
    lines = [_daemon_line(info["daemon"], now)]
    events, titles = info["events"], info["titles"]
    if not events and not titles:
        lines.append(
            "store: empty, no watches yet. Run `pv2simkl import FILE` with a saved "
            "watch-history page or Amazon's data export, or `pv2simkl fetch` to read the "
            "history from Amazon."
        )
    else:
        lines.append(f"store: {plural(events, 'watch')} of {plural(titles, 'title')}")
        matches = info["matches"]
        parts = [f"{matches[k]} {w}" for k, w in _MATCH_WORDS.items() if matches.get(k)]
        parts += [f"{n} {k}" for k, n in sorted(matches.items()) if k not in _MATCH_WORDS and n]
        if parts:
            lines.append("titles: " + ", ".join(parts))
        lines.append(_waiting_line(info))
        if info["unmatched"]:
            lines.append(
                f"unmatched: {plural(info['unmatched'], 'title')} no service matched for sure "
                "(`pv2simkl unmatched` lists them, `pv2simkl match` picks their ids)"
            )
    if info["newest_csv"]:
        lines.append(f"newest CSV: {info['newest_csv']} ({humanise(info['newest_csv_at'], now)})")
    elif events:
        lines.append("newest CSV: none yet (`pv2simkl export` writes one)")
    push = info["push"]
    if push["enabled"] or push["last"] or push["in_flight"]:
        lines.append(_push_line(push, now))
    runs = info["runs"]
    if runs:
        lines.append("last runs:")
        width = max(len(humanise(r["started"], now)) for r in runs)
        for run in runs:
            kind = run["kind"] + (f" ({run['by']})" if run.get("by") == "daemon" else "")
            lines.append(f"  {humanise(run['started'], now):<{width}}  {kind:<{_KIND_WIDTH}} "
                         f"{run['status']:<8} {_run_details(run)}".rstrip())  # fmt: skip
    return lines


def _daemon_line(daemon: dict, now: datetime) -> str:
    if daemon["state"] == "running":
        line = f"daemon: running (pid {daemon['pid']})"
        if daemon["next_sync"]:
            line += f", next sync {humanise(daemon['next_sync'], now)}"
        return line
    if daemon["state"] == "killed":
        return (f"daemon: not running (pid {daemon['pid']} ended without stopping cleanly: "
                "killed or crashed; `pv2simkl service logs` may say why)")  # fmt: skip
    return "daemon: not running"


def _waiting_line(info: dict) -> str:
    parts = []
    if info["unexported"]:
        parts.append(f"{plural(info['unexported'], 'watch', 'watches')} not exported yet")
    if info["ids_pending"]:
        parts.append(f"{plural(info['ids_pending'], 'title')} to export again with ids found since")
    if not parts:
        return "waiting: nothing; every watch is in a CSV"
    return "waiting: " + ", ".join(parts) + " (`pv2simkl export` writes them)"


def _push_line(push: dict, now: datetime) -> str:
    last = push["last"]
    when = "never"
    if last:
        when = (f"{humanise(last['finished'] or last['started'], now)} ({last['added']} added, "
                f"{last['not_found']} not found)")  # fmt: skip
    auto = "each sync pushes" if push["enabled"] else "`pv2simkl push` sends them"
    waiting = plural(push["waiting"], "watch")
    line = f"simkl push: last {when}; {waiting} not pushed yet ({auto})"
    if push["not_found"]:
        line += f", {push['not_found']} not found at Simkl"
    if push["in_flight"]:
        line += f", {plural(push['in_flight'], 'request')} in flight"
    return line


def _run_details(run: dict) -> str:
    kind, parts = run["kind"], []
    if kind == "sync":
        if run["fetched"] is not None:
            parts.append(f"fetched {run['fetched']} new")
        if run["inbox_taken"] or run["inbox_failed"]:
            inbox = f"inbox {run['inbox_taken'] or 0} taken"
            parts.append(inbox + (f", {run['inbox_failed']} failed" if run["inbox_failed"] else ""))
        if run["new_watches"] is not None:
            parts.append(plural(run["new_watches"], "new watch"))
        if run["csvs"]:
            parts.append(plural(run["csvs"], "CSV"))
        if run["pushed"] is not None:
            parts.append(f"{run['pushed']} pushed")
    elif kind == "export":
        parts.append(f"{plural(run['csvs'] or 0, 'CSV')}, {plural(run['rows'] or 0, 'row')}")
    elif kind == "push":
        parts.append(f"{run['pushed'] or 0} added, {run['not_found'] or 0} not found")
    elif run["status"] != "failed":  # import, inbox, fetch
        parts.append(plural(run["new_watches"] or 0, "new watch"))
    text = ", ".join(parts)
    if run["errors"]:
        first = " ".join(run["errors"][0].split())
        first = first if len(first) <= 90 else first[:89] + "…"
        more = len(run["errors"]) - 1
        text += (" — " if text else "") + first + (f" (+{more} more)" if more else "")
    return f"{run['name']}: {text}" if run["name"] else text


@click.command(
    "status",
    epilog=examples("pv2simkl status", "pv2simkl status --json | jq .daemon.state"),
)
@click.option("--json", "as_json", is_flag=True,
              help="Print it as one JSON object (keys in the README's \"Status\").")  # fmt: skip
def status_cmd(as_json: bool) -> None:
    """The daemon, what the last runs did, what waits for export or push, unmatched titles,
    the newest CSV; times in local time."""
    from datetime import UTC

    from pv2simkl.config import Paths
    from pv2simkl.store import views

    with errors():
        settings = load()
        paths = Paths.from_settings(settings)
        now = datetime.now(UTC)
        info = views.status(
            db=paths.db, export_dir=paths.export_dir, inbox=paths.inbox,
            daemon_state=paths.daemon_state, push_enabled=settings.simkl.push, now=now,
        )  # fmt: skip
        if as_json:
            import json

            out(json.dumps(info, ensure_ascii=False, indent=2))
            return
        for line in status_lines(info, now):
            out(line)


# ---- history ------------------------------------------------------------------------------

HEADER = ("watched", "kind", "title", "S", "E", "episode", "source")
_CAP = 40  # cells of a title or episode title on a terminal


def cells(text: str) -> int:
    """Terminal cells ``text`` takes (East Asian wide characters two, combining marks none)."""
    if text.isascii():
        return len(text)
    width = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in "WF" else 1
    return width


def _cut(text: str, cap: int) -> str:
    if cells(text) <= cap:
        return text
    out_, used = [], 0
    for ch in text:
        w = cells(ch)
        if used + w > cap - 1:
            break
        out_.append(ch)
        used += w
    return "".join(out_) + "…"


def _pad(text: str, width: int) -> str:
    return text + " " * (width - cells(text))


def table_lines(rows_in: Iterable[tuple], *, cap: int | None = None) -> Iterator[str]:
    """Plain aligned columns of stored watches (:data:`pv2simkl.store.views.HISTORY_COLUMNS`
    tuples) in local time, a date alone when only the day is known, then a count line.
    Column widths come from the rows themselves."""
    rows = []
    for kind, title, season, episode, episode_title, watched_at, precision, source, *_ in rows_in:
        local = datetime.fromisoformat(watched_at.replace("Z", "+00:00")).astimezone()
        when = local.strftime("%Y-%m-%d" if precision == "day" else "%Y-%m-%d %H:%M")
        title, episode_title = title or "", episode_title or ""
        if cap:
            title, episode_title = _cut(title, cap), _cut(episode_title, cap)
        season = "" if season is None else str(season)
        episode = "" if episode is None else str(episode)
        rows.append((when, kind, title, season, episode, episode_title, source or ""))
    if not rows:
        return
    widths = [max(cells(h), *(cells(r[i]) for r in rows)) for i, h in enumerate(HEADER)]
    yield "  ".join(_pad(h, w) for h, w in zip(HEADER, widths, strict=True)).rstrip()
    for r in rows:
        yield "  ".join(_pad(c, w) for c, w in zip(r, widths, strict=True)).rstrip()
    yield plural(len(rows), "watch")


def _since(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    from pv2simkl.store import views

    try:
        views.since_bound(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date (2024-04-23) or an ISO 8601 instant "
            "(2024-04-23T21:00, 2024-04-23T19:00Z)"
        ) from None
    return value


@click.command(
    "history",
    epilog=examples(
        "pv2simkl history",
        "pv2simkl history --since 2024-01-01 --kind movie",
        "pv2simkl history --title 'the boys' --limit 20",
        "pv2simkl history --format jsonl > history.jsonl",
    ),
)
@click.option(
    "--since",
    metavar="DATE",
    callback=_since,
    help="Only watches from this date (local midnight) or ISO 8601 instant on.",
)
@click.option("--title", metavar="TEXT", help="Only titles that contain TEXT (any case).")
@click.option("--kind", type=click.Choice(["movie", "episode"]), help="Only movies or episodes.")
@click.option(
    "--limit",
    metavar="N",
    type=click.IntRange(min=0),
    help="Only the newest N watches (still printed oldest first).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "jsonl", "csv"]),
    default="table",
    show_default=True,
    help="table: aligned columns in local time; jsonl, csv: the stable form (UTC instants).",
)
@click.option("--no-pager", is_flag=True,
              help="On a terminal: print at once, not through $PAGER (less).")  # fmt: skip
def history_cmd(
    since: str | None, title: str | None, kind: str | None, limit: int | None, fmt: str,
    no_pager: bool,
) -> None:  # fmt: skip
    """Stored watches, oldest first (the filters combine). On a terminal, output longer
    than the screen goes through a pager; through a pipe it streams."""
    from pv2simkl.config import Paths
    from pv2simkl.store import views
    from pv2simkl.store.faults import describe

    with errors():
        paths = Paths.from_settings(load())
        bound = views.since_bound(since) if since else None
        conn = views.connect(paths.db)  # None: no store yet (nothing is created)
        try:
            rows = iter(()) if conn is None else views.history(
                conn, since=bound, title=title, kind=kind, limit=limit
            )  # fmt: skip
            _print_history(rows, fmt, since or title or kind or limit is not None, no_pager)
        except sqlite3.Error as exc:
            raise describe(exc, paths.db) from exc
        finally:
            if conn is not None:
                conn.close()


def _print_history(rows: Iterator[tuple], fmt: str, filtered: bool, no_pager: bool) -> None:
    from pv2simkl.store import views

    terminal = sys.stdout.isatty()
    if fmt == "jsonl":
        import json

        lines: Iterable[str] = (json.dumps(views.public(r), ensure_ascii=False) for r in rows)
    elif fmt == "csv":
        lines = _csv_lines(views.public(r) for r in rows)
    else:
        lines = _or_none(table_lines(rows, cap=_CAP if terminal else None), filtered)
    if terminal and not no_pager:
        _paged(lines)
    else:
        _write(lines)


def _or_none(lines: Iterator[str], filtered: bool) -> Iterator[str]:
    """The table, or a sentence when it has no row."""
    empty = True
    for line in lines:
        empty = False
        yield line
    if empty:
        yield (
            "No stored watch matches these filters."
            if filtered
            else "No watches stored yet: run `pv2simkl import FILE` (or `pv2simkl fetch`)."
        )


def _csv_lines(rows: Iterable[dict]) -> Iterator[str]:
    import csv
    import io

    buffer = io.StringIO()
    writer = None
    for row in rows:
        if writer is None:
            writer = csv.DictWriter(buffer, fieldnames=list(row), lineterminator="\n")
            writer.writeheader()
        writer.writerow(row)
        yield buffer.getvalue().removesuffix("\n")
        buffer.seek(0)
        buffer.truncate()


def _write(lines: Iterable[str], chunk: int = 512) -> None:
    """Stream lines to stdout, a few hundred at a time (a closed pipe raises
    BrokenPipeError, which ends the run quietly with exit 141)."""
    write, batch = sys.stdout.write, []
    for line in lines:
        batch.append(line)
        if len(batch) >= chunk:
            write("\n".join(batch) + "\n")
            batch.clear()
    if batch:
        write("\n".join(batch) + "\n")
    sys.stdout.flush()


def _paged(lines: Iterable[str]) -> None:
    """Through the pager when the output is longer than the terminal, else at once."""
    height = shutil.get_terminal_size().lines
    head: list[str] = []
    it = iter(lines)
    for line in it:
        head.append(line)
        if len(head) >= height:
            break
    else:
        _write(head)
        return
    import itertools

    def text() -> Iterator[str]:  # click adds the last line's newline itself
        lines = itertools.chain(head, it)
        previous = next(lines)
        for line in lines:
            yield previous + "\n"
            previous = line
        yield previous

    click.echo_via_pager(text())


COMMANDS = [status_cmd, history_cmd]
