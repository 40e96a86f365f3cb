"""Amazon's "Request your data" export: layouts A (legacy), B (interim) and C (current).

The layout is told by the header, never by the file name, and columns are read by name.
No file carries a gti or an episode number: an episode is told by its joined title,
``Episode title-Show - Season N``. Each playback is one watch: the hour rows of one
playback (layout A) are merged, and promos, trailers, bonus shorts, deleted rows and
sub-minute views are skipped.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

from pv2simkl import titles
from pv2simkl.errors import ParseError
from pv2simkl.formats import events
from pv2simkl.formats.events import Flattened, RowRefused, Seen
from pv2simkl.formats.export_titles import ExportTitles
from pv2simkl.models import Precision, WatchEvent, WatchlistItem

NAME = "data export"

H_HOUR = "Playback Hour"
H_START = "Playback Start Datetime (UTC)"
H_TITLE = "Title"
H_SECONDS = "Seconds Viewed"
H_MATERIAL = "Material Type Description"
H_AUTOPLAY = "Is Autoplay"
H_DELETED = "Is Deleted"
H_VIDEO_TYPE = "Video Type"
H_ENTITLEMENT = "Entitlement Type"
LIVE_PREFIX = "Coverage: "

# The watchlist files of the legacy export: `Digital.PrimeVideo.Watchlist.csv` (the list
# now) and `…WatchlistHistory.csv` (every add and delete, with `listId`, `deleted` 0/1).
W_ADDED = "itemAddedDate"
W_TITLE = "catalogTitle"
W_DELETED = "deleted"
# `Digital.PrimeVideo.ViewCounts.2.csv`: a summary ("# titles watched"), not watches.
VIEW_COUNTS_COLUMN = "# titles watched"

# Files of layout C that hold no watches of their own (they are read and ignored).
C_COMPANION_HEADERS = (
    {"Title Name", "Most Recent Watch Date"},  # Watch Events.csv: latest watch only, no episode
    {"Search Query"},
    {"Search Datetime (UTC)"},
)
C_COMPANION_NAMES = (
    "watch events.csv",
    "search history.csv",
    "promotional trailers viewed.csv",
    "purchases and rentals.csv",
    "digital.primevideo.viewcounts.2.csv",  # legacy export: a summary of counts
)

PLACEHOLDERS = {"not available", "not applicable", "n/a", ""}
MIN_SECONDS = 120.0  # a view shorter than this is an autoplay, a preview or a mistake


def _decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(
            f"is not UTF-8 text (bad byte at offset {exc.start}); "
            "use the CSV exactly as Amazon sent it",
            path=name,
        ) from None


def _unquote(value: str) -> str:
    """Layouts B and C wrap strings in an extra layer of quotes (``"Red One"``)."""
    value = value.strip()
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        value = value[1:-1]
    return value


def header_of(data: bytes) -> list[str] | None:
    """The CSV header of ``data``, or None when it is not a CSV this module knows."""
    try:
        first = data[:8192].decode("utf-8-sig", errors="replace").splitlines()[0]
    except IndexError:
        return None
    row = next(csv.reader([first]), [])
    return [_unquote(c) for c in row]


def layout_of(header: list[str] | None) -> str | None:
    """``a``, ``b``, ``c``, ``watchlist``, ``c-companion`` (known, no watches) or None."""
    if not header:
        return None
    names = set(header)
    if {W_ADDED, W_TITLE} <= names:
        return "watchlist"
    if VIEW_COUNTS_COLUMN in names:
        return "c-companion"
    if H_HOUR in names and H_TITLE in names:
        return "a"
    if H_START in names and H_TITLE in names:
        return "c" if (H_MATERIAL in names or H_DELETED in names or H_AUTOPLAY in names) else "b"
    if any(group <= names for group in C_COMPANION_HEADERS):
        return "c-companion"
    return None


def sniff(head: bytes) -> bool:
    return layout_of(header_of(head)) is not None


def _time(value: str, row: int, name: str, column: str, out: Flattened) -> datetime | None:
    """A row's UTC instant, or None (the row is recorded as unreadable)."""
    text = _unquote(value)
    try:
        if "/" in text:
            stamp = datetime.strptime(text, "%m/%d/%Y %H:%M:%S")
        else:
            stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=UTC)
        return stamp.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: year 1 or 9999 moved to UTC
        shown = events.excerpt(text)
        out.skip("time", f"{column} values like {shown} are not a date and time", f"row {row}")
        return None


def _seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(_unquote(value))
    except ValueError:
        return None


def _rows(text: str, name: str, layout: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    # Layout A quotes nothing: a title that begins with a quote is text, not a quoted field.
    quoting = csv.QUOTE_NONE if layout == "a" else csv.QUOTE_MINIMAL
    reader = csv.reader(io.StringIO(text, newline=""), quoting=quoting)
    try:
        header = [_unquote(c) for c in next(reader)]
    except StopIteration:
        return [], []
    except csv.Error as exc:
        raise ParseError(f"is not a readable CSV ({exc})", path=name) from None
    title_last = header and header[-1] == H_TITLE
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        for row in reader:
            if not row or all(not c.strip() for c in row):
                continue
            if len(row) > len(header) and title_last and layout == "a":
                # Layout A leaves commas in the last column (Title) unquoted.
                row = row[: len(header) - 1] + [",".join(row[len(header) - 1 :])]
            if len(row) < len(header):
                raise ParseError(
                    f"has {len(row)} fields where the header has {len(header)}; "
                    "the file looks truncated",
                    path=name,
                    where=f"row {reader.line_num}",
                )
            rows.append((reader.line_num, dict(zip(header, row, strict=False))))
    except csv.Error as exc:
        raise ParseError(
            f"is not a readable CSV ({exc})", path=name, where=f"line {reader.line_num}"
        ) from None
    return header, rows


def _event(
    raw: str, titles_of_file: ExportTitles, at: Seen, ref: str, *, by_columns: bool
) -> WatchEvent | None:
    reading = titles_of_file.episode(raw)
    # Where the columns classify rows (layouts A and C), they alone decide what is a
    # trailer: the real export labels "Official Trailer-…" rows Feature.
    extras = not by_columns
    if reading is None:
        return events.movie(raw, at, ref=ref, extras_by_title=extras)
    return events.episode(
        reading.show, reading.season, at, title=reading.episode_title, ref=ref, raw=raw,
        extras_by_title=extras,
    )  # fmt: skip


def _not_a_watch_c(row: dict[str, str]) -> str | None:
    """Why a layout-C/B row is not a watch, or None when it is one."""
    material = _unquote(row.get(H_MATERIAL, "")).casefold()
    if material in {"promo", "trailer"}:
        return "trailers and promos"
    if material in {"live", "livestreaming"}:
        return "live broadcasts"
    if material in {"short", "bonus"}:
        return "bonus content"
    if _unquote(row.get(H_DELETED, "")).casefold() in {"yes", "true"}:
        return "rows deleted from the watch history"
    seconds = _seconds(row.get(H_SECONDS))
    if seconds is not None and seconds < MIN_SECONDS:
        return f"views under {MIN_SECONDS // 60:.0f} minutes"
    return None


def _not_a_watch_a(row: dict[str, str], title: str) -> str | None:
    """Why a layout-A row is not a watch, or None when it is one."""
    video = row.get(H_VIDEO_TYPE, "").strip().casefold()
    entitlement = row.get(H_ENTITLEMENT, "").strip().casefold()
    if video in {"trailer", "promo"} or entitlement == "trailer":
        return "trailers"
    if video in {"live", "livestreaming"} or title.startswith(LIVE_PREFIX):
        return "live broadcasts"
    if video in {"bonus", "short", "extra"}:
        return "bonus content"
    return None


def parse(data: bytes, *, name: str, locale: str | None = None) -> Flattened:
    """Every watch in one export CSV (any layout)."""
    text = _decode(data, name)
    layout = layout_of(header_of(data))
    if layout is None:
        raise ParseError("is a CSV with a header no Prime Video export uses", path=name)
    out = Flattened()
    if layout == "c-companion":
        return out
    header, rows = _rows(text, name, layout)
    if layout == "watchlist":
        out.watchlist.extend(_watchlist(rows))
        return out
    source = f"export-{layout}"
    if layout == "a":
        return _parse_a(rows, name, source, out)
    by_columns = layout == "c"
    kept = list(
        _watches(rows, name, source, out, quoted=True, column=H_START, precision="exact",
                 not_a_watch=lambda row, _raw: _not_a_watch_c(row))
    )  # fmt: skip
    file_titles = ExportTitles(raw for _, raw, _ in kept)
    for line, raw, at in kept:
        _add(out, raw, file_titles, at, name, line, by_columns=by_columns)
    return out


def _watches(
    rows: list[tuple[int, dict[str, str]]], name: str, source: str, out: Flattened, *,
    quoted: bool, column: str, precision: Precision,
    not_a_watch: Callable[[dict[str, str], str], str | None],
) -> Iterator[tuple[int, str, Seen]]:  # fmt: skip
    """The rows that are watches, as (line, title as written, when read from ``column``);
    a row without a title or that is no watch is counted in ``out.ignored``, one whose time
    cannot be read or is refused in ``out.unreadable``."""
    for line, row in rows:
        text = row.get(H_TITLE, "")
        raw = titles.decode(_unquote(text) if quoted else text)
        if raw.casefold() in PLACEHOLDERS:
            out.ignore("rows without a title")
            continue
        reason = not_a_watch(row, raw)
        if reason:
            out.ignore(reason)
            continue
        when = _time(row.get(column, ""), line, name, column, out)
        at = _seen(raw, when, precision, source, line, out)
        if at is not None:
            yield line, raw, at


def _seen(
    raw: str, when: datetime | None, precision: Precision, source: str, line: int,
    out: Flattened,
) -> Seen | None:  # fmt: skip
    """The row's instant, or None when it has none or is refused (a date outside the years a
    watch can have, a title too long to be real: recorded as a skipped row)."""
    if when is None:
        return None
    try:
        events.bounded(raw)
        return Seen(when, precision, source)
    except RowRefused as exc:
        out.skip(exc.kind, exc.reason, f"row {line}")
        return None


def _add(
    out: Flattened, raw: str, file_titles: ExportTitles, at: Seen, name: str, line: int, *,
    by_columns: bool,
) -> None:  # fmt: skip
    """The event of row ``line`` into ``out`` (a refused one as a skipped row)."""
    try:
        event = _event(raw, file_titles, at, f"{name}:{line}", by_columns=by_columns)
    except RowRefused as exc:
        out.skip(exc.kind, exc.reason, f"row {line}")
        return
    if event:
        out.events.append(event)


def _parse_a(
    rows: list[tuple[int, dict[str, str]]], name: str, source: str, out: Flattened
) -> Flattened:
    """Layout A: one row per hour and device; the rows of one playback become one watch.

    Rows of one title merge while each is within an hour of the previous one or on the
    same UTC day (several devices, a pause); the same title on another day is a rewatch.
    """
    hours: dict[str, list[tuple[datetime, int]]] = {}
    watches = _watches(rows, name, source, out, quoted=False, column=H_HOUR, precision="hour",
                       not_a_watch=_not_a_watch_a)  # fmt: skip
    for line, raw, at in watches:
        hours.setdefault(raw, []).append((at.when, line))
    file_titles = ExportTitles(hours)
    for raw, stamps in hours.items():
        stamps.sort()
        previous: datetime | None = None
        for when, line in stamps:
            if previous is None or (
                when - previous > timedelta(hours=1) and when.date() != previous.date()
            ):
                at = Seen(when, "hour", source)
                _add(out, raw, file_titles, at, name, line, by_columns=True)
            previous = when
    return out


def _watchlist(rows: list[tuple[int, dict[str, str]]]) -> Iterator[WatchlistItem]:
    """Watchlist rows; ``deleted`` present means the add/delete history file."""
    for _, row in rows:
        raw = titles.decode(_unquote(row.get(W_TITLE, "")))
        if raw.casefold() in PLACEHOLDERS:
            continue
        text = _unquote(row.get(W_ADDED, ""))
        try:
            added = datetime.strptime(text, "%m/%d/%Y %H:%M").replace(tzinfo=UTC)
        except ValueError:
            added = None  # the date only orders the list; the title is what counts
        suffix = titles.season_suffix(raw)
        show = suffix[0] if suffix else None
        deleted = _unquote(row.get(W_DELETED, "0")) == "1"
        yield WatchlistItem(
            title=show or titles.clean_movie_title(raw)[0], kind="show" if show else "movie",
            added_at=added, listed=W_DELETED not in row, deleted=deleted,
        )  # fmt: skip


def current_watchlist(items: list[WatchlistItem]) -> list[WatchlistItem]:
    """What is on the watchlist now, one item per title.

    The current list decides when the export has it; from the history alone a title
    that was ever deleted is left out (rows of one minute do not say which came last).
    """
    listed = [i for i in items if i.listed]
    if not listed:
        deleted = {titles.identity_key(i.title) for i in items if i.deleted}
        listed = [i for i in items if titles.identity_key(i.title) not in deleted]
    unique: dict[tuple[str, str], WatchlistItem] = {}
    for item in listed:
        unique.setdefault((item.kind, titles.identity_key(item.title)), item)
    return list(unique.values())


def companion(name: str) -> bool:
    """Files of a layout-C folder that are known and carry no watches."""
    return name.rsplit("/", 1)[-1].casefold() in C_COMPANION_NAMES
