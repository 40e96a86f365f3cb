"""The history JSON: the page's inline widget and the ``getWatchHistorySettingsPage`` API.

Both carry date sections of items (a movie, or a season with the episodes watched that
day); every leaf has its exact epoch-ms ``time``. Items are flattened into one
:class:`WatchEvent` per movie or episode watch. The live fetch of the Amazon session
reuses :func:`events_from_sections` for every API page.

Two generations are read alike: today's ``watch-history`` widget (mid-2022 on, paged by
``nextToken``) and the 2021–2022 ``activity-history`` widget (paged by ``nextStartIndex``,
items without ``titleType``, delete actions naming ASINs). A season is told by its
``children``, never by ``titleType`` alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pv2simkl import titles
from pv2simkl.errors import ParseError
from pv2simkl.formats import events
from pv2simkl.formats.bounded_json import BadJSON, json_error, read_json
from pv2simkl.formats.events import (
    Flattened,
    RowRefused,
    Seen,
    UnreadableDate,
    day_instant,
    refuse_unreadable,
)
from pv2simkl.locales import DateParseError, parse_date
from pv2simkl.models import WatchEvent

NAME = "history-json"
SOURCE = "api"
# The history widget's type: today's, then its 2021–2022 name.
WIDGET_TYPES = ("watch-history", "activity-history")


@dataclass
class HistoryPage:
    """One history widget: its date sections and where the next page starts."""

    sections: list[dict[str, Any]]
    next_token: str | None
    empty_message: str | None = None
    next_start: int | None = None  # the 2021 widget's ``nextStartIndex``


def find_history_widget(doc: Any) -> dict[str, Any] | None:
    """The history widget in an API envelope or a page's inline ``props``.

    Found by ``widgetType``, never by position: ``watch-history`` (mid-2022 on) or its
    2021–2022 name ``activity-history``.
    """
    if not isinstance(doc, dict):
        return None
    holders = [doc, doc.get("props")]
    for holder in holders:
        if not isinstance(holder, dict):
            continue
        widgets = holder.get("widgets")
        if isinstance(widgets, list):
            for widget in widgets:
                if isinstance(widget, dict) and widget.get("widgetType") in WIDGET_TYPES:
                    return widget
    return None


def _widget_content(widget: dict[str, Any]) -> dict[str, Any] | None:
    """``content.content``, or ``content`` itself when it already holds the titles."""
    content = widget.get("content")
    if not isinstance(content, dict):
        return None
    inner = content.get("content")
    if isinstance(inner, dict):
        return inner
    if any(key in content for key in ("titles", "message", "header")):
        return content
    return None


def read_widget(widget: dict[str, Any], where: str) -> HistoryPage:
    """Sections and where the next page starts; a ParseError if the widget's shape is wrong.

    The current widget names its next page by ``nextToken``, the 2021 one by
    ``nextStartIndex``; either is missing (or empty) on the last page.
    """
    kind = str(widget.get("widgetType") or "history")
    inner = _widget_content(widget)
    if inner is None:
        raise ParseError(f"the {kind} widget has no content.content object", where=where)
    if "titles" not in inner:
        if "message" in inner or "header" in inner:
            return HistoryPage([], None, str(inner.get("message") or inner.get("header") or ""))
        raise ParseError(f"the {kind} widget holds neither titles nor a message", where=where)
    sections = inner["titles"]
    if not isinstance(sections, list):
        raise ParseError(f"the {kind} titles are not a list", where=where)
    token = inner.get("nextToken")
    start = inner.get("nextStartIndex")
    return HistoryPage(
        sections,
        token if isinstance(token, str) and token else None,
        next_start=start if isinstance(start, int) and not isinstance(start, bool) else None,
    )


def _text(obj: Any) -> str:
    if isinstance(obj, dict):
        return titles.decode(obj.get("text") if isinstance(obj.get("text"), str) else "")
    return titles.decode(obj) if isinstance(obj, str) else ""


def _ms(value: Any) -> datetime | None:
    """Epoch milliseconds as an instant; None when absent or not a number.

    A number no calendar can hold (``1e300``) is a date outside the years a watch can have:
    :class:`RowRefused`, like any other such date.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        newest = events.last_year()
        raise RowRefused(
            "date",
            f"times like {events.excerpt(value)} are outside {events.FIRST_YEAR}–{newest}",
        ) from None


def events_from_sections(
    sections: list[Any], *, source: str, locale: str | None, where: str, whole: bool = False
) -> Flattened:
    """Flatten date sections into watch events (trailers and bonus content skipped).

    A leaf without a time takes its item's, then its section's, then the section's
    date header (day precision). When that date is needed but cannot be read:

    - ``whole`` (a file: a saved reply, a page's inline JSON) raises
      :class:`UnreadableDate` at the first such section, so the file is refused whole and
      nothing of it is stored, rather than stored in part;
    - otherwise (the live fetch) the section is reported in ``errors`` and skipped, and
      the other sections still count.
    """
    out = Flattened()
    for index, section in enumerate(sections):
        if not isinstance(section, dict):
            out.errors.append(f"{where}, section {index + 1}: not an object")
            continue
        date_text = section.get("date") if isinstance(section.get("date"), str) else ""
        place = f"section {index + 1}" if whole else f"{where}, section {index + 1}"

        def refused(exc: RowRefused, item: str, place: str = place) -> None:
            out.skip(exc.kind, exc.reason, f"{place}, {item}")

        try:
            out.events.extend(
                e for e in _section_events(section, source, locale, date_text, refused) if e
            )
        except DateParseError as exc:
            if whole:
                raise UnreadableDate(
                    events.shorten(date_text), f"section {index + 1}", str(exc)
                ) from None
            out.errors.append(
                f"{where}, section {index + 1} (date {events.excerpt(date_text)}): {exc}; "
                "this section was skipped"
            )
    if not whole:  # the live fetch reports sentences, not rows
        for problem in out.unreadable.values():
            out.errors.append(f"{where}: {len(problem.where)} item(s) skipped: {problem.reason}")
    return out


def _section_events(
    section: dict[str, Any], source: str, locale: str | None, date_text: str,
    refused: Callable[[RowRefused, str], None],
) -> Iterator[WatchEvent | None]:  # fmt: skip
    """The events of one date section; a leaf that cannot be a watch (a date outside the
    years a watch can have, a title too long to be real) goes to ``refused`` with its place
    (``item 2``, ``item 3, episode 1``) and the others still count."""
    try:
        section_time = _ms(section.get("time"))
    except RowRefused as exc:
        refused(exc, "its time")
        return
    items = section.get("titles")
    if not isinstance(items, list):
        return
    header_day: list[Seen] = []

    def seen(when: datetime | None) -> Seen:
        if when or section_time:
            return Seen(when or section_time, "exact", source, locale)
        if not header_day:
            day = day_instant(parse_date(date_text, locale))
            header_day.append(Seen(day, "day", source, locale))
        return header_day[0]

    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            continue
        place = f"item {number}"
        try:
            raw = events.bounded(_text(item.get("title"))) or ""
            item_time = _ms(item.get("time"))
        except RowRefused as exc:
            refused(exc, place)
            continue
        kind = str(item.get("titleType") or "").lower()
        raw_children = item.get("children")
        children = (
            [c for c in raw_children if isinstance(c, dict)]
            if isinstance(raw_children, list)
            else []
        )
        if children or kind in {"season", "series", "episode"}:
            show, season = titles.season_title(raw)
            for index, child in enumerate(children, start=1):
                try:
                    at = seen(_ms(child.get("time")) or item_time)
                    label = _text(child.get("title"))
                    yield events.episode(
                        show, season, at, label=label, gti=_str(child.get("gti")), raw=raw
                    )
                except RowRefused as exc:
                    refused(exc, f"{place}, episode {index}")
        elif kind not in {"trailer", "bonus", "extra"}:
            try:
                yield events.movie(raw, seen(item_time), gti=_str(item.get("gti")))
            except RowRefused as exc:
                refused(exc, place)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def sniff(head: bytes) -> bool:
    """An API reply: JSON whose text names the history widget (either generation)."""
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return stripped.startswith(b"{") and any(kind.encode() in head for kind in WIDGET_TYPES)


def parse(data: bytes, *, name: str, locale: str | None = None) -> Flattened:
    """One saved ``getWatchHistorySettingsPage`` reply (the envelope of the API), of 2021 or
    today; ``locale`` is the user's ``--locale``, the language of any date that has to be
    read (a reply does not say its own). A reply with such a date that cannot be read is
    refused whole (a ParseError), so nothing of it is stored."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(
            f"is not UTF-8 text (bad byte at offset {exc.start}); save the reply again as UTF-8",
            path=name,
        ) from None
    try:
        doc = read_json(text)
    except BadJSON as exc:
        raise json_error(exc, path=name, again="save the reply again") from None
    widget = find_history_widget(doc)
    if widget is None:
        raise ParseError(
            "is JSON but holds no watch-history (or 2021 activity-history) widget; "
            "give a getWatchHistorySettingsPage reply",
            path=name,
        )
    page = read_widget(widget, name)
    try:
        return events_from_sections(
            page.sections, source=SOURCE, locale=locale, where=name, whole=True
        )
    except UnreadableDate as exc:
        raise refuse_unreadable(
            exc, path=name, lang=locale, origin="given with --locale", what="this reply"
        ) from None
