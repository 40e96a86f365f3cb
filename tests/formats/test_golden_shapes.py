"""Golden tests of the real-world shapes the fixture generator writes (issue 8).

Every shape the real files in ``../shared/real-samples`` show is generated at any size
with its expected events (``fixtures/generator/`` say how): layout A as Amazon writes it
and its watchlist, every console-exporter version, the 2021 history JSON generation and
its saved page, and a page in each of the 22 languages of the shared locale table. Each
test here compares an importer's events with those expected events, on the committed
samples and on freshly generated histories of 10, 1,000 and 20,000 events.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from golden_support import LOCALE_SAMPLES, SAMPLES, GoldenCheck

from fixtures import generator as g
from fixtures.generator import console as gen_console
from fixtures.generator import json2021 as gen_json2021
from fixtures.generator import locale_pages as gen_locale_pages
from pv2simkl.errors import UnknownFormatError
from pv2simkl.sources.files import expand, parse_file

LOCALE_PAGES = sorted(SAMPLES.glob("locale-*.html"))


# -- layout A and its watchlist ----------------------------------------------------------


@pytest.mark.parametrize("n", [10, 1000])
def test_export_a_real_shapes_at_size(golden: GoldenCheck, tmp_path: Path, n: int) -> None:
    history = g.build_history(3, n, "it-IT")
    g.write_export_a(history, tmp_path / "export-a")
    golden([tmp_path / "export-a"], tmp_path / "export-a.expected.jsonl")


@pytest.mark.slow
def test_export_a_real_shapes_at_20000_events(golden: GoldenCheck, tmp_path: Path) -> None:
    history = g.build_history(21, 20_000, "en-GB")
    g.write_export_a(history, tmp_path / "export-a")
    golden([tmp_path / "export-a"], tmp_path / "export-a.expected.jsonl")


def _watchlist_now(folder: Path) -> set[str]:
    """Titles on the watchlist never watched nor deleted, read from an export folder."""
    events, items = [], []
    for target in expand([folder]):
        try:
            parsed = parse_file(target.path)
        except UnknownFormatError:
            continue
        events += parsed.flat.events
        items += parsed.flat.watchlist
    deleted = {(i.kind, i.title) for i in items if i.deleted}
    watched = {e.title for e in events}
    return {
        json.dumps(i.to_public(), sort_keys=True, ensure_ascii=False)
        for i in items
        if i.listed and (i.kind, i.title) not in deleted and i.title not in watched
    }


def _expected_watchlist(path: Path) -> set[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return {json.dumps(json.loads(x), sort_keys=True, ensure_ascii=False) for x in lines}


@pytest.mark.parametrize("locale", LOCALE_SAMPLES)
def test_export_a_watchlist_matches_expected(locale: str) -> None:
    folder = SAMPLES / locale
    want = _expected_watchlist(folder / "export-a.watchlist.expected.jsonl")
    assert want and _watchlist_now(folder / "export-a") == want


def test_export_a_watchlist_at_1000_events(tmp_path: Path) -> None:
    g.write_export_a(g.build_history(9, 1000, "es-ES"), tmp_path / "export-a")
    want = _expected_watchlist(tmp_path / "export-a.watchlist.expected.jsonl")
    assert len(want) > 4 and _watchlist_now(tmp_path / "export-a") == want


# -- every console-exporter version --------------------------------------------------------


@pytest.mark.parametrize("locale", LOCALE_SAMPLES)
@pytest.mark.parametrize("name", gen_console.FILES)
def test_console_version_matches_expected(golden: GoldenCheck, locale: str, name: str) -> None:
    path = SAMPLES / locale / name
    golden([path], g.expected_path(path))


@pytest.mark.parametrize(("n", "locale"), [(10, "fr-FR"), (1000, "de-DE"), (1000, "zh-CN")])
def test_console_versions_at_size(golden: GoldenCheck, tmp_path: Path, n: int, locale: str) -> None:
    history = g.build_history(4, n, locale)
    for path in gen_console.write_console_versions(history, tmp_path, g.PageOptions()):
        if not path.name.endswith(".expected.jsonl"):
            golden([path], g.expected_path(path))


# -- the 2021 history JSON generation -------------------------------------------------------


@pytest.mark.parametrize("locale", LOCALE_SAMPLES)
@pytest.mark.parametrize("name", ["api-2021", "saved-page-2021.html"])
def test_history_json_2021_matches_expected(golden: GoldenCheck, locale: str, name: str) -> None:
    path = SAMPLES / locale / name
    golden([path], g.expected_path(path))


def test_history_json_2021_at_1000_events(golden: GoldenCheck, tmp_path: Path) -> None:
    history = g.build_history(6, 1000, "en-US")
    opts = g.PageOptions(site="amazon", page_sections=20)
    gen_json2021.write_api_pages_2021(history, tmp_path / "api", opts)
    gen_json2021.write_saved_page_2021(history, tmp_path / "page.html", opts)
    golden([tmp_path / "api"], tmp_path / "api.expected.jsonl")
    golden([tmp_path / "page.html"], tmp_path / "page.expected.jsonl")


# -- every language ------------------------------------------------------------------------


@pytest.mark.parametrize("page", LOCALE_PAGES, ids=[p.stem for p in LOCALE_PAGES])
def test_locale_page_matches_expected(golden: GoldenCheck, page: Path) -> None:
    golden([page], g.expected_path(page))


def test_locale_pages_cover_every_language() -> None:
    assert len(LOCALE_PAGES) == len(gen_locale_pages.LANGUAGE_LOCALES) == 22


@pytest.mark.parametrize("locale", sorted(g.LOCALES))
def test_dom_dates_of_every_locale(golden: GoldenCheck, tmp_path: Path, locale: str) -> None:
    history = g.build_history(5, 10, locale)
    path = tmp_path / "saved-page-dom-only.html"
    g.write_saved_page(history, path, "dom-only", g.PageOptions(page_sections=5))
    golden([path], g.expected_path(path))
