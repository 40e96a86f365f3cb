"""Simkl CSV export: one row per work, delta files, atomic writes, rotation.

A delta holds the works that have events not yet exported; each row is computed from
all of the work's events (a show's ``LastEpWatched`` is the highest episode ever
watched). Order of work: claim the events in a batch (one transaction), stream the rows
of every part to a temporary name (``.simkl-….csv.tmp``) and fsync it, then rename all
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
import fcntl
import logging
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pv2simkl.config import ExportSettings
from pv2simkl.errors import ConfigError, ExportError
from pv2simkl.models import parse_iso_utc
from pv2simkl.store import Store

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
    if name in {"", "local"}:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"[export] timezone {name!r} is not a time zone name such as Europe/Berlin or 'local'."
        ) from None


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
    if style == "mdy":
        return f"{day.month}/{day.day}/{day.year}"
    raise ConfigError(f"[export] date_format {style!r} must be 'mdy' or 'iso'.")


def row_for(work: dict[str, Any], settings: ExportSettings, zone: tzinfo | None) -> list[str]:
    """The 13 Simkl columns of one work."""
    events = work["events"]
    last_ep = ""
    if not events:  # only on the watchlist
        kind = "movie" if work["kind"] == "movie" else _show_type(work)
        return [_cell(work["simkl"]), _cell(work["tvdb"]), _cell(work["tmdb"]),
                _cell(work["imdb"]), _cell(work["mal"]), kind, work["title"],
                _cell(work["year"]), "", PLAN_TO_WATCH, "", "", ""]  # fmt: skip
    if work["kind"] == "movie":
        kind = "movie"
        status = "completed"
        chosen = max(events, key=lambda e: e[2])
    else:
        kind = _show_type(work)
        numbered = [e for e in events if e[0] is not None and e[1] is not None]
        if numbered:
            chosen = max(numbered, key=lambda e: (e[0], e[1], e[2]))
            season, episode = chosen[0], chosen[1]
            last_ep = str(episode) if kind == "anime" else f"s{season}e{episode}"
        else:
            chosen = max(events, key=lambda e: e[2])
        status = "completed" if work["show_status"] == "completed" else "watching"
    day = _date_of(events, chosen, zone)
    return [
        _cell(work["simkl"]),
        _cell(work["tvdb"]),
        _cell(work["tmdb"]),
        _cell(work["imdb"]),
        _cell(work["mal"]),
        kind,
        work["title"],
        _cell(work["year"]),
        last_ep,
        status,
        format_date(day, settings.date_format) if day else "",
        "",
        "",
    ]


def _show_type(work: dict[str, Any]) -> str:
    return work["media_type"] if work["media_type"] in {"tv", "anime"} else "tv"


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


@contextlib.contextmanager
def _export_lock(store: Store, wait: float = LOCK_WAIT) -> Iterator[None]:
    """One export (or recovery) of a store at a time, across processes: an ``flock`` on a
    file beside the store, released by the kernel if the holder dies."""
    db = Path(store.path)
    path = db.with_name(f".{db.name}.export.lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise ExportError(
                        f"Another export of {db} has been running for {wait:.0f} s; "
                        "try again when it is done."
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


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
    return f"export batch {batch} finished ({len(names)} file(s) were written)"


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
    format_date(date(2000, 1, 1), settings.date_format)  # a bad format fails before any write
    mode = file_mode(settings)
    if settings.max_rows < 1:
        raise ConfigError("[export] max_rows must be at least 1.")
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
    parts = (len(work_ids) + settings.max_rows - 1) // settings.max_rows
    undated: list[tuple[str, str]] = []
    try:
        names = _reserve(store, batch, export_dir, parts, len(work_ids), now, mode)
        facts = store.export_facts(work_ids)
        for i, name in enumerate(names):
            count = min(settings.max_rows, len(work_ids) - i * settings.max_rows)
            rows = _rows(facts, count, settings, zone, undated)
            result.rows += _write(_tmp(export_dir / name), rows, mode)
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
    facts: Iterator[dict[str, Any]], count: int, settings: ExportSettings,
    zone: tzinfo | None, undated: list[tuple[str, str]],
) -> Iterator[list[str]]:  # fmt: skip
    """The next ``count`` rows; each watch whose date is out of range is noted in ``undated``."""
    for _ in range(count):
        work = next(facts)
        undated += [(work["title"], e[2][:10]) for e in work["events"]
                    if _watched_date(e[2], e[3], zone) is None]  # fmt: skip
        yield row_for(work, settings, zone)


def _undated_warning(undated: list[tuple[str, str]]) -> list[str]:
    if not undated:
        return []
    title, day = undated[0]
    line = (
        f"{len(undated)} watch(es) are dated outside {FIRST_YEAR}–{LAST_YEAR} (e.g. {day} for "
        f"{title!r}); their rows carry the latest date in range, or none."
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
