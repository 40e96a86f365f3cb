"""History API pages (getWatchHistorySettingsPage replies)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from golden_support import LOCALE_SAMPLES, SAMPLES, GoldenCheck, imported

from fixtures import generator
from pv2simkl.errors import ParseError
from pv2simkl.importers import history_json


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
