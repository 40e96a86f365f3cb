"""The CSV of the widely used browser-console exporter, every version people have on disk.

The exporter (twocaretcat, formerly jerboa88, "Watch History Exporter for Amazon Prime
Video") wrote five shapes over the years; all are told from the header and read here:

- v0 (2023-11 to v1.0.0): ``Date Watched, Type, Title, Episode``, every field joined with
  ``", "`` and titles quoted without escaping their inner quotes.
- v1 (v1.1 to v1.3): the same columns joined with ``,``, inner quotes still not doubled
  (``"Episode 1: "INHERENT RESOLVE""``).
- v2 (to v2.1): the same, quotes doubled, header and type words in the page's language
  (``Datum angesehen,Typ,Titel,Folge`` with ``Serie``/``Film``). Its last edition wrote
  the header quoted and exact UTC times instead of days.
- v3: ``"Date Watched","Type","Title","Episode Title","Global Title Identifier",…``,
  every field quoted, times ``YYYY-MM-DD hh:mm:ss.sss`` in UTC or epoch milliseconds.

v0 to v2 wrote a day only: the UTC date of local midnight of the page's date header, so
for people east of UTC it is one day early. It is kept as written (precision ``day``);
the store's identity rule already matches a day-only watch one day either side.

A file whose every line reads as a proper CSV is read as one (v2, v3, or any file a
spreadsheet saved again). Otherwise its inner quotes were not doubled (v0, v1) and each
line is split by its shape: date, type, then the quoted title and episode label.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from pv2simkl import titles
from pv2simkl.errors import ParseError
from pv2simkl.formats import events
from pv2simkl.formats.events import Flattened, RowRefused, Seen, day_instant
from pv2simkl.locales import DateParseError, parse_date
from pv2simkl.models import Precision, WatchEvent

NAME = "console exporter CSV"
SOURCE = "csv"

# Column names by role as the exporter wrote them: English (all versions) and the v2.x
# translations it shipped (its I18N table: de-de, es-419, es-es, fr-fr, pt-br, pt-pt,
# zh-cn, zh-tw, ja-jp; every other page language fell back to English).
_ROLE_NAMES: dict[str, tuple[str, ...]] = {
    "date": (
        "date watched", "datum angesehen", "fecha vista", "fecha de visualización",
        "date regardée", "data assistida", "data de visualização", "觀看日期", "視聴日",
    ),
    "type": ("type", "typ", "tipo", "類型", "種類"),
    "title": ("title", "titel", "título", "titre", "標題", "タイトル"),
    # German v2.0 still wrote "Episode"; v2.1 wrote "Folge".
    "episode": ("episode", "episode title", "folge", "episodio", "épisode", "episódio", "集",
                "エピソード"),
    "gti": ("global title identifier",),
    "episode_gti": ("episode global title identifier",),
}  # fmt: skip
_ROLE_OF = {name: role for role, names in _ROLE_NAMES.items() for name in names}
_REQUIRED = ("date", "type", "title", "episode")

# The page language a localized date column stands for (English says nothing: v3 and
# every unsupported language wrote English).
_LANG_OF_DATE_COLUMN = {
    "datum angesehen": "de-de",
    "fecha vista": "es-419",
    "fecha de visualización": "es-es",
    "date regardée": "fr-fr",
    "data assistida": "pt-br",
    "data de visualização": "pt-pt",
    "觀看日期": "zh-tw",
    "視聴日": "ja-jp",
}

MOVIE_TYPES = {"movie", "film", "película", "filme", "電影", "映画", "feature"}
SERIES_TYPES = {
    "series", "serie", "série", "劇集系列", "剧集系列", "シリーズ",
    "season", "episode", "tv", "show", "tv show",
}  # fmt: skip

_DELIMITERS = (",", ";", "\t")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_EPOCH_MS = re.compile(r"\d{9,15}(?:\.\d+)?")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}.*")
# An unescaped line: date and type (never holding a comma or quote), then the rest.
_LEAD = re.compile(r'\s*"?([^",]*)"?\s*,\s*"?([^",]*)"?\s*,\s*(.*)', re.DOTALL)
_NO_EPISODE = re.compile(r'"(.*)"\s*,?', re.DOTALL)
# Every separator between quoted title and label, overlapping ones too (`"a",","b"`).
_BETWEEN = re.compile(r'(?=("\s*,\s*"))')
_LINE_BREAK = re.compile(r"\r\n?|\n")
# A line of the exporter holds a date, a type, a title and a label: never longer than this.
MAX_LINE = 4 * events.MAX_TITLE


@dataclass(frozen=True)
class Layout:
    """What a console CSV's header says: its delimiter, columns by role, page language."""

    delimiter: str
    width: int
    roles: dict[str, int]
    lang: str | None


@dataclass(frozen=True)
class Row:
    """One watch as the exporter wrote it, before any interpretation."""

    when: str | int | float
    type: str
    title: str
    label: str
    gti: str
    episode_gti: str
    where: str


def _fold(name: str) -> str:
    return unicodedata.normalize("NFC", name).strip().strip('"').strip().casefold()


def layout_of(first_line: str) -> Layout | None:
    """The layout a header line announces, or None when it is not a console export's."""
    counts = {d: first_line.count(d) for d in _DELIMITERS}
    delimiter = max(_DELIMITERS, key=lambda d: counts[d])
    if not counts[delimiter]:
        return None
    names = [_fold(c) for c in _csv_line(first_line, delimiter)]
    roles: dict[str, int] = {}
    for index, name in enumerate(names):
        role = _ROLE_OF.get(name)
        if role and role not in roles:
            roles[role] = index
    if not all(role in roles for role in _REQUIRED):
        return None
    return Layout(delimiter, len(names), roles, _LANG_OF_DATE_COLUMN.get(names[roles["date"]]))


def _csv_line(line: str, delimiter: str = ",") -> list[str]:
    """One line's fields as a lenient CSV reader sees them ([] if it cannot)."""
    try:
        return next(csv.reader([line], delimiter=delimiter, skipinitialspace=True), [])
    except csv.Error:
        return []


def _first_line(text: str) -> str:
    return _LINE_BREAK.split(text, maxsplit=1)[0]


def sniff(head: bytes) -> bool:
    """A CSV whose header names the exporter's date, type, title and episode columns."""
    return layout_of(_first_line(head[:8192].decode("utf-8-sig", errors="replace"))) is not None


def parse(data: bytes, *, name: str, locale: str | None = None) -> Flattened:
    """Every row of a console exporter CSV (any version) as a watch event."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(
            f"is not UTF-8 text (bad byte at offset {exc.start}); export it again", path=name
        ) from None
    header, body = (*_LINE_BREAK.split(text, maxsplit=1), "")[:2]
    layout = layout_of(header)
    if layout is None:
        raise ParseError(
            "is not the console exporter's CSV (its header names no date, type, title and "
            "episode columns)",
            path=name,
        )
    out = Flattened()
    rows = _strict_rows(body, layout)
    if rows is None:
        rows = list(_loose_rows(body, layout, out))
        if _ends_inside_a_title(body):
            out.warnings.append(
                f"{name}: the last line ends inside a title; the exporter's first versions "
                "cut the file at the first '#' in a title, so the watches after it are "
                "missing: export the history again with the exporter's current version"
            )
    for row in rows:
        event = row_event(row, name=name, locale=locale or layout.lang, out=out)
        if event:
            out.events.append(event)
    return out


def _pick(fields: list[str], layout: Layout, where: str) -> Row:
    def get(role: str) -> str:
        index = layout.roles.get(role)
        return fields[index] if index is not None and index < len(fields) else ""

    return Row(
        get("date"), get("type"), get("title"), get("episode"),
        get("gti"), get("episode_gti"), where,
    )  # fmt: skip


def _strict_rows(body: str, layout: Layout) -> list[Row] | None:
    """Every row, if the whole body is a proper CSV with the header's width; else None.

    A four-column file must also hold one record per line: the exporter never wrote a
    line break inside a field, and an undoubled quote (v0, v1) can make a proper-looking
    record run over several lines.
    """
    reader = csv.reader(
        io.StringIO(body, newline=""),
        delimiter=layout.delimiter,
        strict=True,
        skipinitialspace=True,
    )
    rows = []
    line = 0
    try:
        for fields in reader:
            if layout.width == 4 and reader.line_num != line + 1:
                return None
            line = reader.line_num
            if not fields or not any(f.strip() for f in fields):
                continue
            if len(fields) != layout.width:
                return None
            rows.append(_pick(fields, layout, f"line {line + 1}"))
    except csv.Error:
        return None
    return rows


def _loose_rows(body: str, layout: Layout, out: Flattened) -> Iterator[Row]:
    """Rows of a file whose inner quotes were not doubled (v0, v1), line by line."""
    for number, line in enumerate(_LINE_BREAK.split(body), start=2):
        if not line.strip():
            continue
        where = f"line {number}"
        if len(line) > MAX_LINE:  # each split point would be tried against the whole rest
            out.skip("long", f"lines longer than {MAX_LINE:,} characters are not watches", where)
            continue
        fields = _unescaped_fields(line) if layout.width == 4 else _lenient_fields(line, layout)
        if fields is None:
            out.skip("row", "lines that do not hold the header's columns could not be read", where)
            continue
        yield _pick(fields, layout, where)


def _ends_inside_a_title(body: str) -> bool:
    """A v0-v1 file whose last line stops in the middle of a quoted title or label."""
    last = _LINE_BREAK.split(body.rstrip())[-1].rstrip()
    lead = _LEAD.fullmatch(last)
    return bool(lead and lead[3] and not lead[3].endswith(('"', ",")))


def _lenient_fields(line: str, layout: Layout) -> list[str] | None:
    fields = _csv_line(line, layout.delimiter)
    return fields if len(fields) == layout.width else None


def _unescaped_fields(line: str) -> list[str] | None:
    """``date,type,"title","label"`` with quotes inside title and label left as they are.

    Where ``","`` (or ``", "``) occurs more than once, the split is the first one after
    which an episode label with a number follows, else the first one.
    """
    lead = _LEAD.fullmatch(line.rstrip())
    if not lead:
        return None
    when, kind, rest = lead[1].strip(), lead[2].strip(), lead[3].rstrip()
    if not rest.startswith('"'):
        return [when, kind, *(_csv_line(rest) + ["", ""])[:2]]
    bare = _NO_EPISODE.fullmatch(rest)
    if bare and rest.endswith(","):
        return [when, kind, bare[1], ""]
    inner = rest[1:-1] if rest.endswith('"') and len(rest) > 1 else rest[1:]
    splits = [(m.start(), m.start() + len(m[1])) for m in _BETWEEN.finditer(inner)]
    if not splits:
        return [when, kind, inner, ""]
    numbered = (s for s in splits if titles.parse_episode_label(inner[s[1] :])[0] is not None)
    start, end = next(numbered, splits[0])
    return [when, kind, inner[:start], inner[end:]]


def read_when(value: str | int | float, lang: str | None) -> tuple[datetime, Precision] | None:
    """A console export's date: a day, a UTC time, epoch ms, or a localized date; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return _from_ms(value)
    text = unicodedata.normalize("NFKC", value).strip().strip('"').strip()
    if _EPOCH_MS.fullmatch(text):
        return _from_ms(float(text) if "." in text else int(text))
    try:
        if _DAY.fullmatch(text):
            return day_instant(date.fromisoformat(text)), "day"
        if _DATETIME.fullmatch(text):
            stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
            stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
            return stamp.astimezone(UTC), "exact"
    except (ValueError, OverflowError):  # OverflowError: year 1 or 9999 moved to UTC
        return None
    try:
        return day_instant(parse_date(text, lang)), "day"
    except (DateParseError, ValueError, OverflowError):
        return None


def _from_ms(value: float) -> tuple[datetime, Precision] | None:
    """Epoch milliseconds, added as a whole so that no float rounding moves them."""
    try:
        return _EPOCH + timedelta(milliseconds=value), "exact"
    except (OverflowError, ValueError):
        return None


def row_event(row: Row, *, name: str, locale: str | None, out: Flattened) -> WatchEvent | None:
    """The watch one row (CSV line or JSON entry) stands for; unreadable rows are skipped."""
    raw, label = titles.decode(row.title), titles.decode(row.label)
    when_text = row.when if isinstance(row.when, str) else str(row.when)
    if not raw and not when_text.strip():
        return None
    read = read_when(row.when, locale)
    if read is None:
        shown = events.excerpt(when_text.strip())
        out.skip("date", f"dates like {shown} could not be read", row.where)
        return None
    if not raw:
        out.skip("title", "rows without a title could not be read", row.where)
        return None
    try:
        return _event(row, raw, label, Seen(read[0], read[1], SOURCE, locale), name)
    except RowRefused as exc:
        out.skip(exc.kind, exc.reason, row.where)
        return None


def _event(row: Row, raw: str, label: str, at: Seen, name: str) -> WatchEvent | None:
    """The movie or episode of one readable row (:class:`RowRefused` for one that is not)."""
    events.bounded(raw)
    events.bounded(label)
    gti = titles.decode(row.episode_gti) or titles.decode(row.gti) or None
    ref = gti or f"{name}, {row.where}"
    kind = _fold(row.type)
    if kind in SERIES_TYPES or (label and kind not in MOVIE_TYPES):
        show, season = titles.season_title(raw)
        return events.episode(show, season, at, label=label, gti=gti, ref=ref, raw=raw)
    return events.movie(raw, at, gti=gti, ref=ref)
