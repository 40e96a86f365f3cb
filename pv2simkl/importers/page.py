"""A saved watch-history page (``Save page as…`` after scrolling to the end).

The inline ``text/template`` JSON holds the first chunk of the history only (exact
epoch-ms times); the DOM holds every section loaded since (localized date headers).
The JSON is taken for what it covers and the DOM for the rest, so no section counts
twice. A season whose episode list was not expanded before saving still yields its
episodes, from the gtis of its delete form, without numbers.

The page is streamed through lxml's ``iterparse`` and each date section is dropped once
read, rather than loaded whole into BeautifulSoup: a 20,000-event page is about 19 MB,
which a full tree holds in hundreds of MB and bs4 needs seconds for (bench/README.md).
"""

from __future__ import annotations

import codecs
import io
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree

from pv2simkl import titles
from pv2simkl.errors import ParseError
from pv2simkl.importers import normalise
from pv2simkl.importers.history_json import (
    Flattened,
    day_instant,
    events_from_sections,
    find_history_widget,
    read_widget,
)
from pv2simkl.importers.normalise import Seen
from pv2simkl.locales import DateParseError, parse_date
from pv2simkl.models import WatchEvent

NAME = "saved page"
SOURCE = "page"

_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_\-]+)""", re.IGNORECASE)

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
X_TOGGLE = etree.XPath('.//*[starts-with(@data-testid, "wh-episodes-watched-")]')
X_EPISODE_ROWS = etree.XPath(
    './/*[starts-with(@data-testid, "wh-episode-")'
    ' or (starts-with(@data-automation-id, "wh-episode")'
    ' and not(starts-with(@data-automation-id, "wh-episodes")))]'
)
X_PARAGRAPH = etree.XPath(".//p")

Signature = tuple[str, tuple[str, ...]]


def sniff(head: bytes) -> bool:
    """HTML that mentions the watch-history page's hooks."""
    lower = head[:4096].lower()
    is_html = b"<html" in lower or b"<!doctype html" in lower
    return is_html and (b"watch-history" in head or b"activity-history-items" in head)


def _encoding(data: bytes, name: str) -> tuple[bytes, str]:
    """The page's declared encoding, after checking every byte decodes with it."""
    if data.startswith(b"\xef\xbb\xbf"):
        data, encoding = data[3:], "utf-8"
    else:
        m = _CHARSET.search(data[:4096])
        encoding = m.group(1).decode("ascii").lower() if m else "utf-8"
    try:
        decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    except LookupError:
        raise ParseError(
            f"declares the unknown character set {encoding!r}; save the page again as UTF-8",
            path=name,
        ) from None
    step = 1 << 20
    for start in range(0, len(data), step):  # in chunks: never a second full copy
        try:
            decoder.decode(data[start : start + step], final=start + step >= len(data))
        except UnicodeDecodeError as exc:
            raise ParseError(
                f"is not valid {encoding} text (bad byte at offset {start + exc.start}); "
                "save the page again from the browser (as UTF-8)",
                path=name,
            ) from None
    return data, encoding


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


@dataclass
class _Reader:
    """What streaming the page has found so far."""

    name: str
    locale: str | None
    inline: Flattened | None = None
    covered: Counter[Signature] = field(default_factory=Counter)
    broken_template: json.JSONDecodeError | None = None
    sections: list[tuple[Signature, list[WatchEvent], str | None]] = field(default_factory=list)
    roots: int = 0
    sentinel: bool = False
    collapsed_seasons: int = 0
    collapsed_episodes: int = 0

    def template(self, text: str) -> None:
        """One ``text/template``: each parsed in its own error handler (decoys abound)."""
        if self.inline is not None:
            return
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            if "watch-history" in text:
                self.broken_template = exc
            return
        widget = find_history_widget(obj)
        if widget is None:
            return
        where = f"{self.name}, inline history"
        page = read_widget(widget, where)
        self.inline = events_from_sections(
            page.sections, source=SOURCE, locale=self.locale, where=where
        )
        for section in page.sections:
            if isinstance(section, dict) and isinstance(section.get("titles"), list):
                gtis = tuple(str(i.get("gti")) for i in section["titles"] if isinstance(i, dict))
                self.covered[(titles.decode(str(section.get("date") or "")), gtis)] += 1

    def section(self, section: etree._Element, index: int) -> None:
        date_text = _date_text(section)
        items = X_ITEMS(section)
        signature = (date_text, tuple(str(_item_gti(i)) for i in items))
        if not items:
            return
        try:
            when = day_instant(parse_date(date_text, self.locale))
        except DateParseError as exc:
            error = f"{self.name}, date section {index} ({date_text!r}): {exc}; skipped"
            self.sections.append((signature, [], error))
            return
        events: list[WatchEvent] = []
        for item in items:
            self._item(item, when, events)
        self.sections.append((signature, events, None))

    def _item(self, item: etree._Element, when: datetime, events: list[WatchEvent]) -> None:
        raw = _item_title(item)
        forms = X_DELETE_FORM(item)
        ids = X_DELETE_IDS(forms[0]) if forms else []
        gtis = [g for g in (ids[0].get("value") or "").split("_") if g] if ids else []
        buttons = X_BUTTON(forms[0]) if forms else []
        button = _text(buttons[0]).lower() if buttons else ""
        rows = X_EPISODE_ROWS(item)
        at = Seen(when, "day", SOURCE, self.locale)
        if not (X_TOGGLE(item) or rows or "episod" in button):
            event = normalise.movie(raw, at, gti=gtis[0] if gtis else _item_gti(item))
            events.extend([event] if event else [])
            return
        show, season = titles.season_title(raw)
        found: list[WatchEvent | None] = []
        for row in rows:
            attr = row.get("data-testid") or row.get("data-automation-id") or ""
            gti = attr.split("wh-episode-", 1)[1] if "wh-episode-" in attr else None
            paragraphs = X_PARAGRAPH(row)
            label = _text(paragraphs[0]) if paragraphs else _text(row)
            found.append(normalise.episode(show, season, at, label=label, gti=gti, raw=raw))
        if not rows:  # the list was not expanded: the delete form still names every episode
            self.collapsed_seasons += 1
            self.collapsed_episodes += len(gtis)
            found = [normalise.episode(show, season, at, gti=gti, raw=raw) for gti in gtis]
        events.extend(e for e in found if e)


def _is_section(li: etree._Element) -> bool:
    ul = li.getparent()
    root = ul.getparent() if ul is not None and ul.tag == "ul" else None
    return root is not None and root.get("data-automation-id") in ROOT_IDS


def parse(data: bytes, *, name: str, locale: str | None = None) -> Flattened:
    """All watch events of a saved page; a ParseError if the page cannot be read at all."""
    if not data[-2048:].rstrip().lower().endswith(b"</html>"):
        raise ParseError(
            "ends before </html>: the page looks truncated; save it again after it has loaded",
            path=name,
        )
    body, encoding = _encoding(data, name)
    reader = _Reader(name=name, locale=locale)
    index = 0
    try:
        events = etree.iterparse(
            io.BytesIO(body), events=("start", "end"), html=True, encoding=encoding,
            huge_tree=True, remove_comments=True, tag=("html", "div", "script", "li", "noscript"),
        )  # fmt: skip
        for event, el in events:
            tag = el.tag
            if event == "start":
                if tag == "html" and el.get("lang"):
                    reader.locale = el.get("lang").strip() or locale
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
    except etree.LxmlError as exc:
        raise ParseError(f"cannot be read as HTML ({exc})", path=name) from None
    return _result(reader)


def _result(reader: _Reader) -> Flattened:
    name = reader.name
    if reader.inline is None and reader.broken_template is not None:
        raise ParseError(
            f"has a history template that is broken JSON ({reader.broken_template.msg}); "
            "the page looks truncated: save it again",
            path=name,
        )
    if reader.inline is None and not reader.roots:
        raise ParseError(
            "is a Prime Video page but holds no watch history (neither the history JSON "
            "nor the history list); open Settings > Watch history, scroll to the end "
            "and save again",
            path=name,
        )
    out = Flattened()
    if reader.inline is not None:
        out.events.extend(reader.inline.events)
        out.warnings.extend(reader.inline.warnings)
        out.errors.extend(reader.inline.errors)
    covered = reader.covered
    for signature, events, error in reader.sections:
        if covered[signature] > 0:  # the inline JSON has this section, with exact times
            covered[signature] -= 1
            continue
        out.events.extend(events)
        if error:
            out.errors.append(error)
    if reader.collapsed_seasons:
        out.warnings.append(
            f"{name}: {reader.collapsed_seasons} season(s) were saved without their episode "
            f"list expanded, so their {reader.collapsed_episodes} episode(s) are stored "
            "without episode numbers. Expand every 'Episodes watched' list before saving "
            "the page, or use `pv2simkl fetch` to read the history directly."
        )
    if reader.sentinel:
        out.warnings.append(
            f"{name}: the page was saved before the history finished loading (the "
            "'more to load' marker is still there); scroll to the very end before saving."
        )
    return out
