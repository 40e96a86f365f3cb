"""A saved watch-history page (``Save page as…`` after scrolling to the end).

The inline ``text/template`` JSON holds the first chunk of the history only (exact
epoch-ms times); the DOM holds every section loaded since (localized date headers).
The JSON is taken for what it covers and the DOM for the rest, so no section counts
twice. A season whose episode list was not expanded before saving still yields its
episodes, from the gtis of its delete form, without numbers.

The DOM is read with lxml and XPath rather than BeautifulSoup: a 20,000-event page is
about 15 MB, which bs4 needs seconds for and lxml a fraction of one (bench/README.md).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass

import lxml.html
from lxml import etree

from pv2simkl import titles
from pv2simkl.errors import ParseError
from pv2simkl.importers.history_json import (
    Flattened,
    day_instant,
    events_from_sections,
    find_history_widget,
    read_widget,
)
from pv2simkl.locales import DateParseError, parse_date
from pv2simkl.models import WatchEvent

NAME = "saved page"
SOURCE = "page"

_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_\-]+)""", re.IGNORECASE)

# Every hook is tried in order; Amazon moves them between data-automation-id and data-testid.
X_ROOT = (
    '//div[@data-automation-id="activity-history-items"]',
    '//div[@data-automation-id="watch-history"]',
)
X_SECTIONS = "./ul/li"
X_DATE = './/*[starts-with(@data-automation-id, "wh-date")]'
X_ITEMS = "./ul/li"
X_ITEM_BODY = './/*[@data-testid="activity-history-item"]'
X_LINKS = './/a[contains(@href, "/detail/")]'
X_DELETE_IDS = './/form[starts-with(@data-automation-id, "wh-delete-")]//input[@name="titleIds"]'
X_DELETE_BUTTON = './/form[starts-with(@data-automation-id, "wh-delete-")]//button'
X_TOGGLE = './/*[starts-with(@data-testid, "wh-episodes-watched-")]'
X_EPISODE_ROWS = (
    './/*[starts-with(@data-testid, "wh-episode-")'
    ' or (starts-with(@data-automation-id, "wh-episode")'
    ' and not(starts-with(@data-automation-id, "wh-episodes")))]'
)


def sniff(head: bytes) -> bool:
    """HTML that mentions the watch-history page's hooks."""
    lower = head[:4096].lower()
    is_html = b"<html" in lower or b"<!doctype html" in lower
    return is_html and (b"watch-history" in head or b"activity-history-items" in head)


def _decode(data: bytes, name: str) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data, encoding = data[3:], "utf-8"
    else:
        m = _CHARSET.search(data[:4096])
        encoding = m.group(1).decode("ascii").lower() if m else "utf-8"
    try:
        return data.decode(encoding)
    except LookupError:
        raise ParseError(
            f"declares the unknown character set {encoding!r}; save the page again as UTF-8",
            path=name,
        ) from None
    except UnicodeDecodeError as exc:
        raise ParseError(
            f"is not valid {encoding} text (bad byte at offset {exc.start}); "
            "save the page again from the browser (as UTF-8)",
            path=name,
        ) from None


@dataclass
class _Inline:
    page: Flattened
    signatures: Counter[tuple[str, tuple[str, ...]]]


def _inline_history(doc: lxml.html.HtmlElement, name: str, locale: str | None) -> _Inline | None:
    """The page's history template, or None when the page has none.

    Every template is parsed in its own error handler: the page holds decoys that are
    valid JSON without the widget and templates that are not JSON at all.
    """
    broken = None
    for script in doc.iter("script"):
        if (script.get("type") or "").lower() != "text/template":
            continue
        text = script.text or ""
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            if "watch-history" in text:
                broken = exc
            continue
        widget = find_history_widget(obj)
        if widget is None:
            continue
        page = read_widget(widget, f"{name}, inline history")
        flat = events_from_sections(
            page.sections, source=SOURCE, locale=locale, where=f"{name}, inline history"
        )
        signatures: Counter[tuple[str, tuple[str, ...]]] = Counter()
        for section in page.sections:
            if isinstance(section, dict):
                items = section.get("titles") if isinstance(section.get("titles"), list) else []
                gtis = tuple(str(i.get("gti")) for i in items if isinstance(i, dict))
                signatures[(titles.decode(str(section.get("date") or "")), gtis)] += 1
        return _Inline(flat, signatures)
    if broken is not None:
        raise ParseError(
            f"has a history template that is broken JSON ({broken.msg}); "
            "the page looks truncated: save it again",
            path=name,
        )
    return None


def _text(el: etree._Element) -> str:
    return titles.decode(el.text_content())


def _date_text(section: etree._Element) -> str:
    nodes = section.xpath(X_DATE)
    if not nodes:
        return ""
    node = nodes[0]
    text = _text(node)
    if not text:
        attr = node.get("data-automation-id") or ""
        text = titles.decode(attr[len("wh-date") :].lstrip("-"))
    return text


def _item_gti(item: etree._Element) -> str | None:
    auto = item.get("data-automation-id") or ""
    if auto.startswith("wh-item-"):
        return auto[len("wh-item-") :]
    forms = item.xpath('.//form[starts-with(@data-automation-id, "wh-delete-")]')
    if forms:
        return forms[0].get("data-automation-id")[len("wh-delete-") :]
    return None


def _item_title(item: etree._Element) -> str:
    body = item.xpath(X_ITEM_BODY)
    scope = body[0] if body else item
    links = scope.xpath(X_LINKS)
    for link in links:
        text = _text(link)
        if text:
            return text
    for img in scope.xpath(".//img[@alt]"):
        alt = titles.decode(img.get("alt"))
        if alt:
            return alt
    return ""


@dataclass
class _DomResult:
    events: list[WatchEvent]
    collapsed_seasons: int
    collapsed_episodes: int
    errors: list[str]


def _dom_sections(
    root: etree._Element,
    name: str,
    locale: str | None,
    covered: Counter[tuple[str, tuple[str, ...]]],
) -> _DomResult:
    result = _DomResult([], 0, 0, [])
    for index, section in enumerate(root.xpath(X_SECTIONS)):
        date_text = _date_text(section)
        items = section.xpath(X_ITEMS)
        signature = (date_text, tuple(str(_item_gti(i)) for i in items))
        if covered[signature] > 0:
            covered[signature] -= 1
            continue
        if not items:
            continue
        try:
            when = day_instant(parse_date(date_text, locale))
        except DateParseError as exc:
            result.errors.append(
                f"{name}, date section {index + 1} ({date_text!r}): {exc}; this section was skipped"
            )
            continue
        for item in items:
            _dom_item(item, when, locale, result)
    return result


def _dom_item(item: etree._Element, when, locale: str | None, result: _DomResult) -> None:
    raw = _item_title(item)
    ids_input = item.xpath(X_DELETE_IDS)
    gtis = [g for g in (ids_input[0].get("value") or "").split("_") if g] if ids_input else []
    buttons = item.xpath(X_DELETE_BUTTON)
    button = _text(buttons[0]).lower() if buttons else ""
    rows = item.xpath(X_EPISODE_ROWS)
    is_series = bool(item.xpath(X_TOGGLE)) or bool(rows) or "episod" in button
    if not is_series:
        if not raw or titles.is_extra(raw):
            return
        title, year = titles.clean_movie_title(raw)
        gti = gtis[0] if gtis else _item_gti(item)
        result.events.append(
            WatchEvent(
                kind="movie",
                title=title,
                year=year,
                watched_at=when,
                precision="day",
                source=SOURCE,
                source_ref=gti,
                gti=gti,
                locale=locale,
                raw_title=raw,
            )
        )
        return
    show, season = titles.season_title(raw)
    if rows:
        for row in rows:
            attr = row.get("data-testid") or row.get("data-automation-id") or ""
            gti = attr.split("wh-episode-", 1)[1] if "wh-episode-" in attr else None
            paragraphs = row.xpath(".//p")
            label = _text(paragraphs[0]) if paragraphs else _text(row)
            if titles.is_extra(label):
                continue
            number, episode_title = titles.parse_episode_label(label)
            result.events.append(
                WatchEvent(
                    kind="episode",
                    title=show,
                    season=season,
                    episode=number,
                    episode_title=episode_title,
                    watched_at=when,
                    precision="day",
                    source=SOURCE,
                    source_ref=gti,
                    gti=gti,
                    locale=locale,
                    raw_title=raw,
                )
            )
        return
    result.collapsed_seasons += 1
    result.collapsed_episodes += len(gtis)
    for gti in gtis:
        result.events.append(
            WatchEvent(
                kind="episode",
                title=show,
                season=season,
                watched_at=when,
                precision="day",
                source=SOURCE,
                source_ref=gti,
                gti=gti,
                locale=locale,
                raw_title=raw,
            )
        )


def parse(data: bytes, *, name: str, locale: str | None = None) -> Flattened:
    """All watch events of a saved page; a ParseError if the page cannot be read at all."""
    text = _decode(data, name)
    tail = text[-2048:].rstrip().lower()
    if not tail.endswith("</html>"):
        raise ParseError(
            "ends before </html>: the page looks truncated; save it again after it has loaded",
            path=name,
        )
    try:
        doc = lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError) as exc:
        raise ParseError(f"cannot be read as HTML ({exc})", path=name) from None
    lang = (doc.get("lang") or "").strip() or locale
    inline = _inline_history(doc, name, lang)
    roots = next((found for xp in X_ROOT if (found := doc.xpath(xp))), [])
    out = Flattened()
    covered: Counter[tuple[str, tuple[str, ...]]] = Counter()
    if inline is not None:
        out.events.extend(inline.page.events)
        out.warnings.extend(inline.page.warnings)
        out.errors.extend(inline.page.errors)
        covered = inline.signatures
    elif not roots:
        raise ParseError(
            "is a Prime Video page but holds no watch history (neither the history JSON "
            "nor the history list); open Settings > Watch history, scroll to the end "
            "and save again",
            path=name,
        )
    if roots:
        root = roots[0]
        inner = root.xpath('.//div[@data-automation-id="activity-history-items"]')
        if inner and inner[0] is not root:
            root = inner[0]
        dom = _dom_sections(root, name, lang, covered)
        out.events.extend(dom.events)
        out.errors.extend(dom.errors)
        if dom.collapsed_seasons:
            out.warnings.append(
                f"{name}: {dom.collapsed_seasons} season(s) were saved without their episode "
                f"list expanded, so their {dom.collapsed_episodes} episode(s) are stored without "
                "episode numbers. Expand every 'Episodes watched' list before saving the page, "
                "or use `pv2simkl fetch` to read the history directly."
            )
        if root.xpath("./div/noscript"):
            out.warnings.append(
                f"{name}: the page was saved before the history finished loading (the "
                "'more to load' marker is still there); scroll to the very end before saving."
            )
    return out
