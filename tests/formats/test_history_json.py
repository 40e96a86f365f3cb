"""History API pages (getWatchHistorySettingsPage replies), of 2021 and of today."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from golden_support import LOCALE_SAMPLES, SAMPLES, GoldenCheck, imported

from fixtures import generator
from fixtures.real_samples import REAL_SAMPLES
from pv2simkl.errors import ParseError
from pv2simkl.formats import history_json, parse_bytes
from pv2simkl.formats.events import Flattened

REAL = REAL_SAMPLES
REAL_REPLY = REAL / "history-json-fr-2022.json"

# The README's reading of the real reply: The Mentalist season 1, episode → epoch ms.
MENTALIST = {18: 1657656159162, 15: 1657307824471, 12: 1656789677984, 11: 1656617210767,
             7: 1656356816661, 4: 1655752036098, 3: 1655668917455, 1: 1655062758433}  # fmt: skip
MENTALIST_TITLES = {18: "Patates Rouges", 15: "Fièvre Rouge", 12: "Mauvais Sort",
                    11: "Les Amis De John Le Rouge", 7: "Le Rouge De La Colère",
                    4: "La Veuve Rouge", 3: "Vague Sanglante", 1: "Pilot"}  # fmt: skip


def _real_reply() -> dict[str, Any]:
    return json.loads(REAL_REPLY.read_text(encoding="utf-8"))


def _history_widget(doc: dict[str, Any]) -> dict[str, Any]:
    (widget,) = [w for w in doc["widgets"] if w.get("widgetType") == "watch-history"]
    return widget


def _as_2021(doc: dict[str, Any], *, next_start: int | None = 20) -> dict[str, Any]:
    """The real reply as the 2021 API wrote it: widget ``activity-history``, paged by
    ``nextStartIndex``, no ``titleType``, delete actions naming ASINs."""
    doc = copy.deepcopy(doc)
    widget = _history_widget(doc)
    widget["widgetType"] = "activity-history"
    inner = widget["content"]["content"]
    inner.pop("nextToken", None)
    if next_start is not None:
        inner["nextStartIndex"] = next_start
    asin = 0
    for section in inner["titles"]:
        for item in section["titles"]:
            for node in [item, *item["children"]]:
                node.pop("titleType", None)
                asin += 1
                node["actions"]["REMOVE"]["query"]["titleIds"] = f"B07{asin:07d}"
    return doc


def _mentalist_rows(flat: Flattened) -> list[tuple]:
    return [(e.kind, e.title, e.season, e.episode, e.episode_title,
             round(e.watched_at.timestamp() * 1000), e.precision) for e in flat.events]  # fmt: skip


MENTALIST_ROWS = [("episode", "The Mentalist", 1, n, MENTALIST_TITLES[n], ms, "exact")
                  for n, ms in MENTALIST.items()]  # fmt: skip


def test_real_reply_fr_2022_reads_as_its_readme_says() -> None:
    data = REAL_REPLY.read_bytes()
    fmt, flat = parse_bytes(data, REAL_REPLY.name)
    assert fmt == history_json.NAME
    assert _mentalist_rows(flat) == MENTALIST_ROWS
    assert not flat.errors and not flat.unreadable
    assert all(e.raw_title == "The Mentalist: Saison 1 L'intégrale" for e in flat.events)
    assert all(e.gti and e.gti.startswith("amzn1.dv.gti.") for e in flat.events)


def test_activity_history_widget_2021_is_read() -> None:
    # A 2021 reply was refused as "JSON but not a Prime Video watch-history reply": the
    # format was sniffed, and the widget found, by the name "watch-history" only.
    doc = _as_2021(_real_reply())
    doc["widgets"] = [w for w in doc["widgets"] if w["widgetType"] != "navigation-tabs"]
    data = json.dumps(doc).encode()
    assert b"watch-history" not in data
    fmt, flat = parse_bytes(data, "activity-2021.json")
    assert fmt == history_json.NAME
    assert _mentalist_rows(flat) == MENTALIST_ROWS


def test_2021_reply_in_its_whole_envelope_is_read() -> None:
    fmt, flat = parse_bytes(json.dumps(_as_2021(_real_reply())).encode(), "2021.json")
    assert fmt == history_json.NAME
    assert _mentalist_rows(flat) == MENTALIST_ROWS
    assert not flat.errors and not flat.unreadable


def test_2021_widget_pages_by_next_start_index() -> None:
    middle = _history_widget(_real_reply()) | {"widgetType": "activity-history"}
    middle["content"]["content"]["nextStartIndex"] = 40
    page = history_json.read_widget(middle, "p.json")
    assert (page.next_start, page.next_token, len(page.sections)) == (40, None, 8)
    last = _as_2021(_real_reply(), next_start=None)
    widget = history_json.find_history_widget(last)
    assert widget is not None and widget["widgetType"] == "activity-history"
    assert history_json.read_widget(widget, "p.json").next_start is None


def test_titles_without_inner_content_are_read() -> None:
    doc = _as_2021(_real_reply())
    widget = history_json.find_history_widget(doc)
    assert widget is not None
    widget["content"] = widget["content"]["content"]  # content.titles, no content.content
    flat = history_json.parse(json.dumps(doc).encode(), name="flat.json")
    assert _mentalist_rows(flat) == MENTALIST_ROWS


def test_2021_season_without_title_type_is_a_season_and_a_bare_item_a_movie() -> None:
    doc = _as_2021(_real_reply())
    sections = history_json.find_history_widget(doc)["content"]["content"]["titles"]
    movie = {"gti": "amzn1.dv.gti.m", "time": 1657000000000, "children": [],
             "title": {"text": "Tom &amp; Jerry"}}  # fmt: skip
    sections[0]["titles"].append(movie)
    flat = history_json.parse(json.dumps(doc).encode(), name="2021.json")
    kinds = [(e.kind, e.title) for e in flat.events]
    assert kinds.count(("movie", "Tom & Jerry")) == 1
    assert kinds.count(("episode", "The Mentalist")) == len(MENTALIST)


def test_untimed_section_with_an_unreadable_date_refuses_the_reply_whole() -> None:
    doc = _real_reply()
    sections = _history_widget(doc)["content"]["content"]["titles"]
    for section in sections[5:]:
        for item in section["titles"]:
            for node in [item, *item["children"]]:
                node.pop("time")
    sections[6]["date"] = "19 jar wej 2022"
    with pytest.raises(ParseError) as caught:
        history_json.parse(json.dumps(doc).encode(), name="r.json", locale="fr-FR")
    message = str(caught.value)
    assert message.startswith("r.json: ")
    assert "'19 jar wej 2022' (section 7)" in message
    assert "French (fr-FR), the language given with --locale" in message
    assert "--locale xx-XX" in message and "nothing of this reply was stored" in message


def test_untimed_reply_without_a_language_names_none() -> None:
    doc = {"widgets": [{"widgetType": "activity-history", "content": {"content": {"titles": [
        {"date": "31 Smarch 2021", "titles": [{"gti": "g", "title": {"text": "Heat"},
                                               "children": []}]}]}}}]}  # fmt: skip
    with pytest.raises(ParseError, match="any known language .this reply does not say"):
        history_json.parse(json.dumps(doc).encode(), name="r.json")


def test_live_fetch_keeps_the_other_sections_when_a_date_is_unreadable() -> None:
    # The live fetch (amazon.py) does not refuse a page: it reports the section and goes on.
    good = {"date": "9 juin 2022", "titles": [{"gti": "a", "title": {"text": "Heat"}}]}
    bad = {"date": "9 Smarch 2022", "titles": [{"gti": "b", "title": {"text": "Ronin"}}]}
    flat = history_json.events_from_sections([bad, good], source="api", locale="fr-fr",
                                             where="history page 1")  # fmt: skip
    assert [e.title for e in flat.events] == ["Heat"]
    assert len(flat.errors) == 1 and "Smarch" in flat.errors[0]
    assert flat.events[0].watched_at == datetime(2022, 6, 9, 12, tzinfo=UTC)


@pytest.mark.parametrize("locale", LOCALE_SAMPLES)
def test_api_pages_match_expected_events(golden: GoldenCheck, locale: str) -> None:
    folder = SAMPLES / locale
    golden([folder / "api"], folder / "api.expected.jsonl")


def test_20000_events_through_every_api_page(golden: GoldenCheck, tmp_path: Path) -> None:
    history = generator.build_history(3, 20000, "en-US")
    options = generator.PageOptions(site="primevideo", region="na", page_sections=20,
                                    shape="current-dom", rewatch_visible=False)  # fmt: skip
    generator.write_api_pages(history, tmp_path / "api", options)
    golden([tmp_path / "api"], tmp_path / "api.expected.jsonl")


@pytest.mark.parametrize("locale", LOCALE_SAMPLES)
def test_generated_2021_api_pages_match_expected_events(golden: GoldenCheck, locale: str) -> None:
    folder = SAMPLES / locale
    golden([folder / "api-2021"], folder / "api-2021.expected.jsonl")


def test_season_split_across_pages_is_merged_not_replaced() -> None:
    # C5: one date's season item ends page p and begins page p+1; both halves count.
    pages = sorted((SAMPLES / "en-GB" / "api").glob("page-*.json"))
    per_page = [
        {r for r in imported([p])[0]}
        for p in pages  # noqa: C416
    ]
    assert sum(len(s) for s in per_page) == len(set().union(*per_page))


def test_empty_account_and_empty_page() -> None:
    got, _, _ = imported([SAMPLES / "empty" / "api"])
    assert not got
    content = {"content": {"titles": [], "nextToken": "a+b/c="}}
    empty_page = {"widgets": [{"widgetType": "watch-history", "content": content}]}
    flat = history_json.parse(json.dumps(empty_page).encode(), name="p.json")
    assert flat.events == [] and flat.errors == []


def test_widget_found_by_type_not_position() -> None:
    doc = {
        "widgets": [
            {"widgetType": "page-title", "content": {"title": "Verlauf"}},
            {"widgetType": "watch-history", "content": {"content": {"titles": [{
                "date": "5. März 2024", "titles": [{"gti": "g", "time": 1709640000000,
                "title": {"text": "Schindler&#39;s List"}, "children": [], "badges": []}]}]}}},
        ]
    }  # fmt: skip
    (event,) = history_json.parse(json.dumps(doc).encode(), name="p.json").events
    assert event.title == "Schindler's List" and event.precision == "exact"


def test_missing_times_fall_back_to_the_date_header() -> None:
    doc = {"widgets": [{"widgetType": "watch-history", "content": {"content": {"titles": [{
        "date": "9 juin 2022", "titles": [{"gti": "s", "titleType": "season",
        "title": {"text": "The Mentalist: Saison 1 L'intégrale"},
        "children": [{"gti": "e", "title": {"text": "Épisode 1: Pilot"}}]}]}]}}}]}  # fmt: skip
    (event,) = history_json.parse(json.dumps(doc).encode(), name="p.json", locale="fr-fr").events
    assert (event.title, event.season, event.episode, event.episode_title) == (
        "The Mentalist", 1, 1, "Pilot")  # fmt: skip
    assert (event.precision, event.watched_at.isoformat()) == ("day", "2022-06-09T12:00:00+00:00")


@pytest.mark.parametrize(
    ("data", "phrase"),
    [(b'{"widgets":[{"widgetType":"watch-history"', "broken JSON"),
     (b'{"widgets":[{"widgetType":"watch-history","content":{"content":{"x":1}}}]}', "neither"),
     (b"\xff\xfe{watch-history", "not UTF-8")],
)  # fmt: skip
def test_bad_replies_are_parse_errors(data: bytes, phrase: str) -> None:
    with pytest.raises(ParseError, match=phrase):
        history_json.parse(data, name="p.json")
