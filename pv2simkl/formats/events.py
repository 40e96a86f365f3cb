"""Building events: the one place every format's rows become :class:`WatchEvent`.

Each source finds titles, labels and times its own way; turning them into a
:class:`WatchEvent` (version tags off, year split out, label parsed, trailers and
bonus content dropped) happens here only, so every source gives the same shape.

It is also the one place that refuses a row no real history holds: a watch dated before
1990 or after the year after today (an accepted 0001-01-01 or 9999-12-31 would break every
later export), and titles or ids too long to be real (they would only feed the title
rules megabytes of text). Such a row raises :class:`RowRefused`; the importer that read it
reports it with ``Flattened.skip(exc.kind, exc.reason, where)`` and goes on with the rest.

What a format hands back is a :class:`Flattened` (events, warnings, rows ignored or unreadable,
watchlist items); a whole import unit (a file or a ZIP) is a :class:`Parsed`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Any

from pv2simkl import locales, titles
from pv2simkl.errors import ParseError
from pv2simkl.models import Precision, WatchEvent, WatchlistItem

FIRST_YEAR = 1990  # before any streaming service: a date before it is a broken one
LAST_YEAR = 2100
MAX_TITLE = 1_000  # characters of a title, show or episode label (real ones stay under 300)
_SURROGATE = re.compile("[\ud800-\udfff]")
MAX_ID = 8_192  # characters of a gti or a source reference (a path and a row number)


class RowRefused(Exception):
    """One row that cannot be a watch. ``kind`` and ``reason`` are what the importer passes
    to ``Flattened.skip`` (``"date"``, ``"dates like '0001-01-01' are outside 1990–2027"``)."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


def shorten(text: object, limit: int = 60) -> str:
    """``text`` cut to at most ``limit`` characters (a message never quotes megabytes)."""
    value = str(text)
    return value if len(value) <= limit else value[: limit - 1] + "…"


def excerpt(text: object, limit: int = 60) -> str:
    """``text`` as it may stand in a message: shortened and quoted (``'0001-01-01'``)."""
    return repr(shorten(text, limit))


def last_year(today: datetime | None = None) -> int:
    """The latest year a watch may have: the year after today, and never past 2100."""
    return min((today or datetime.now(UTC)).year + 1, LAST_YEAR)


def check_when(when: datetime) -> None:
    """Refuse (:class:`RowRefused`, kind ``date``) an instant outside 1990 – :func:`last_year`."""
    newest = last_year()
    if not FIRST_YEAR <= when.year <= newest:
        shown = excerpt(when.date().isoformat())
        raise RowRefused("date", f"dates like {shown} are outside {FIRST_YEAR}–{newest}")


def bounded(text: str | None, limit: int = MAX_TITLE, *, kind: str = "title") -> str | None:
    """``text`` unchanged, or :class:`RowRefused` when it is longer than ``limit``: no real
    title or id is, and the title rules would spend seconds on megabytes of text."""
    if text is not None and len(text) > limit:
        what = "titles" if kind == "title" else "ids"
        raise RowRefused(kind, f"{what} longer than {limit:,} characters are not real ones")
    return text


def storable(text: str | None) -> str | None:
    """``text`` without lone surrogates (JSON may escape ``\\ud800``), which SQLite, the
    CSV and every terminal refuse: each becomes U+FFFD."""
    if text is None:
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return text


def _field(text: str | None, limit: int = MAX_TITLE, kind: str = "title") -> str | None:
    return storable(bounded(text, limit, kind=kind))


@dataclass(frozen=True, slots=True)
class Seen:
    """When a title was watched, how exactly that is known, and where it was read.

    Made only for a plausible instant: see :func:`check_when`.
    """

    when: datetime
    precision: Precision
    source: str
    locale: str | None = None

    def __post_init__(self) -> None:
        check_when(self.when)
        object.__setattr__(self, "locale", storable(self.locale))


def movie(
    raw: str, at: Seen, *, gti: str | None = None, ref: str | None = None,
    extras_by_title: bool = True,
) -> WatchEvent | None:  # fmt: skip
    """A movie watch, or None for a trailer, bonus content or an empty title.

    ``extras_by_title=False`` when the source classifies rows itself (the data export's
    Video Type / Material Type): the title then never overrules it.
    """
    raw = _field(raw) or ""
    gti, ref = _field(gti, MAX_ID, "id"), _field(ref, MAX_ID, "id")
    if not raw or (extras_by_title and titles.is_extra(raw)):
        return None
    title, year = titles.clean_movie_title(raw)
    return WatchEvent(
        kind="movie", title=title, year=year, watched_at=at.when, precision=at.precision,
        source=at.source, source_ref=ref or gti, gti=gti, locale=at.locale, raw_title=raw,
    )  # fmt: skip


def episode(
    show: str, season: int | None, at: Seen, *, label: str | None = None,
    title: str | None = None, gti: str | None = None, ref: str | None = None,
    raw: str | None = None, extras_by_title: bool = True,
) -> WatchEvent | None:  # fmt: skip
    """An episode watch, or None for a trailer or bonus content.

    ``label`` is Amazon's episode label (``Episode 3: JENNY``), parsed for the number;
    ``title`` a bare episode title (the data export has no numbers); neither when the
    source knows the episode by its gti only.
    """
    show = _field(show) or ""
    label, title, raw = _field(label), _field(title), _field(raw)
    gti, ref = _field(gti, MAX_ID, "id"), _field(ref, MAX_ID, "id")
    number = None
    if label is not None:
        number, title = titles.parse_episode_label(label)
    if extras_by_title and ((title and titles.is_extra(title)) or titles.is_extra(show)):
        return None
    return WatchEvent(
        kind="episode", title=show, season=season, episode=number, episode_title=title,
        watched_at=at.when, precision=at.precision, source=at.source, source_ref=ref or gti,
        gti=gti, locale=at.locale, raw_title=raw,
    )  # fmt: skip


@dataclass
class Unreadable:
    """Rows (or sections) of one file that could not be read for one reason."""

    reason: str  # "dates like '31 августа 2026 г.' could not be read"
    where: list[str] = field(default_factory=list)  # "row 12", "section 3", …


@dataclass
class Flattened:
    """Events from some sections, what was left out on purpose, and what could not be read.

    ``ignored`` counts rows that are not watches (trailers, live broadcasts, …) by reason;
    they never make a file partial. ``unreadable`` groups rows that could not be read by
    kind of problem, so the summary says one sentence per kind instead of one per row;
    a file with any is stored as *partial* and read again when imported again.
    """

    events: list[WatchEvent] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    ignored: dict[str, int] = field(default_factory=dict)
    unreadable: dict[str, Unreadable] = field(default_factory=dict)
    watchlist: list[WatchlistItem] = field(default_factory=list)

    def ignore(self, reason: str, count: int = 1) -> None:
        """``count`` rows that are not watches, e.g. ``ignore("trailers")``."""
        self.ignored[reason] = self.ignored.get(reason, 0) + count

    def skip(self, kind: str, reason: str, where: str) -> None:
        """One unreadable row. ``kind`` groups rows (``"date"``); the first ``reason`` of a
        kind is the one shown (``"dates like '…' could not be read"``)."""
        self.unreadable.setdefault(kind, Unreadable(reason)).where.append(where)

    def merge(self, other: Flattened) -> None:
        """Add another part's events and bookkeeping (the members of one ZIP)."""
        self.events.extend(other.events)
        self.warnings.extend(other.warnings)
        self.errors.extend(other.errors)
        self.watchlist.extend(other.watchlist)
        for reason, count in other.ignored.items():
            self.ignore(reason, count)
        for kind, part in other.unreadable.items():
            self.unreadable.setdefault(kind, Unreadable(part.reason)).where.extend(part.where)


@dataclass
class Parsed:
    """The events of one import unit (a file, or a whole ZIP)."""

    name: str
    sha256: str
    source: str | None
    flat: Flattened = field(default_factory=Flattened)


def day_instant(day: Any) -> datetime:
    """A local calendar date as pv2simkl stores it: 12:00 UTC of that date."""
    return datetime.combine(day, time(12), tzinfo=UTC)


class UnreadableDate(ParseError):
    """A date that was needed (its items have no time) but cannot be read: the whole file is
    refused. ``header`` is the date as written, ``place`` where it stands (``section 3``),
    ``cause`` why it cannot be read."""

    def __init__(self, header: str, place: str, cause: str) -> None:
        super().__init__(f"the date {header!r} ({place}) cannot be read: {cause}")
        self.header = header
        self.place = place
        self.cause = cause


def language_label(lang: str, origin: str) -> str:
    """A language for a message, with its tag and where it came from: ``Spanish (es-es),
    the language of the page's <html lang>``."""
    return f"{locales.language_name(lang)}, the language {origin}"


def refuse_unreadable(
    exc: UnreadableDate, *, path: str, lang: str | None, origin: str, what: str
) -> ParseError:
    """The one sentence for a file refused whole because a date in it cannot be read.

    It names the first unreadable date and the language it was read in (``origin`` says
    where that came from: ``"given with --locale"``, ``"of the page's <html lang>"``), says
    that nothing of the file was stored, and what to do about it.
    """
    if lang:
        language = language_label(lang, origin)
    else:
        language = f"any known language ({what} does not say its language)"
    return ParseError(
        f"its date {exc.header!r} ({exc.place}) cannot be read as a date in {language}, "
        f"so nothing of {what} was stored; import it again with --locale xx-XX naming the "
        "language it is written in",
        path=path,
    )
