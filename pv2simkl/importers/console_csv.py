"""The CSV of the widely used browser-console exporter.

Header ``Date Watched,Type,Title,Episode Title,Global Title Identifier,Episode Global
Title Identifier,Path,Episode Path,Image URL``: one row per movie or episode, dates in
UTC from the page's epoch-ms times, titles as Amazon writes them. Its earlier versions
wrote only the first four columns, with localized dates from the page headers.
"""

from __future__ import annotations

import csv
import io

from pv2simkl import titles
from pv2simkl.errors import ParseError
from pv2simkl.importers import normalise
from pv2simkl.importers.history_json import Flattened, day_instant
from pv2simkl.importers.normalise import Seen
from pv2simkl.locales import DateParseError, parse_date
from pv2simkl.models import WatchEvent, parse_iso_utc

NAME = "console exporter CSV"
SOURCE = "csv"
REQUIRED = ("Date Watched", "Type", "Title", "Episode Title")
MOVIE_TYPES = {"movie", "film", "feature"}
SERIES_TYPES = {"series", "season", "episode", "tv", "show", "tv show"}


def _header(head: bytes) -> list[str]:
    lines = head[:8192].decode("utf-8-sig", errors="replace").splitlines()
    return [c.strip() for c in next(csv.reader(lines[:1]), [])] if lines else []


def sniff(head: bytes) -> bool:
    header = _header(head)
    return all(col in header for col in REQUIRED)


def parse(data: bytes, *, name: str, locale: str | None = None) -> Flattened:
    """Every row of the console exporter's CSV as a watch event."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(
            f"is not UTF-8 text (bad byte at offset {exc.start}); export it again", path=name
        ) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    out = Flattened()
    try:
        for row in reader:
            event = _row(row, reader.line_num, name, locale, out)
            if event:
                out.events.append(event)
    except csv.Error as exc:
        raise ParseError(
            f"is not a readable CSV ({exc})", path=name, where=f"line {reader.line_num}"
        ) from None
    return out


def _row(
    row: dict[str, str | None], line: int, name: str, locale: str | None, out: Flattened
) -> WatchEvent | None:
    def get(key: str) -> str:
        return titles.decode(row.get(key) or "")

    raw, kind, when_text = get("Title"), get("Type").casefold(), get("Date Watched")
    if not raw and not when_text:
        return None
    try:
        when, precision = parse_iso_utc(when_text), "exact"
    except ValueError:
        try:
            when, precision = day_instant(parse_date(when_text, locale)), "day"
        except DateParseError as exc:
            out.errors.append(f"{name}, line {line}: {exc}; this row was skipped")
            return None
    at = Seen(when, precision, SOURCE, locale)
    episode_label = get("Episode Title")
    gti = get("Episode Global Title Identifier") or get("Global Title Identifier") or None
    ref = gti or f"{name}:{line}"
    if kind in SERIES_TYPES or (episode_label and kind not in MOVIE_TYPES):
        show, season = titles.season_title(raw)
        return normalise.episode(show, season, at, label=episode_label, gti=gti, ref=ref, raw=raw)
    return normalise.movie(raw, at, gti=gti, ref=ref)
