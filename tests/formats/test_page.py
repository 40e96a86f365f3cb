"""Saved watch-history pages: inline JSON for page 1, the DOM for the rest; 2021 and today."""

from __future__ import annotations

import copy
import html
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from golden_support import LOCALE_SAMPLES, SAMPLES, GoldenCheck, imported

from fixtures import generator
from fixtures.real_samples import REAL_SAMPLES
from pv2simkl.errors import ParseError
from pv2simkl.formats import page, parse_bytes
from pv2simkl.models import WatchEvent

REAL = REAL_SAMPLES


@pytest.mark.parametrize("locale", LOCALE_SAMPLES)
@pytest.mark.parametrize("variant", ["expanded", "collapsed", "dom-only"])
def test_saved_page_matches_expected_events(golden: GoldenCheck, locale: str, variant: str) -> None:
    folder = SAMPLES / locale
    warnings = golden([folder / f"saved-page-{variant}.html"],
                      folder / f"saved-page-{variant}.expected.jsonl")  # fmt: skip
    if variant == "collapsed":
        assert any("had no episode list on the page (not expanded" in w for w in warnings)
        assert any("pv2simkl fetch" in w for w in warnings)


@pytest.mark.parametrize(
    ("locale", "shape", "site", "rewatch"),
    [("en-GB", "legacy-dom", "amazon", True), ("fr-FR", "current-dom", "primevideo", False),
     ("ja-JP", "legacy-dom", "primevideo", False), ("pt-BR", "current-dom", "amazon", True)],
)  # fmt: skip
def test_generated_1000_event_pages(
    golden: GoldenCheck, tmp_path: Path, locale: str, shape: str, site: str, rewatch: bool
) -> None:
    history = generator.build_history(11, 1000, locale)
    options = generator.PageOptions(site=site, region="eu", page_sections=20, shape=shape,
                                    rewatch_visible=rewatch)  # fmt: skip
    for variant in ("expanded", "collapsed"):
        path = tmp_path / f"{variant}.html"
        generator.write_saved_page(history, path, variant=variant, options=options)
        golden([path], generator.expected_path(path))


def test_no_section_counted_twice(tmp_path: Path) -> None:
    # The first sections are in the inline JSON *and* the DOM: the JSON wins, with exact times.
    got, _, _ = imported([SAMPLES / "de-DE" / "saved-page-expanded.html"])
    rows = [__import__("json").loads(k) for k in got.elements()]
    gtis = [r["gti"] for r in rows]
    assert len(gtis) == len(set(gtis))
    assert {r["precision"] for r in rows} == {"exact", "day"}


def test_empty_history_page_yields_nothing() -> None:
    got, warnings, _ = imported([SAMPLES / "empty" / "saved-page-expanded.html"])
    assert not got and not warnings


def test_truncated_page_is_a_parse_error() -> None:
    data = (SAMPLES / "en-US" / "saved-page-expanded.html").read_bytes()
    with pytest.raises(ParseError, match="truncated"):
        page.parse(data[: len(data) // 3], name="cut.html")


def test_truncated_inline_template_is_a_parse_error() -> None:
    data = (SAMPLES / "en-US" / "saved-page-expanded.html").read_bytes()
    start = data.index(b'"widgetType":"watch-history"')
    broken = data[:start] + b'"widgetType":"watch-history","content":{' + b"</script></body></html>"
    with pytest.raises(ParseError, match="broken JSON"):
        page.parse(broken, name="broken.html")


def test_wrong_encoding_is_a_parse_error() -> None:
    data = (SAMPLES / "de-DE" / "saved-page-expanded.html").read_bytes()
    latin = data.decode("utf-8").encode("latin-1", errors="replace")
    with pytest.raises(ParseError, match="not valid utf-8"):
        page.parse(latin, name="latin.html")


def test_declared_latin1_page_is_read() -> None:
    html = (
        '<!DOCTYPE html><html lang="de-de"><head><meta charset="iso-8859-1"></head><body>'
        '<div data-automation-id="activity-history-items"><ul><li>'
        '<div data-automation-id="wh-date-5. März 2024"><h3>5. März 2024</h3></div><ul>'
        '<li data-automation-id="wh-item-g1"><div data-testid="activity-history-item">'
        '<a href="/detail/0A/">Die Brücke</a></div></li></ul></li></ul></div></body></html>'
    ).encode("latin-1")
    (event,) = page.parse(html, name="x.html").events
    assert (event.title, event.watched_at.date().isoformat()) == ("Die Brücke", "2024-03-05")


def test_page_saved_before_loading_finished_warns() -> None:
    data = (SAMPLES / "en-US" / "live-page.html").read_bytes()
    flat = page.parse(data, name="live.html")
    assert flat.events
    assert any("finished loading" in w for w in flat.warnings)


def test_regression_episode_rows_never_become_movies() -> None:
    # An earlier tool read every descendant li as an item: episodes became "Unknown Title" movies.
    got, _, _ = imported([SAMPLES / "fr-FR" / "saved-page-dom-only.html"])
    rows = [__import__("json").loads(k) for k in got.elements()]
    movies = {r["title"] for r in rows if r["kind"] == "movie"}
    assert not any(t.startswith(("Épisode", "Episode")) for t in movies)


# ---- the real Spanish page -------------------------------------------------------------


def _rows(events: list[WatchEvent]) -> list[tuple]:
    return [(e.kind, e.title, e.season, e.episode, e.watched_at, e.precision) for e in events]


def _day(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 12, tzinfo=UTC)


# The README's reading of saved-page-es.html (local days: precision day, 12:00 UTC).
SPANISH_ROWS = [
    ("episode", "Fallout", 1, 2, _day(2024, 4, 23), "day"),
    ("episode", "Fallout", 1, 3, _day(2024, 4, 23), "day"),
    ("episode", "INVENCIBLE", 2, 1, _day(2024, 4, 23), "day"),
    ("episode", "The Boys", 4, 4, _day(2024, 7, 5), "day"),
    ("episode", "The Boys", 4, 5, _day(2024, 7, 5), "day"),
    ("episode", "Generación V", 1, 8, _day(2024, 7, 5), "day"),
    ("episode", "Hotel Hazbin", 2, 1, _day(2025, 2, 12), "day"),
    ("episode", "Dororo", None, 6, _day(2025, 2, 12), "day"),
]


def test_real_saved_page_es_reads_as_its_readme_says() -> None:
    # Needs the Spanish season forms (`2.ª TEMPORADA`, `Segunda temporada`) in titles.py.
    path = REAL / "saved-page-es.html"
    fmt, flat = parse_bytes(path.read_bytes(), path.name)
    assert fmt == page.NAME
    assert _rows(flat.events) == SPANISH_ROWS
    assert {e.locale for e in flat.events} == {"es-es"}
    assert all(e.episode_title is None and e.source == "page" for e in flat.events)
    assert not flat.errors and not flat.warnings and not flat.unreadable


def test_real_saved_page_es_dates_are_local_days() -> None:
    # Independent of the season words: every date of the page, as days at 12:00 UTC.
    flat = page.parse((REAL / "saved-page-es.html").read_bytes(), name="es.html")
    days = [(e.watched_at.date(), e.watched_at.time().hour, e.precision) for e in flat.events]
    assert (
        days
        == [(date(2024, 4, 23), 12, "day")] * 3
        + [(date(2024, 7, 5), 12, "day")] * 3
        + [(date(2025, 2, 12), 12, "day")] * 2
    )


# ---- dates: the page's language, --locale, refusal ------------------------------------


def _page(lang: str, sections: list[tuple[str, str]]) -> bytes:
    """A small current-shape page: one movie per (date header, title) section."""
    body = "".join(
        f'<li><div data-automation-id="wh-date-{html.escape(d)}"><h3>{html.escape(d)}</h3></div>'
        f'<ul><li data-automation-id="wh-item-g{i}"><div data-testid="activity-history-item">'
        f'<a href="/detail/0A{i}/">{html.escape(t)}</a></div></li></ul></li>'
        for i, (d, t) in enumerate(sections)
    )
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"></head><body>'
        f'<div data-automation-id="activity-history-items"><ul>{body}</ul></div></body></html>'
    ).encode()


def test_unknown_language_page_is_refused_whole() -> None:
    # A page in a language nobody reads used to import the rows whose month happened to
    # match a known language ("5 mars 2024") and drop the rest without a word.
    data = _page("tlh", [("5 mars 2024", "Heat"), ("23 jar wej 2024", "Ronin"),
                         ("1 jar cha' 2024", "Alien")])  # fmt: skip
    with pytest.raises(ParseError) as caught:
        page.parse(data, name="tlh.html")
    message = str(caught.value)
    assert message.startswith("tlh.html: ") and message.count(";") == 1
    assert "'23 jar wej 2024' (date section 2)" in message
    assert "(tlh), the language of the page's <html lang>" in message
    assert "--locale xx-XX" in message and "nothing of this page was stored" in message


def test_unreadable_date_refuses_the_page_whole() -> None:
    data = _page("en-us", [("March 5, 2024", "Kept Movie"), ("Smarch 5, 2024", "Lost Movie")])
    with pytest.raises(ParseError, match=r"'Smarch 5, 2024' \(date section 2\)"):
        page.parse(data, name="x.html")


def test_refusal_through_the_import_entry_stores_nothing() -> None:
    data = _page("tlh", [("5 mars 2024", "Heat"), ("23 jar wej 2024", "Ronin")])
    with pytest.raises(ParseError, match="jar wej"):
        parse_bytes(data, "tlh.html")


def test_locale_flag_overrides_page_lang() -> None:
    # The page's lang used to win over --locale, so a wrong lang could not be corrected.
    data = _page("en-us", [("05/03/2024", "Heat")])
    (as_page_says,) = page.parse(data, name="p.html").events
    (as_user_says,) = page.parse(data, name="p.html", locale="en-GB").events
    assert (as_page_says.watched_at.date(), as_page_says.locale) == (date(2024, 5, 3), "en-us")
    assert (as_user_says.watched_at.date(), as_user_says.locale) == (date(2024, 3, 5), "en-GB")


def test_wrong_page_lang_is_fixed_by_locale_and_named_without_it() -> None:
    data = _page("tlh", [("23 jar wej 2024", "Ronin")])
    with pytest.raises(ParseError, match=r"\(tlh\), the language of the page's <html lang>"):
        page.parse(data, name="p.html")
    with pytest.raises(ParseError, match=r"German \(de-DE\), the language given with --locale"):
        page.parse(data, name="p.html", locale="de-DE")


def test_page_without_lang_reads_dates_in_any_known_language() -> None:
    data = _page("", [("23. April 2024", "Das Boot")])
    (event,) = page.parse(data, name="p.html").events
    assert (event.title, event.watched_at) == ("Das Boot", _day(2024, 4, 23))


# ---- the 2021 generation ----------------------------------------------------------------

REAL_REPLY = REAL / "history-json-fr-2022.json"


def _sections_2021() -> list[dict[str, Any]]:
    """The real reply's sections as the 2021 page held them: no ``titleType``, delete
    actions naming ASINs (``B07…``) instead of gtis."""
    doc = json.loads(REAL_REPLY.read_text(encoding="utf-8"))
    (widget,) = [w for w in doc["widgets"] if w.get("widgetType") == "watch-history"]
    sections = copy.deepcopy(widget["content"]["content"]["titles"])
    asin = 0
    for section in sections:
        for item in section["titles"]:
            for node in [item, *item["children"]]:
                node.pop("titleType", None)
                asin += 1
                node["asin"] = f"B07{asin:07d}"  # what the 2021 DOM names it by
                node["actions"]["REMOVE"]["query"]["titleIds"] = node["asin"]
    return sections


def _legacy_item(item: dict[str, Any], expanded: bool) -> str:
    """One 2021 item: ``data-automation-id`` hooks only, no ``data-testid``."""
    title = html.escape(html.unescape(item["title"]["text"]))
    href = html.escape(item["title"]["href"])
    asins = "_".join(child["asin"] for child in item["children"])
    out = (
        f'<li data-automation-id="wh-item-{item["asin"]}"><div>'
        f'<a href="{href}"><img alt="{title}" src="{item["imageSrc"]}"></a>'
        f'<a href="{href}">{title}</a></div>'
        f'<form data-automation-id="wh-delete-{item["asin"]}">'
        f'<input type="hidden" name="titleIds" value="{asins}">'
        '<button type="submit">Supprimer les épisodes de l\'historique</button></form>'
        '<div><input type="checkbox" id="cb"><label for="cb">Épisodes regardés</label></div>'
    )
    if expanded:
        rows = "".join(
            f'<li><div data-automation-id="wh-episode-{child["asin"]}"><div>'
            f"<p>{html.escape(child['title']['text'])}</p></div></div></li>"
            for child in item["children"]
        )
        out += f"<ul>{rows}</ul>"
    return out + "</li>"


def _page_2021(inline: int, *, expanded: bool = True) -> bytes:
    """A saved 2021 page: the first ``inline`` sections in its ``activity-history``
    template, every section in its legacy DOM."""
    sections = _sections_2021()
    widget = {
        "widgetType": "activity-history",
        "content": {"content": {"titles": sections[:inline], "nextStartIndex": 20}},
    }
    template = json.dumps({"props": {"widgets": [widget]}}, ensure_ascii=False)
    dom = "".join(
        f'<li><div data-automation-id="wh-date-{s["date"]}"><h3>{s["date"]}</h3></div><ul>'
        + "".join(_legacy_item(item, expanded) for item in s["titles"])
        + "</ul></li>"
        for s in sections
    )  # fmt: skip
    return (
        '<!DOCTYPE html><html lang="fr-fr"><head><meta charset="utf-8">'
        "<title>Prime Video : Historique de visionnage</title></head><body>"
        '<script type="text/template">{"props":{"widgets":[]}}</script>'
        f'<script type="text/template">{template}</script>'
        f'<div data-automation-id="activity-history-items"><ul>{dom}</ul></div></body></html>'
    ).encode()


# The real reply's episodes: (episode, title, epoch ms, local day of its section).
MENTALIST = [
    (18, "Patates Rouges", 1657656159162, date(2022, 7, 12)),
    (15, "Fièvre Rouge", 1657307824471, date(2022, 7, 8)),
    (12, "Mauvais Sort", 1656789677984, date(2022, 7, 2)),
    (11, "Les Amis De John Le Rouge", 1656617210767, date(2022, 6, 30)),
    (7, "Le Rouge De La Colère", 1656356816661, date(2022, 6, 27)),
    (4, "La Veuve Rouge", 1655752036098, date(2022, 6, 20)),
    (3, "Vague Sanglante", 1655668917455, date(2022, 6, 19)),
    (1, "Pilot", 1655062758433, date(2022, 6, 12)),
]


def _mentalist(inline: int, *, numbered_after: bool = True) -> list[tuple]:
    """What a 2021 page with ``inline`` sections in its template must read as."""
    rows = []
    for index, (number, title, ms, day) in enumerate(MENTALIST):
        if index < inline:
            at, precision = datetime.fromtimestamp(ms / 1000, tz=UTC), "exact"
        else:
            at, precision = _day(day.year, day.month, day.day), "day"
        known = index < inline or numbered_after
        rows.append(("episode", "The Mentalist", 1, number if known else None,
                     title if known else None, at, precision))  # fmt: skip
    return rows


def _episodes(events: list[WatchEvent]) -> list[tuple]:
    return [(e.kind, e.title, e.season, e.episode, e.episode_title, e.watched_at, e.precision)
            for e in events]  # fmt: skip


def test_saved_page_2021_reads_template_and_legacy_dom() -> None:
    data = _page_2021(3)
    assert b"data-testid" not in data and b"watch-history" not in data
    fmt, flat = parse_bytes(data, "2021.html")
    assert fmt == page.NAME
    assert _episodes(flat.events) == _mentalist(3)
    assert not flat.errors and not flat.warnings
    # The 2021 DOM names episodes by ASIN: kept as their source_ref, never as a gti (the JSON
    # names the same watches by gti, and two different gtis are never one watch).
    assert [e.gti for e in flat.events[3:]] == [None] * 5
    assert [e.source_ref for e in flat.events[3:]] == ["B070000008", "B070000010", "B070000012",
                                                       "B070000014", "B070000016"]  # fmt: skip
    assert all(e.gti and e.gti.startswith("amzn1.dv.gti.") for e in flat.events[:3])


def test_saved_page_2021_collapsed_yields_episodes_from_its_asins() -> None:
    # An unexpanded season's episodes are known by their ASINs only: kept as their ids.
    flat = page.parse(_page_2021(2, expanded=False), name="2021.html")
    assert _episodes(flat.events) == _mentalist(2, numbered_after=False)
    assert [e.gti for e in flat.events[2:]] == [
        "B070000006",
        "B070000008",
        "B070000010",
        "B070000012",
        "B070000014",
        "B070000016",
    ]
    assert any("had no episode list on the page (not expanded" in w for w in flat.warnings)


@pytest.mark.parametrize("locale", LOCALE_SAMPLES)
def test_generated_2021_saved_page_matches_expected_events(
    golden: GoldenCheck, locale: str
) -> None:
    path = SAMPLES / locale / "saved-page-2021.html"
    golden([path], generator.expected_path(path))


def test_saved_page_2021_dom_only() -> None:
    flat = page.parse(_page_2021(0), name="2021.html")
    assert _episodes(flat.events) == _mentalist(0)


def test_unreadable_header_of_a_section_the_inline_json_has_is_not_needed() -> None:
    # Every section is in the template, with exact times: the DOM's headers are not read.
    data = _page_2021(8).replace(b"12 juillet 2022", b"12 jar wej 2022")
    flat = page.parse(data.replace(b'lang="fr-fr"', b'lang="tlh"'), name="2021.html")
    assert _episodes(flat.events) == _mentalist(8)
