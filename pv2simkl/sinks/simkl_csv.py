"""Simkl CSV export: one row per work (per MAL entry for an anime), delta files, atomic writes.

A delta holds the works that have events not yet exported, and the works whose ids
changed since their last export (``works.ids_pending``: written again, once, with them);
each row is computed from all of the work's events (a show's ``LastEpWatched`` is the
highest episode ever watched; ``completed`` once an ended show's last aired episode was
watched). An anime whose seasons map to MAL/Simkl entries gives one row per entry watched,
numbered inside the entry (:func:`rows_for`), so parts are split by rows.

Order of work: claim the events in a batch (one transaction), compute the rows, write
every part under a temporary name (``.simkl-….csv.tmp``) and fsync it, then rename all
parts to their final names, then mark the batch done. A final-named part is therefore
always whole and is never deleted or rewritten (an uploader may already have sent it):
:func:`recover` finishes a batch whose renaming had begun (every part was whole by then)
and rolls back one that had not (only temporary files are removed, the events are
released), so nothing is lost or written twice. One export of a store runs at a time
(a lock file beside the store), so a second process never recovers a batch still being
written. The files are created with ``[export] file_mode`` (0600: only the user).
"""

from __future__ import annotations

import contextlib
import csv
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pv2simkl.config import ExportSettings, Paths, Settings
from pv2simkl.errors import ExportError
from pv2simkl.models import parse_iso_utc
from pv2simkl.sinks import Delivery
from pv2simkl.store import Store, locks
from pv2simkl.words import plural

log = logging.getLogger(__name__)

HEADER = [
    "simkl_id",
    "TVDB_ID",
    "TMDB",
    "IMDB_ID",
    "MAL_ID",
    "Type",
    "Title",
    "Year",
    "LastEpWatched",
    "Watchlist",
    "WatchedDate",
    "Rating",
    "Memo",
]
PREFIX = "simkl-"
# Simkl's own sample file writes the watchlist status this way (its API token is plantowatch).
PLAN_TO_WATCH = "plan to watch"
# Watch dates Simkl is given: the range the importers accept. A date outside it that is
# already stored (0001-01-01, 9999-12-31) never reaches a CSV, and never stops an export.
FIRST_YEAR, LAST_YEAR = 1990, 2100
LOCK_WAIT = 300.0  # seconds an export waits for another export of the same store


@dataclass
class ExportResult:
    """What one export wrote."""

    files: list[Path] = field(default_factory=list)
    rows: int = 0
    batch: int | None = None
    pruned: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _zone(name: str) -> tzinfo | None:
    """``[export] timezone`` (checked when the settings were made): None for the local one."""
    return None if name in {"", "local"} else ZoneInfo(name)


def _watched_date(at: str, precision: str, zone: tzinfo | None) -> date | None:
    """The calendar date Simkl is given for a watch; None for an instant that cannot be
    read or lies outside FIRST_YEAR..LAST_YEAR (converting 0001-01-01 to a zone west of
    UTC, or 9999-12-31 to one east of it, would overflow)."""
    try:
        instant = parse_iso_utc(at)
        if not FIRST_YEAR <= instant.year <= LAST_YEAR:
            return None
        if precision == "day":
            return instant.date()  # already the local calendar date the page showed
        return instant.astimezone(zone).date() if zone else instant.astimezone().date()
    except (ValueError, OverflowError, OSError):
        return None


def _date_of(events: list[tuple], preferred: tuple, zone: tzinfo | None) -> date | None:
    """The date of the ``preferred`` event, or else of the latest event whose date is in
    range; None when no event has one."""
    for _, _, at, precision in [preferred, *sorted(events, key=lambda e: e[2], reverse=True)]:
        day = _watched_date(at, precision, zone)
        if day is not None:
            return day
    return None


def format_date(day: date, style: str) -> str:
    """Simkl's sample writes ``8/21/2015`` (M/D/YYYY, unpadded); ``iso`` gives 2015-08-21."""
    if style == "iso":
        return day.isoformat()
    return f"{day.month}/{day.day}/{day.year}"


Event = tuple[int | None, int | None, str, str]  # season, episode, watched_at, precision
_NO_IDS = {"simkl": None, "tvdb": None, "tmdb": None, "imdb": None, "mal": None}
# Simkl's own example file types an anime ``tv`` and names it by its MAL_ID (README: "Anime").
SHOW_TYPE = "tv"


def rows_for(
    work: dict[str, Any], settings: ExportSettings, zone: tzinfo | None
) -> list[list[str]]:
    """The Simkl rows of one work: one row, or for an anime with known MAL/Simkl entries
    one row per entry watched (and a ``tv`` row for the seasons no entry holds)."""
    events = work["events"]
    if not events:  # only on the watchlist
        kind = "movie" if work["kind"] == "movie" else SHOW_TYPE
        return [_row(work, kind, work["title"], work["year"], "", PLAN_TO_WATCH, None, settings)]
    if work["kind"] == "movie":
        chosen = max(events, key=lambda e: e[2])
        day = _date_of(events, chosen, zone)
        return [_row(work, "movie", work["title"], work["year"], "", "completed", day, settings)]
    return _anime_rows(work, settings, zone) or [_show_row(work, events, work, settings, zone)]


def row_for(work: dict[str, Any], settings: ExportSettings, zone: tzinfo | None) -> list[str]:
    """The first (for all but an anime with entries, the only) row of one work."""
    return rows_for(work, settings, zone)[0]


def _row(
    ids: dict[str, Any], kind: str, title: str, year: Any, last_ep: str, status: str,
    day: date | None, settings: ExportSettings,
) -> list[str]:  # fmt: skip
    """The 13 Simkl columns, in the header's order."""
    return [
        _cell(ids["simkl"]), _cell(ids["tvdb"]), _cell(ids["tmdb"]), _cell(ids["imdb"]),
        _cell(ids["mal"]), kind, title, _cell(year), last_ep, status,
        format_date(day, settings.date_format) if day else "", "", "",
    ]  # fmt: skip


def _numbered(events: list[Event]) -> list[Event]:
    return [e for e in events if e[0] is not None and e[1] is not None]


def _show_row(
    work: dict[str, Any], events: list[Event], ids: dict[str, Any], settings: ExportSettings,
    zone: tzinfo | None,
) -> list[str]:  # fmt: skip
    """A ``tv`` row: ``LastEpWatched`` is the highest (season, episode) of ``events`` as
    ``sNeM``; the date is that episode's (or the latest watch's when none is numbered)."""
    numbered = _numbered(events)
    last_ep, highest = "", None
    if numbered:
        chosen = max(numbered, key=lambda e: (e[0], e[1], e[2]))
        highest = (chosen[0], chosen[1])
        last_ep = f"s{chosen[0]}e{chosen[1]}"
    else:
        chosen = max(events, key=lambda e: e[2])
    status = show_status(work, highest)
    day = _date_of(events, chosen, zone)
    return _row(ids, SHOW_TYPE, work["title"], work["year"], last_ep, status, day, settings)


def show_status(work: dict[str, Any], highest: tuple[int, int] | None) -> str:
    """``completed`` when the provider says the show has ended and its last aired episode
    (season, episode) was watched (``highest`` reaches it); ``watching`` otherwise, also
    when the last aired episode is not known."""
    aired = (work.get("last_aired_season"), work.get("last_aired_episode"))
    ended = (work.get("show_status") or "").lower() == "ended"
    if not ended or highest is None or None in aired:
        return "watching"
    return "completed" if highest >= aired else "watching"


def _entry_key(entry: dict[str, Any]) -> tuple[str, int]:
    """One MAL/Simkl entry, whichever of its seasons' rows names it."""
    return ("mal", entry["mal"]) if entry["mal"] else ("simkl", entry["simkl"])


def _anime_rows(
    work: dict[str, Any], settings: ExportSettings, zone: tzinfo | None
) -> list[list[str]] | None:
    """An anime as Simkl counts it: each watched season's episodes go to the entry that
    holds the season (one row per entry, numbered inside it); numbered episodes of seasons
    no entry holds stay one ``tv`` row with ``sNeM``. None when no entry holds a watch:
    the work is then an ordinary ``tv`` row."""
    entries = {s: e for s, e in (work.get("anime") or {}).items() if e["mal"] or e["simkl"]}
    numbered = _numbered(work["events"])
    held = [e for e in numbered if e[0] in entries]
    if not held:
        return None
    groups: dict[tuple[str, int], list[Event]] = {}
    for event in held:
        groups.setdefault(_entry_key(entries[event[0]]), []).append(event)
    first_season = min(entries)
    rows = [
        _entry_row(work, entries, group, first_season, settings, zone)
        for group in sorted(groups.values(), key=lambda g: min(e[0] for e in g))
    ]
    rest = [e for e in numbered if e[0] not in entries]
    if rest:
        # The work's Simkl and MAL ids name one entry, never the whole series: not here.
        series = {**work, "simkl": None, "mal": None}
        rows.append(_show_row(work, rest, series, settings, zone))
    return rows


def _entry_row(
    work: dict[str, Any], entries: dict[int, dict[str, Any]], events: list[Event],
    first_season: int, settings: ExportSettings, zone: tzinfo | None,
) -> list[str]:  # fmt: skip
    """One entry's row: its own ids and name, ``LastEpWatched`` the highest episode
    inside the entry (offset + episode: absolute across the Amazon seasons it spans),
    written ``s1eN`` as Simkl's example writes an anime typed ``tv``; ``completed`` once
    the entry's last episode was watched."""
    seasons = sorted({e[0] for e in events})
    entry = entries[seasons[0]]

    def number(e: Event) -> int:
        return (entries[e[0]]["offset"] or 0) + e[1]

    chosen = max(events, key=lambda e: (number(e), e[2]))
    last = number(chosen)
    counts = [entries[s]["episodes"] for s in seasons if entries[s]["episodes"]]
    status = "completed" if counts and last >= max(counts) else "watching"
    simkl = entry["simkl"]
    if simkl is None and entry["mal"] and entry["mal"] == work["mal"]:
        simkl = work["simkl"]  # the work's Simkl id names this very entry
    ids = {**_NO_IDS, "simkl": simkl, "mal": entry["mal"]}
    holds_first = _entry_key(entries[first_season]) == _entry_key(entry)
    year = work["year"] if holds_first else None  # a later entry's year is its own
    day = _date_of(events, chosen, zone)
    # The entry holding the first season is the work as the person knows it: its own
    # title (a service's romanised original would be news to them); a sequel entry is
    # named as the service names it ("… Season 2"), which is what sets it apart.
    title = work["title"] if holds_first else entry["title"] or work["title"]
    return _row(ids, SHOW_TYPE, title, year, f"s1e{last}", status, day, settings)


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def file_mode(settings: ExportSettings) -> int:
    """``[export] file_mode`` ("0600") as permission bits; a bad value fails before any write."""
    return settings.mode_bits()


def _tmp(path: Path) -> Path:
    """The temporary name a part is written under: hidden, never matched by ``simkl-*``."""
    return path.with_name(f".{path.name}.tmp")


def _candidates(export_dir: Path, parts: int, now: datetime) -> Iterator[list[str]]:
    stamp = now.strftime("%Y%m%d-%H%M%S")
    for attempt in range(1000):
        base = f"{PREFIX}{stamp}" + (f"-{attempt}" if attempt else "")
        names = [f"{base}.csv"] + [f"{base}-part{i}.csv" for i in range(2, parts + 1)]
        paths = [export_dir / n for n in names]
        if not any(p.exists() or _tmp(p).exists() for p in paths):
            yield names
    raise ExportError(f"{export_dir} already holds a thousand exports from this second.")


def _reserve(
    store: Store, batch: int, export_dir: Path, parts: int, rows: int, now: datetime, mode: int
) -> list[str]:
    """Names for the parts, recorded in the batch first, then each temporary file created
    (exclusively, with ``mode``): a crash leaves only temporary files the batch names, and
    a folder shared with another store's exports never has a file taken over."""
    for names in _candidates(export_dir, parts, now):
        store.set_batch_files(batch, names, rows)
        created: list[Path] = []
        try:
            for name in names:
                tmp = _tmp(export_dir / name)
                os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode))
                created.append(tmp)
            return names
        except FileExistsError:
            for tmp in created:
                tmp.unlink(missing_ok=True)
    raise AssertionError("unreachable: _candidates raises when it runs out")


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write(tmp: Path, rows: Iterator[list[str]], mode: int) -> int:
    """Stream the rows into the reserved temporary file, with ``mode``, and fsync it."""
    count = 0
    fd = os.open(tmp, os.O_WRONLY | os.O_TRUNC)
    os.fchmod(fd, mode)  # exactly the configured mode, whatever the umask
    with open(fd, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(HEADER)
        for row in rows:
            writer.writerow(row)
            count += 1
        fh.flush()
        os.fsync(fh.fileno())
    return count


def _publish(folder: Path, names: list[str]) -> list[str]:
    """Rename every part still under its temporary name; the names that have neither."""
    missing = []
    for name in names:
        final = folder / name
        if final.exists():
            continue
        if _tmp(final).exists():
            os.replace(_tmp(final), final)
        else:
            missing.append(name)
    _fsync_dir(folder)
    return missing


def _export_lock(store: Store, wait: float = LOCK_WAIT) -> contextlib.AbstractContextManager[None]:
    """One export (or recovery) of a store at a time, across processes."""
    return locks.held(store.path, "export", wait=wait, busy=ExportError)


def recover(store: Store) -> list[str]:
    """Finish or roll back batches a crash left in the middle. Returns what was done."""
    with _export_lock(store):
        return _recover(store)


def _recover(store: Store) -> list[str]:
    """A batch whose renaming had begun (some part has its final name) had every part
    whole: it is finished by renaming the rest. One whose renaming had not begun is
    rolled back: its temporary files are removed and its events released. A final-named
    file is never removed: an uploader may have sent it already."""
    done = []
    for batch in store.unfinished_batches():
        folder = Path(batch["export_dir"])
        names = batch["files"]
        if any((folder / name).exists() for name in names):
            done.append(_roll_forward(store, batch["id"], folder, names))
            continue
        for name in names:
            _tmp(folder / name).unlink(missing_ok=True)
        store.rollback_batch(batch["id"])
        done.append(f"export batch {batch['id']} rolled back; its events will be exported again")
    for line in done:
        log.info(line)
    return done


def _roll_forward(store: Store, batch: int, folder: Path, names: list[str]) -> str:
    try:
        missing = _publish(folder, names)
    except OSError as exc:
        return f"export batch {batch} could not be finished yet ({exc.strerror or exc})"
    if missing:
        # Removed by hand: its rows are lost unless the batch is exported again. The parts
        # that are there stay (they may have been uploaded); their rows come again too.
        store.rollback_batch(batch)
        line = (f"export batch {batch}: {', '.join(missing)} disappeared before it was done; "
                "the batch will be exported again")  # fmt: skip
        log.warning(line)
        return line
    store.finish_batch(batch)
    return f"export batch {batch} finished ({plural(len(names), 'file')} written)"


def export(
    store: Store,
    export_dir: Path,
    settings: ExportSettings,
    *,
    all_history: bool = False,
    now: datetime | None = None,
) -> ExportResult:
    """Write a delta (or, with ``all_history``, the whole history) as Simkl CSVs."""
    zone = _zone(settings.timezone)
    mode = file_mode(settings)
    try:
        export_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(
            f"The export folder {export_dir} cannot be created ({exc.strerror})."
        ) from None
    if not os.access(export_dir, os.W_OK):
        raise ExportError(
            f"The export folder {export_dir} is not writable; fix its permissions or use --out."
        )
    with _export_lock(store):
        _recover(store)
        return _export(store, export_dir, settings, all_history, now or datetime.now(), zone, mode)


def deliver(settings: Settings, paths: Paths, store: Store) -> Delivery:
    """A sync cycle's delta CSV into the export folder (the sink of :data:`SINKS`)."""
    written = export(store, paths.export_dir, settings.export)
    return Delivery(files=[str(p) for p in written.files])


def _export(
    store: Store, export_dir: Path, settings: ExportSettings, all_history: bool, now: datetime,
    zone: tzinfo | None, mode: int,
) -> ExportResult:  # fmt: skip
    result = ExportResult()
    # Claim first, then read: events stored meanwhile wait for the next delta.
    batch = store.begin_batch(export_dir=str(export_dir), files=[], all_history=all_history)
    work_ids = store.all_work_ids() if all_history else store.work_ids_in_batch(batch)
    if not work_ids:
        store.rollback_batch(batch)
        return result
    undated: list[tuple[str, str]] = []
    try:
        rows = _rows(store.export_facts(work_ids), settings, zone, undated)
        size = settings.max_rows
        parts = (len(rows) + size - 1) // size
        names = _reserve(store, batch, export_dir, parts, len(rows), now, mode)
        for i, name in enumerate(names):
            chunk = iter(rows[i * size : (i + 1) * size])
            result.rows += _write(_tmp(export_dir / name), chunk, mode)
        _fsync_dir(export_dir)
    except ExportError:
        _recover(store)
        raise
    except OSError as exc:
        _recover(store)  # nothing has its final name yet: temporary files go, events return
        raise ExportError(
            f"Writing {export_dir} failed ({exc.strerror or exc}); nothing was marked exported."
        ) from None
    try:
        _publish(export_dir, names)
    except OSError as exc:
        raise ExportError(
            f"The CSV files in {export_dir} were written but not all renamed "
            f"({exc.strerror or exc}); the next export finishes them."
        ) from None
    store.finish_batch(batch)
    result.files = [export_dir / name for name in names]
    result.batch = batch
    result.warnings = _undated_warning(undated)
    result.pruned = prune(export_dir, settings.keep_files, keep=set(names))
    return result


def _rows(
    facts: Iterator[dict[str, Any]], settings: ExportSettings, zone: tzinfo | None,
    undated: list[tuple[str, str]],
) -> list[list[str]]:  # fmt: skip
    """Every row of the batch (an anime may give several per work), counted before the
    parts are named; each watch whose date is out of range is noted in ``undated``."""
    rows: list[list[str]] = []
    for work in facts:
        undated += [(work["title"], e[2][:10]) for e in work["events"]
                    if _watched_date(e[2], e[3], zone) is None]  # fmt: skip
        rows += rows_for(work, settings, zone)
    return rows


def _undated_warning(undated: list[tuple[str, str]]) -> list[str]:
    if not undated:
        return []
    title, day = undated[0]
    are = "is" if len(undated) == 1 else "are"
    line = (
        f"{plural(len(undated), 'watch')} {are} dated outside {FIRST_YEAR}–{LAST_YEAR} "
        f"(e.g. {day} for {title!r}); their rows carry the latest date in range, or none."
    )
    log.warning(line)
    return [line]


_PART = re.compile(r"-part(\d+)\.csv$")


def _age(path: Path) -> tuple[str, int]:
    """Sort key: the export's stamp, then the part (``x.csv`` is part 1, before ``x-part2``)."""
    match = _PART.search(path.name)
    if match:
        return path.name[: match.start()], int(match.group(1))
    return path.name.removesuffix(".csv"), 1


def prune(export_dir: Path, keep_files: int, keep: set[str]) -> list[Path]:
    """Delete all but the newest ``keep_files`` delta files (0 keeps everything)."""
    if keep_files <= 0:
        return []
    files = sorted((p for p in export_dir.glob(f"{PREFIX}*.csv") if p.is_file()), key=_age)
    old = [p for p in files[: max(0, len(files) - keep_files)] if p.name not in keep]
    for path in old:
        path.unlink(missing_ok=True)
    return old
