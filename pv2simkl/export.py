"""Simkl CSV export: one row per work, delta files, atomic writes, rotation.

A delta holds the works that have events not yet exported; each row is computed from
all of the work's events (a show's ``LastEpWatched`` is the highest episode ever
watched). Order of work: claim the events in a batch (one transaction), stream the
rows to temp files, fsync, rename, then mark the batch done. A batch a crash left
half-done is finished (every file renamed) or rolled back (files removed, events
released) by :func:`recover` on the next run, so nothing is lost or written twice.
"""

from __future__ import annotations

import csv
import logging
import os
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


@dataclass
class ExportResult:
    """What one export wrote."""

    files: list[Path] = field(default_factory=list)
    rows: int = 0
    batch: int | None = None
    pruned: list[Path] = field(default_factory=list)


def _zone(name: str) -> tzinfo | None:
    if name in {"", "local"}:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"[export] timezone {name!r} is not a time zone name such as Europe/Berlin or 'local'."
        ) from None


def _watched_date(at: str, precision: str, zone: tzinfo | None) -> date:
    instant = parse_iso_utc(at)
    if precision == "day":
        return instant.date()  # already the local calendar date the page showed
    return instant.astimezone(zone).date() if zone else instant.astimezone().date()


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
        at, precision = max((e[2], e[3]) for e in events)
    else:
        kind = _show_type(work)
        numbered = [e for e in events if e[0] is not None and e[1] is not None]
        if numbered:
            season, episode, at, precision = max(numbered, key=lambda e: (e[0], e[1], e[2]))
            last_ep = str(episode) if kind == "anime" else f"s{season}e{episode}"
        else:
            _, _, at, precision = max(events, key=lambda e: e[2])
        status = "completed" if work["show_status"] == "completed" else "watching"
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
        format_date(_watched_date(at, precision, zone), settings.date_format),
        "",
        "",
    ]


def _show_type(work: dict[str, Any]) -> str:
    return work["media_type"] if work["media_type"] in {"tv", "anime"} else "tv"


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def _names(export_dir: Path, parts: int, now: datetime) -> list[str]:
    stamp = now.strftime("%Y%m%d-%H%M%S")
    for attempt in range(1000):
        base = f"{PREFIX}{stamp}" + (f"-{attempt}" if attempt else "")
        names = [f"{base}.csv"] + [f"{base}-part{i}.csv" for i in range(2, parts + 1)]
        if not any((export_dir / n).exists() for n in names):
            return names
    raise ExportError(f"{export_dir} already holds a thousand exports from this second.")


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


def _write(path: Path, rows: Iterator[list[str]]) -> int:
    tmp = path.with_name(f".{path.name}.tmp")
    count = 0
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(HEADER)
        for row in rows:
            writer.writerow(row)
            count += 1
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return count


def recover(store: Store) -> list[str]:
    """Finish or roll back batches a crash left in the middle. Returns what was done."""
    done = []
    for batch in store.unfinished_batches():
        folder = Path(batch["export_dir"])
        files = [folder / name for name in batch["files"]]
        for name in batch["files"]:
            (folder / f".{name}.tmp").unlink(missing_ok=True)
        if files and all(f.exists() for f in files):
            store.finish_batch(batch["id"])
            done.append(f"export batch {batch['id']} finished ({len(files)} file(s) were written)")
        else:
            for f in files:
                f.unlink(missing_ok=True)
            store.rollback_batch(batch["id"])
            done.append(
                f"export batch {batch['id']} rolled back; its events will be exported again"
            )
    for line in done:
        log.info(line)
    return done


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
    recover(store)
    result = ExportResult()
    now = now or datetime.now()
    # Claim first, then read: events stored meanwhile wait for the next delta.
    batch = store.begin_batch(export_dir=str(export_dir), files=[], all_history=all_history)
    work_ids = store.all_work_ids() if all_history else store.work_ids_in_batch(batch)
    if not work_ids:
        store.rollback_batch(batch)
        return result
    parts = (len(work_ids) + settings.max_rows - 1) // settings.max_rows
    names = _names(export_dir, parts, now)
    store.set_batch_files(batch, names, len(work_ids))
    facts = store.export_facts(work_ids)
    try:
        for i, name in enumerate(names):
            chunk = (
                row_for(next(facts), settings, zone)
                for _ in range(min(settings.max_rows, len(work_ids) - i * settings.max_rows))
            )
            result.rows += _write(export_dir / name, chunk)
            result.files.append(export_dir / name)
        _fsync_dir(export_dir)
    except OSError as exc:
        recover(store)
        raise ExportError(
            f"Writing {export_dir} failed ({exc.strerror or exc}); nothing was marked exported."
        ) from None
    store.finish_batch(batch)
    result.batch = batch
    result.pruned = prune(export_dir, settings.keep_files, keep=set(names))
    return result


def prune(export_dir: Path, keep_files: int, keep: set[str]) -> list[Path]:
    """Delete all but the newest ``keep_files`` delta files (0 keeps everything)."""
    if keep_files <= 0:
        return []
    files = sorted(p for p in export_dir.glob(f"{PREFIX}*.csv") if p.is_file())
    old = [p for p in files[: max(0, len(files) - keep_files)] if p.name not in keep]
    for path in old:
        path.unlink(missing_ok=True)
    return old
