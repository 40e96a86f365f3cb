"""Saved watch-history pages: inline JSON for page 1, the DOM for the rest."""

from __future__ import annotations

from pathlib import Path

import pytest
from golden_support import LOCALE_SAMPLES, SAMPLES, GoldenCheck, imported

from fixtures import generator
from pv2simkl.errors import ParseError
from pv2simkl.importers import page


@pytest.mark.parametrize("locale", LOCALE_SAMPLES)
@pytest.mark.parametrize("variant", ["expanded", "collapsed", "dom-only"])
def test_saved_page_matches_expected_events(golden: GoldenCheck, locale: str, variant: str) -> None:
    folder = SAMPLES / locale
    warnings = golden([folder / f"saved-page-{variant}.html"],
                      folder / f"saved-page-{variant}.expected.jsonl")  # fmt: skip
    if variant == "collapsed":
        assert any("without their episode list expanded" in w for w in warnings)
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


def test_unreadable_date_skips_that_section_only() -> None:
    html = (
        b'<!DOCTYPE html><html lang="en-us"><body>'
        b'<div data-automation-id="activity-history-items"><ul>'
        b'<li><div data-automation-id="wh-date-Smarch 5, 2024"><h3>Smarch 5, 2024</h3></div><ul>'
        b'<li data-automation-id="wh-item-g1"><div data-testid="activity-history-item">'
        b'<a href="/detail/0A/">Lost Movie</a></div></li></ul></li>'
        b'<li><div data-automation-id="wh-date-March 5, 2024"><h3>March 5, 2024</h3></div><ul>'
        b'<li data-automation-id="wh-item-g2"><div data-testid="activity-history-item">'
        b'<a href="/detail/0B/">Kept Movie</a></div></li></ul></li></ul></div></body></html>'
    )
    flat = page.parse(html, name="x.html")
    assert [e.title for e in flat.events] == ["Kept Movie"]
    assert len(flat.errors) == 1 and "Smarch" in flat.errors[0]


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
