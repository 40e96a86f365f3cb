"""A saved watch-history page (``Save page as…`` after scrolling to the end).

The inline ``text/template`` JSON holds the first chunk of the history only (exact
epoch-ms times); the DOM holds every section loaded since (localized date headers).
The JSON is taken for what it covers and the DOM for the rest, so no section counts
twice. A season whose episode list was not expanded before saving still yields its
episodes, from the ids of its delete form, without numbers.

Both generations are read: today's page (``watch-history`` widget, ``data-testid`` hooks
beside ``data-automation-id``) and the 2021–2022 one (``activity-history`` widget,
``data-automation-id`` hooks only, ASINs where today's page has gtis: kept as the events'
``source_ref``, and as the gti only of an episode known by nothing else).

Date headers are read in the page's language, its ``<html lang>``, unless the user gave
``--locale``, which overrides it. A page with a date header that is needed (its section is
not in the inline JSON) and cannot be read is refused whole, with nothing stored, rather
than stored without those sections.

The page is streamed through lxml's ``iterparse`` and each date section is dropped once
read, rather than loaded whole into BeautifulSoup: a 20,000-event page is about 19 MB,
which a full tree holds in hundreds of MB and bs4 needs seconds for (bench/README.md).
"""

from __future__ import annotations

import codecs
import io
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree

from pv2simkl import titles
from pv2simkl.errors import ParseError
from pv2simkl.formats import events
from pv2simkl.formats.bounded_json import BadJSON, read_json
from pv2simkl.formats.events import Flattened, RowRefused, Seen, UnreadableDate
from pv2simkl.formats.history_json import events_from_sections, find_history_widget, read_widget
from pv2simkl.locales import DateParseError, parse_date
from pv2simkl.models import WatchEvent
from pv2simkl.words import plural

NAME = "saved page"
SOURCE = "page"

_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_\-]+)""", re.IGNORECASE)
# The encodings of the WHATWG Encoding Standard (the only ones browsers read and save pages
# in), as Python names them; labels Python does not know map to its name first.
_PAGE_CODECS = frozenset(
    codecs.lookup(label).name
    for label in (
        "utf-8", "ibm866", "iso-8859-1", "iso-8859-2", "iso-8859-3", "iso-8859-4",
        "iso-8859-5", "iso-8859-6", "iso-8859-7", "iso-8859-8", "iso-8859-10", "iso-8859-13",
        "iso-8859-14", "iso-8859-15", "iso-8859-16", "koi8-r", "koi8-u", "macintosh",
        "cp874", "windows-1250", "windows-1251", "windows-1252", "windows-1253",
        "windows-1254", "windows-1255", "windows-1256", "windows-1257", "windows-1258",
        "mac-cyrillic", "gbk", "gb18030", "big5", "euc-jp", "iso-2022-jp", "shift_jis",
        "euc-kr", "us-ascii",
    )
)  # fmt: skip
_WHATWG_ALIASES = {"windows-874": "cp874", "x-mac-cyrillic": "mac-cyrillic",
                   "iso-8859-8-i": "iso-8859-8"}  # fmt: skip
_UTF16 = frozenset({"utf-16", "utf-16-le", "utf-16-be"})

GTI_PREFIX = "amzn1.dv.gti."
# The history root: current wrapper, and the older one [2023].
ROOT_IDS = ("activity-history-items", "watch-history")
# Every hook is tried in order; Amazon moves them between data-automation-id and data-testid.
X_DATE = etree.XPath('.//*[starts-with(@data-automation-id, "wh-date")]')
X_ITEMS = etree.XPath("./ul/li")
X_ITEM_BODY = etree.XPath('.//*[@data-testid="activity-history-item"]')
X_LINKS = etree.XPath('.//a[contains(@href, "/detail/")]')
X_IMG_ALT = etree.XPath(".//img[@alt]")
X_DELETE_FORM = etree.XPath('.//form[starts-with(@data-automation-id, "wh-delete-")]')
X_DELETE_IDS = etree.XPath('.//input[@name="titleIds"]')
X_BUTTON = etree.XPath(".//button")
X_TOGGLE = etree.XPath(
    './/*[starts-with(@data-testid, "wh-episodes-watched-")'
    ' or starts-with(@data-automation-id, "wh-episodes-watched-")'
    ' or (self::input and @type="checkbox")]'
)
X_EPISODE_ROWS = etree.XPath(
    './/*[starts-with(@data-testid, "wh-episode-")'
    ' or (starts-with(@data-automation-id, "wh-episode")'
    ' and not(starts-with(@data-automation-id, "wh-episodes")))]'
)
X_PARAGRAPH = etree.XPath(".//p")

# A date section as both the inline JSON and the DOM show it: its date header and the
# titles of its items (ids where an item has no title). Titles, not ids: a 2021 DOM may name
# an item by ASIN where its JSON names it by gti.
Signature = tuple[str, tuple[str, ...]]
# The inline JSON's history widget, for telling a broken template from a non-JSON one.
_HISTORY_TEMPLATE = re.compile(r'"widgetType"\s*:\s*"(?:watch|activity)-history"')


def sniff(head: bytes) -> bool:
    """HTML that mentions the watch-history page's hooks."""
    lower = head[:4096].lower()
    is_html = b"<html" in lower or b"<!doctype html" in lower
    return is_html and (b"watch-history" in head or b"activity-history" in head)


def _codec(label: str, name: str) -> str:
    """The Python codec of a declared character set, if it is one a browser saves pages in.

    Only the WHATWG Encoding Standard's encodings are: a label such as ``utf-7``,
    ``x-user-defined`` or a codec that is not a text encoding at all (``rot13``, ``base64``,
    ``zlib``) is a ParseError. As browsers do, a page that declares UTF-16 is read as UTF-8.
    """
    label = _WHATWG_ALIASES.get(label, label)
    try:
        codec = codecs.lookup(label).name
    except LookupError:
        codec = None
    if codec in _UTF16:
        return "utf-8"
    if codec not in _PAGE_CODECS:
        raise ParseError(
            f"declares the character set {events.excerpt(label)}, which is not one a "
            "browser saves pages in; save the page again as UTF-8",
            path=name,
        )
    return codec


def _encoding(data: bytes, name: str) -> tuple[bytes, str]:
    """The page as UTF-8 bytes for lxml, after checking every byte decodes with its declared
    encoding (a page in another encoding is transcoded: lxml then never meets a codec name
    that libxml2 does not know)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data, encoding = data[3:], "utf-8"
    else:
        m = _CHARSET.search(data[:4096])
        encoding = _codec(m.group(1).decode("ascii").lower(), name) if m else "utf-8"
    if encoding != "utf-8":
        try:
            return data.decode(encoding).encode("utf-8"), "utf-8"
        except UnicodeDecodeError as exc:
            raise _not_valid(encoding, exc.start, name) from None
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    step = 1 << 20
    for start in range(0, len(data), step):  # in chunks: never a second full copy
        try:
            decoder.decode(data[start : start + step], final=start + step >= len(data))
        except UnicodeDecodeError as exc:
            raise _not_valid(encoding, start + exc.start, name) from None
    return data, encoding


def _not_valid(encoding: str, offset: int, name: str) -> ParseError:
    return ParseError(
        f"is not valid {encoding} text (bad byte at offset {offset}); "
        "save the page again from the browser (as UTF-8)",
        path=name,
    )


def _text(el: etree._Element) -> str:
    return titles.decode("".join(el.itertext()))


def _date_text(section: etree._Element) -> str:
    nodes = X_DATE(section)
    if not nodes:
        return ""
    text = _text(nodes[0])
    if not text:
        attr = nodes[0].get("data-automation-id") or ""
        text = titles.decode(attr[len("wh-date") :].lstrip("-"))
    return text


def _item_gti(item: etree._Element) -> str | None:
    auto = item.get("data-automation-id") or ""
    if auto.startswith("wh-item-"):
        return auto[len("wh-item-") :]
    forms = X_DELETE_FORM(item)
    if forms:
        return forms[0].get("data-automation-id")[len("wh-delete-") :]
    return None


def _item_title(item: etree._Element) -> str:
    body = X_ITEM_BODY(item)
    scope = body[0] if body else item
    for link in X_LINKS(scope):
        text = _text(link)
        if text:
            return text
    for img in X_IMG_ALT(scope):
        alt = titles.decode(img.get("alt"))
        if alt:
            return alt
    return ""


def _gti_only(ref: str | None) -> str | None:
    """``ref`` if it is a gti; None for a 2021 ASIN (``B075TV9F2V``), which the store must not
    take for a gti: two different gtis are never one watch, and the same watch read from
    the JSON has its real gti."""
    return ref if ref and ref.startswith(GTI_PREFIX) else None


def _item_key(title: str, gti: str | None) -> str:
    """One item of a section signature: its title, or its id when it has none."""
    return title or str(gti)


def _json_signature(section: dict) -> Signature | None:
    """The signature of one inline JSON section (see :data:`Signature`)."""
    items = section.get("titles")
    if not isinstance(items, list):
        return None
    keys = []
    for item in items:
        if isinstance(item, dict):
            title = item.get("title")
            text = title.get("text") if isinstance(title, dict) else title
            name = titles.decode(text) if isinstance(text, str) else ""
            keys.append(_item_key(name, item.get("gti")))
    return titles.decode(str(section.get("date") or "")), tuple(keys)


@dataclass
class _Section:
    """One DOM date section as read: its events and the items refused (kind, reason, where),
    or the date that could not be read."""

    signature: Signature
    events: list[WatchEvent]
    unreadable: UnreadableDate | None = None
    refused: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass
class _Reader:
    """What streaming the page has found so far.

    ``locale`` is the language dates are read in and ``origin`` where it came from: the
    user's ``--locale`` (which the page's ``lang`` never overrides) or the page's ``lang``.
    """

    name: str
    locale: str | None
    origin: str = "given with --locale"
    inline: Flattened | None = None
    covered: Counter[Signature] = field(default_factory=Counter)
    broken_template: BadJSON | None = None
    sections: list[_Section] = field(default_factory=list)
    roots: int = 0
    sentinel: bool = False
    collapsed_seasons: int = 0
    collapsed_episodes: int = 0

    def page_lang(self, lang: str | None, *, user_given: bool) -> None:
        """The page's ``<html lang>``: the language of its dates unless the user gave one."""
        lang = (lang or "").strip()
        if lang and not user_given:
            self.locale, self.origin = lang, "of the page's <html lang>"

    def template(self, text: str) -> None:
        """One ``text/template``: each parsed in its own error handler (decoys abound)."""
        if self.inline is not None:
            return
        try:
            obj = read_json(text)
        except BadJSON as exc:
            if _HISTORY_TEMPLATE.search(text):
                self.broken_template = exc
            return
        widget = find_history_widget(obj)
        if widget is None:
            return
        where = f"{self.name}, inline history"
        page = read_widget(widget, where)
        try:
            self.inline = events_from_sections(
                page.sections, source=SOURCE, locale=self.locale, where=where, whole=True
            )
        except UnreadableDate as exc:
            inline = UnreadableDate(exc.header, f"inline history, {exc.place}", exc.cause)
            raise self.refuse(inline) from None
        for section in page.sections:
            signature = _json_signature(section) if isinstance(section, dict) else None
            if signature is not None:
                self.covered[signature] += 1

    def refuse(self, exc: UnreadableDate) -> ParseError:
        """The page refused whole for a date it cannot read."""
        return events.refuse_unreadable(
            exc, path=self.name, lang=self.locale, origin=self.origin, what="this page"
        )

    def section(self, section: etree._Element, index: int) -> None:
        """One DOM date section: its events, or the date header that could not be read."""
        items = X_ITEMS(section)
        if not items:
            return
        date_text = _date_text(section)
        names = [_item_title(item) for item in items]
        signature = (date_text, tuple(map(_item_key, names, map(_item_gti, items))))
        try:
            when = events.day_instant(parse_date(date_text, self.locale))
        except DateParseError as exc:
            shown = events.shorten(date_text)
            unreadable = UnreadableDate(shown, f"date section {index}", str(exc))
            self.sections.append(_Section(signature, [], unreadable))
            return
        read = _Section(signature, [])
        for number, (item, raw) in enumerate(zip(items, names, strict=True), start=1):
            try:
                self._item(item, raw, when, read.events)
            except RowRefused as exc:
                read.refused.append((exc.kind, exc.reason, f"date section {index}, item {number}"))
        self.sections.append(read)

    def _item(self, item: etree._Element, raw: str, when: datetime, into: list[WatchEvent]) -> None:
        """The events of one item into ``into``; :class:`RowRefused` when it cannot be a
        watch (its date outside the years a watch can have, a title or ids too long)."""
        at = Seen(when, "day", SOURCE, self.locale)
        events.bounded(raw)
        forms = X_DELETE_FORM(item)
        ids = X_DELETE_IDS(forms[0]) if forms else []
        value = events.bounded(ids[0].get("value"), events.MAX_ID, kind="id") if ids else ""
        gtis = [g for g in (value or "").split("_") if g]
        buttons = X_BUTTON(forms[0]) if forms else []
        button = _text(buttons[0]).lower() if buttons else ""
        rows = X_EPISODE_ROWS(item)
        if not (rows or len(gtis) > 1 or "episod" in button or X_TOGGLE(item)):
            ref = gtis[0] if gtis else _item_gti(item)
            event = events.movie(raw, at, gti=_gti_only(ref), ref=ref)
            into.extend([event] if event else [])
            return
        show, season = titles.season_title(raw)
        found: list[WatchEvent | None] = []
        for row in rows:
            attr = row.get("data-testid") or row.get("data-automation-id") or ""
            ref = attr.split("wh-episode-", 1)[1] if "wh-episode-" in attr else None
            paragraphs = X_PARAGRAPH(row)
            label = _text(paragraphs[0]) if paragraphs else _text(row)
            found.append(events.episode(show, season, at, label=label, gti=_gti_only(ref),
                                           ref=ref, raw=raw))  # fmt: skip
        if not rows:  # the list was not expanded: the delete form still names every episode
            self.collapsed_seasons += 1
            self.collapsed_episodes += len(gtis)
            # Its id (a 2021 ASIN too) is all such an episode is known by: kept as its gti, so
            # that importing the page again matches it and the catalog call can number it.
            found = [events.episode(show, season, at, gti=gti, raw=raw) for gti in gtis]
        into.extend(e for e in found if e)


def _is_section(li: etree._Element) -> bool:
    ul = li.getparent()
    root = ul.getparent() if ul is not None and ul.tag == "ul" else None
    return root is not None and root.get("data-automation-id") in ROOT_IDS


def parse(data: bytes, *, name: str, locale: str | None = None) -> Flattened:
    """All watch events of a saved page; a ParseError if the page cannot be read at all, or
    if a date header it needs cannot be read (then nothing of it is to be stored).

    ``locale`` is the user's ``--locale``: when given, it overrides the page's ``lang``.
    """
    if not data[-2048:].rstrip().lower().endswith(b"</html>"):
        raise ParseError(
            "ends before </html>: the page looks truncated; save it again after it has loaded",
            path=name,
        )
    body, encoding = _encoding(data, name)
    reader = _Reader(name=name, locale=locale or None)
    index = 0
    for event, el in _parsed(body, encoding, name):
        tag = el.tag
        if event == "start":
            if tag == "html":
                reader.page_lang(el.get("lang"), user_given=bool(locale))
            elif tag == "div" and el.get("data-automation-id") in ROOT_IDS:
                reader.roots += 1
            continue
        if tag == "script":
            if (el.get("type") or "").lower() == "text/template":
                reader.template(el.text or "")
            el.clear()
        elif tag == "li" and _is_section(el):
            index += 1
            reader.section(el, index)
            el.clear()
            parent = el.getparent()
            if parent is not None:
                parent.remove(el)
        elif tag == "noscript":
            grand = el.getparent().getparent() if el.getparent() is not None else None
            if grand is not None and grand.get("data-automation-id") in ROOT_IDS:
                reader.sentinel = True
    return _result(reader)


def _parsed(body: bytes, encoding: str, name: str) -> Iterator[tuple[str, etree._Element]]:
    """lxml's streamed events of the tags that matter; anything lxml raises (its own errors,
    an encoding it cannot use, a value it refuses) is a ParseError of the page."""
    try:
        events = etree.iterparse(
            io.BytesIO(body), events=("start", "end"), html=True, encoding=encoding,
            huge_tree=True, remove_comments=True, tag=("html", "div", "script", "li", "noscript"),
        )  # fmt: skip
        iterator = iter(events)
    except (etree.LxmlError, LookupError, ValueError) as exc:
        raise ParseError(f"cannot be read as HTML ({exc})", path=name) from None
    while True:
        try:
            event = next(iterator)
        except StopIteration:
            return
        except (etree.LxmlError, LookupError, ValueError) as exc:
            raise ParseError(f"cannot be read as HTML ({exc})", path=name) from None
        yield event


def _result(reader: _Reader) -> Flattened:
    name = reader.name
    if reader.inline is None and reader.broken_template is not None:
        problem = reader.broken_template
        advice = "the page looks truncated: save it again" if problem.truncated else "save it again"
        raise ParseError(f"has a history template that is {problem}; {advice}", path=name)
    if reader.inline is None and not reader.roots:
        raise ParseError(
            "is a Prime Video page but holds no watch history (neither the history JSON "
            "nor the history list); open Settings > Watch history, scroll to the end "
            "and save again",
            path=name,
        )
    out = Flattened()
    if reader.inline is not None:
        out.merge(reader.inline)
    covered = reader.covered
    for section in reader.sections:
        if covered[section.signature] > 0:  # the inline JSON has this section, exactly timed
            covered[section.signature] -= 1
            continue
        if section.unreadable is not None:
            raise reader.refuse(section.unreadable)
        out.events.extend(section.events)
        for kind, reason, where in section.refused:
            out.skip(kind, reason, where)
    if reader.collapsed_seasons:
        seasons, episodes = reader.collapsed_seasons, reader.collapsed_episodes
        out.warnings.append(
            f"{name}: {plural(seasons, 'season')} had no episode list on the page (not "
            f"expanded before saving, or Amazon showed none), so "
            f"{'its' if seasons == 1 else 'their'} {plural(episodes, 'episode')} "
            f"{'is' if episodes == 1 else 'are'} stored without episode numbers. Expand every "
            "'Episodes watched' list before saving the page, or use `pv2simkl fetch` to read "
            "the history directly."
        )
    if reader.sentinel:
        out.warnings.append(
            f"{name}: the page was saved before the history finished loading (the "
            "'more to load' marker is still there); scroll to the very end before saving."
        )
    return out
