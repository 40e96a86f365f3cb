"""Tests of the fixture generator (fixtures/generator/) itself, not of the importers.

They check what the importers' tests rely on: byte-identical output per seed, every
file in every locale, every mandatory case (C1–C15) present in the outputs, well-formed
expected files, the C5 page split, the API paging traps and readable CSV headers.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import re
import shutil
import subprocess
import zipfile
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from fixtures import generator as g
from fixtures.generator import console as gen_console
from fixtures.generator import export_a as gen_export_a
from fixtures.generator import locale_pages as gen_locale_pages
from fixtures.generator import locales as gen_locales
from fixtures.generator.exports import ZIP_TIME
from fixtures.generator.json2021 import WIDGET as WIDGET_2021
from fixtures.generator.locales import LANGUAGE_LOCALES
from fixtures.generator.page import LIVE_JS
from fixtures.make_samples import LOCALE_PAGE_GLOB, SAMPLES, make_samples
from fixtures.real_samples import REAL_SAMPLES

KEYS = ["kind", "title", "season", "episode", "episode_title", "watched_at", "precision",
        "source", "gti"]  # fmt: skip
# expected file → (source, which rows carry a gti: "all", "none" or "some").
EXPECTED_FILES = {
    "saved-page-expanded.expected.jsonl": ("page", "all"),
    "saved-page-collapsed.expected.jsonl": ("page", "all"),
    "saved-page-dom-only.expected.jsonl": ("page", "all"),
    "saved-page-2021.expected.jsonl": ("page", "some"),
    "api.expected.jsonl": ("api", "all"),
    "api-2021.expected.jsonl": ("api", "all"),
    "export-a.expected.jsonl": ("export-a", "none"),
    "export-b.expected.jsonl": ("export-b", "none"),
    "export-c.expected.jsonl": ("export-c", "none"),
    "console.expected.jsonl": ("csv", "all"),
    "console-v0.expected.jsonl": ("csv", "none"),
    "console-v1.expected.jsonl": ("csv", "none"),
    "console-v2.expected.jsonl": ("csv", "none"),
    "console-v2-exact.expected.jsonl": ("csv", "none"),
    "console-v3.expected.jsonl": ("csv", "all"),
    "console-v3-epoch-ms.expected.jsonl": ("csv", "all"),
    "console-v3-json.expected.jsonl": ("csv", "all"),
}
A_DIR = "export-a/Digital.PrimeVideo"
FIXED_FILES = {
    "saved-page-expanded.html", "saved-page-collapsed.html", "saved-page-dom-only.html",
    "saved-page-2021.html", "live-page.html", "api/page-0001.json", "api/tokens.json",
    "api-2021/page-0001.json", "api-2021/start-indexes.json",
    f"{A_DIR}.Viewinghistory/Digital.PrimeVideo.Viewinghistory.csv",
    f"{A_DIR}.Watchlist/Digital.PrimeVideo.Watchlist.csv",
    f"{A_DIR}.Watchlist/Digital.PrimeVideo.WatchlistHistory.csv",
    f"{A_DIR}.ViewCounts.2/Digital.PrimeVideo.ViewCounts.2.csv",
    "export-a.watchlist.expected.jsonl",
    "export-b/PrimeVideo.ViewingHistory.csv", "export-c.zip", "console.csv", "manifest.json",
    "console-v0.csv", "console-v1.csv", "console-v2.csv", "console-v2-exact.csv",
    "console-v3.csv", "console-v3-epoch-ms.csv", "console-v3-json.json",
    *EXPECTED_FILES,
}  # fmt: skip
A_CSV = "export-a/Digital.PrimeVideo.Viewinghistory/Digital.PrimeVideo.Viewinghistory.csv"
B_CSV = "export-b/PrimeVideo.ViewingHistory.csv"
C_DIR = "Your Prime Video Viewing Activity"


# -- helpers ----------------------------------------------------------------------------


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _api_pages(root: Path) -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(root.glob("api/page-*.json"))]


def _history_content(page: dict) -> dict:
    widget = next(w for w in page["widgets"] if w.get("widgetType") == "watch-history")
    return widget["content"]["content"]


def _zip_csv(root: Path, name: str) -> str:
    with zipfile.ZipFile(root / "export-c.zip") as zf:
        return zf.read(f"{C_DIR}/{name}").decode("utf-8")


def _unquote(value: str) -> str:
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value


class _Texts(HTMLParser):
    """Collects decoded text of <a> and <p> elements and the text/template scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.paragraphs: list[str] = []
        self.templates: list[str] = []
        self._stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script" and dict(attrs).get("type") == "text/template":
            self._stack.append("template")
            self.templates.append("")
        elif tag in ("a", "p"):
            self._stack.append(tag)
            (self.links if tag == "a" else self.paragraphs).append("")

    def handle_endtag(self, tag: str) -> None:
        closing = "template" if tag == "script" else tag
        if self._stack and self._stack[-1] == closing:
            self._stack.pop()

    def handle_data(self, data: str) -> None:
        if not self._stack:
            return
        top = self._stack[-1]
        target = {"a": self.links, "p": self.paragraphs, "template": self.templates}[top]
        target[-1] += data


def _texts(path: Path) -> _Texts:
    parser = _Texts()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


# -- shared fixture folders ---------------------------------------------------------------


@pytest.fixture(scope="module")
def en_us(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("en-us")
    g.write_all(out, 7, 60, "en-US", site="amazon", shape="legacy-dom", page_sections=5)
    return out


@pytest.fixture(scope="module")
def de_de(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("de-de")
    g.write_all(out, 11, 200, "de-DE", region="eu", page_sections=6)
    return out


# -- determinism ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"locale": "de-DE", "rewatch_visible": True, "page_sections": 4},
        {"locale": "en-US", "site": "amazon", "shape": "legacy-dom"},
        {"locale": "ja-JP", "empty": True},
    ],
)
def test_same_seed_gives_identical_bytes(tmp_path: Path, kwargs: dict) -> None:
    args = dict(kwargs)
    locale = args.pop("locale")
    first = g.write_all(tmp_path / "a", 3, 120, locale, **args)
    second = g.write_all(tmp_path / "b", 3, 120, locale, **args)
    assert set(first) == set(second)
    assert _files(tmp_path / "a") == _files(tmp_path / "b")


def test_other_seed_changes_names_and_classes(tmp_path: Path) -> None:
    g.write_all(tmp_path / "a", 1, 60, "en-US")
    g.write_all(tmp_path / "b", 2, 60, "en-US")
    page_a = (tmp_path / "a/saved-page-expanded.html").read_text(encoding="utf-8")
    page_b = (tmp_path / "b/saved-page-expanded.html").read_text(encoding="utf-8")
    class_a = re.search(r'data-testid="activity-history-item" class="(\w+)"', page_a)
    class_b = re.search(r'data-testid="activity-history-item" class="(\w+)"', page_b)
    assert class_a and class_b and class_a.group(1) != class_b.group(1)
    shows_a = {r["title"] for r in _jsonl(tmp_path / "a/api.expected.jsonl")}
    shows_b = {r["title"] for r in _jsonl(tmp_path / "b/api.expected.jsonl")}
    assert shows_a != shows_b


# -- locales --------------------------------------------------------------------------


@pytest.mark.parametrize("locale", list(g.LOCALES))
def test_every_locale_writes_every_file(tmp_path: Path, locale: str) -> None:
    written = g.write_all(tmp_path, 5, 10, locale, page_sections=5)
    assert set(written) >= FIXED_FILES
    assert all(p.exists() for p in written.values())
    assert len(list((tmp_path / "api").glob("page-*.json"))) >= 3
    spec = g.LOCALES[locale]
    for name in ("saved-page-expanded.html", "saved-page-collapsed.html",
                 "saved-page-dom-only.html", "live-page.html"):  # fmt: skip
        assert f'<html lang="{spec.lang}"' in (tmp_path / name).read_text(encoding="utf-8")
    page = (tmp_path / "saved-page-expanded.html").read_text(encoding="utf-8")
    assert f">{spec.episodes_watched}</label>" in page
    history = g.build_history(5, 10, locale)
    for leaf in history.events[:5]:
        assert f'data-automation-id="wh-date-{g.format_date(locale, leaf.day)}"' in page
    rows = _jsonl(tmp_path / "api.expected.jsonl")
    assert {r["title"] for r in rows} >= {"Das Boot", "La casa de papel", "REACHER", "Der Pate"}


@pytest.mark.parametrize(
    ("locale", "day", "text"),
    [
        ("en-US", date(2024, 4, 23), "April 23, 2024"),
        ("en-US", date(2024, 3, 5), "March 5, 2024"),
        ("en-GB", date(2024, 4, 23), "23 April 2024"),
        ("en-GB", date(2024, 3, 5), "5 March 2024"),
        ("de-DE", date(2024, 4, 23), "23. April 2024"),
        ("de-DE", date(2024, 3, 5), "5. März 2024"),
        ("it-IT", date(2024, 4, 23), "23 aprile 2024"),
        ("it-IT", date(2024, 3, 5), "5 marzo 2024"),
        ("es-ES", date(2024, 4, 23), "23 de abril de 2024"),
        ("es-ES", date(2024, 3, 5), "5 de marzo de 2024"),
        ("fr-FR", date(2024, 4, 23), "23 avril 2024"),
        ("fr-FR", date(2024, 3, 5), "5 mars 2024"),
        ("fr-FR", date(2024, 8, 1), "1 août 2024"),
        ("fr-FR", date(2024, 3, 1), "1er mars 2024"),
        ("ja-JP", date(2024, 4, 23), "2024/04/23"),
        ("ja-JP", date(2024, 3, 5), "2024/03/05"),
    ],
)
def test_date_headers_match_the_locale_table(locale: str, day: date, text: str) -> None:
    assert g.format_date(locale, day) == text


def test_pt_br_months_capitalised_every_other_day() -> None:
    texts = {g.format_date("pt-BR", date(2024, 4, 22)), g.format_date("pt-BR", date(2024, 4, 23))}
    assert {t.split(" de ")[1] for t in texts} == {"abril", "Abril"}
    assert "23 de abril de 2024" in texts or "23 de Abril de 2024" in texts


def test_season_title_variants_appear() -> None:
    texts = set()
    for seed in range(4):
        history = g.build_history(seed, 400, "en-GB")
        texts |= {leaf.season_ref.text for leaf in history.events if leaf.season_ref}
    assert any(re.search(r" - Series \d+$", t) for t in texts)
    assert any(re.search(r" - Season 0\d$", t) for t in texts)
    assert any(re.search(r" - Season [1-9]$", t) for t in texts)


# -- mandatory cases ----------------------------------------------------------------------


def test_every_case_is_tagged_at_small_n() -> None:
    history = g.build_history(1, 10, "en-US")
    cases = history.cases()
    assert {f"C{i}" for i in range(1, 15)} <= set(cases)
    assert len(history.events) >= 10


def test_cases_in_the_outputs(en_us: Path) -> None:
    api_text = "".join(p.read_text(encoding="utf-8") for p in sorted(en_us.glob("api/page-*.json")))
    expected = _jsonl(en_us / "api.expected.jsonl")
    titles = {r["title"] for r in expected}
    a_lines = (en_us / A_CSV).read_text(encoding="utf-8").splitlines()

    # C1: a comma, unquoted in layout A.
    assert "Crouching Tiger, Hidden Dragon" in titles
    assert any(line.endswith(",Crouching Tiger, Hidden Dragon") for line in a_lines)
    # C2: quotes in an episode label, an apostrophe in a movie.
    assert json.dumps('Episode 1: "INHERENT RESOLVE"') in api_text
    assert any(r["episode_title"] == '"INHERENT RESOLVE"' and r["episode"] == 1 for r in expected)
    assert "Ocean's Eleven" in titles
    # C3: non-ASCII, the en dash season title in every locale.
    assert {"Amélie", "千と千尋の神隠し", "Cidade de Deus", "La casa de papel"} <= titles
    assert '"Das Boot – Staffel 2"' in api_text
    assert any(r["title"] == "Das Boot" and r["season"] == 2 for r in expected)
    # C4: entities in the JSON, decoded in the DOM and in the expected titles.
    assert '"Tom &amp; Jerry"' in api_text and '"Schindler&#39;s List"' in api_text
    assert {"Tom & Jerry", "Schindler's List"} <= titles
    dom = _texts(en_us / "saved-page-dom-only.html")
    assert "Tom & Jerry" in dom.links and "Schindler's List" in dom.links
    inline = _texts(en_us / "saved-page-expanded.html").templates
    assert any('"Tom &amp; Jerry"' in t for t in inline)
    b_text = (en_us / B_CSV).read_text(encoding="utf-8")
    assert '"""Tom & Jerry"""' in b_text
    # C8: version tags stay in the sources, not in the expected titles.
    assert '"Der Pate [dt./OV]"' in api_text and "(4K UHD)" in api_text
    assert "Der Pate" in titles and not any("(4K UHD)" in t or "[dt./OV]" in t for t in titles)
    # C9: odd season titles, literal.
    for text in ("REACHER (TV) - SEASON 01", "Season 3", "Landman, Season 2",
                 "The Mentalist: Saison 1 L'intégrale"):  # fmt: skip
        assert json.dumps(text, ensure_ascii=False) in api_text
    pairs = {(r["title"], r["season"]) for r in expected if r["kind"] == "episode"}
    assert {("REACHER", 1), ("Season 3", 3), ("Landman", 2), ("The Mentalist", 1)} <= pairs
    # C11: '#', '%', '/'.
    assert {"#Alive", "100% Wolf", "Face/Off"} <= titles
    # C12: a label without a number and an episode 0.
    assert any(r["episode"] is None and r["episode_title"] == "Pilot" for r in expected)
    assert any(r["episode"] == 0 and r["episode_title"] == "Special" for r in expected)
    assert '"Pilot"' in api_text and '"Episode 0: Special"' in api_text
    # C13: trailer and bonus items are in the sources, never expected.
    assert " - Official Trailer" in api_text and " - Bonus Content" in api_text
    assert any(",Official Trailer-" in line and line.endswith(" - Season 2") for line in a_lines)
    viewing = _zip_csv(en_us, "Viewing History.csv")
    assert '"""Trailer"""' in viewing and '"""Short"""' in viewing
    for name in EXPECTED_FILES:
        for row in _jsonl(en_us / name):
            assert "Trailer" not in row["title"] and "Bonus Content" not in row["title"]
    # C14: a title of at least 200 characters.
    assert any(len(t) >= 200 for t in titles)


def test_c6_rewatch(tmp_path: Path) -> None:
    history = g.build_history(4, 60, "fr-FR")
    first, second = sorted(
        (leaf for leaf in history.events if "C6" in leaf.cases and leaf.episode == 3),
        key=lambda leaf: leaf.t_ms,
    )
    assert first.gti == second.gti and first.hidden and not second.hidden
    assert second.day - first.day == timedelta(days=10)
    g.write_all(tmp_path / "hidden", 4, 60, "fr-FR", page_sections=5)
    g.write_all(tmp_path / "visible", 4, 60, "fr-FR", page_sections=5, rewatch_visible=True)
    for name in ("api", "console", "saved-page-expanded", "saved-page-dom-only"):
        hidden = _jsonl(tmp_path / f"hidden/{name}.expected.jsonl")
        visible = _jsonl(tmp_path / f"visible/{name}.expected.jsonl")
        assert sum(r["gti"] == first.gti for r in hidden) == 1, name
        assert sum(r["gti"] == first.gti for r in visible) == 2, name
    for name in ("export-a", "export-b", "export-c"):
        rows = _jsonl(tmp_path / f"hidden/{name}.expected.jsonl")
        assert sum(r["episode_title"] == first.episode_title and r["title"] == first.title
                   for r in rows) == 2, name  # fmt: skip


def test_c7_two_movies_and_two_seasons_on_one_date() -> None:
    history = g.build_history(8, 60, "es-ES")
    leaves = history.cases()["C7"]
    assert len({leaf.day for leaf in leaves}) == 1
    model = history.model(20, False)
    section = next(s for s in model.sections if s.day == leaves[0].day)
    movies = [it for it in section.items if it.leaf is not None and "C7" in it.leaf.cases]
    seasons = {it.season.gti for it in section.items if it.season is not None
               and any("C7" in c.cases for c in it.children)}  # fmt: skip
    assert len(movies) == 2 and len(seasons) == 2


@pytest.mark.parametrize("locale", list(g.LOCALES))
def test_c10_local_date_differs_from_utc_date(locale: str) -> None:
    history = g.build_history(2, 10, locale)
    (leaf,) = history.cases()["C10"]
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=leaf.t_ms)
    local = moment.astimezone(history.zone)
    assert local.date() == leaf.day != moment.date()
    assert (local.hour, local.minute) in {(23, 30), (0, 30)}
    section = next(s for s in history.model(20, False).sections
                   if any(it.leaf is leaf for it in s.items))  # fmt: skip
    assert section.text == g.format_date(locale, local.date())


def test_c5_split_across_an_api_page_boundary(de_de: Path) -> None:
    pages = [_history_content(p) for p in _api_pages(de_de)]
    splits = []
    for index in range(len(pages) - 1):
        here, there = pages[index]["titles"], pages[index + 1]["titles"]
        if here and there and here[-1]["date"] == there[0]["date"]:
            last, first = here[-1]["titles"][-1], there[0]["titles"][0]
            if last["gti"] == first["gti"] and last["children"] and first["children"]:
                splits.append(index)
    assert len(splits) == 1
    history = g.build_history(11, 200, "de-DE")
    c5 = history.cases()["C5"]
    assert len({leaf.season for leaf in c5}) == 3
    per_day: dict[date, int] = {}
    for leaf in c5:
        per_day[leaf.day] = per_day.get(leaf.day, 0) + 1
    assert len(per_day) >= 5 and all(1 <= k <= 8 for k in per_day.values())


def _toggles(page: str) -> list[str]:
    items = re.findall(r'<li data-automation-id="wh-item-.*?</form>(.*?)</li>(?=<li data-a|</ul>)',
                       page)  # fmt: skip
    return [tail for tail in items if "wh-episodes-watched-" in tail]


def test_toggle_without_rows_and_item_without_image(de_de: Path) -> None:
    # The toggle that yields no rows is on the dom-only page; the page named "expanded" (the
    # quick start's) has every list expanded, so importing it warns of nothing.
    dom_only = _toggles((de_de / "saved-page-dom-only.html").read_text(encoding="utf-8"))
    assert dom_only and any("wh-episode-" not in tail for tail in dom_only)
    page = (de_de / "saved-page-expanded.html").read_text(encoding="utf-8")
    expanded = _toggles(page)
    assert expanded and all("wh-episode-" in tail for tail in expanded)
    blocks = re.findall(r'<div data-testid="activity-history-item".*?</div>', page)
    assert any("<img" not in block for block in blocks)


# -- page shapes ------------------------------------------------------------------------


def test_saved_page_variants(en_us: Path, de_de: Path) -> None:
    for root in (en_us, de_de):
        expanded = (root / "saved-page-expanded.html").read_text(encoding="utf-8")
        collapsed = (root / "saved-page-collapsed.html").read_text(encoding="utf-8")
        dom_only = (root / "saved-page-dom-only.html").read_text(encoding="utf-8")
        live = (root / "live-page.html").read_text(encoding="utf-8")
        assert 'data-automation-id="wh-episode-' in expanded
        assert "wh-episode-" not in collapsed.replace("wh-episodes-watched-", "")
        for text in (expanded, collapsed, dom_only):
            assert "<noscript>" not in text and "infinite-scroll-trigger" not in text
            assert text.rstrip().endswith("</html>")
        assert "<noscript>" in live and 'data-automation-id="infinite-scroll-trigger"' in live
        assert "getWatchHistorySettingsPage" in live
        templates = _texts(root / "saved-page-dom-only.html").templates
        assert not any('"watch-history"' in t for t in templates)
        templates = _texts(root / "saved-page-expanded.html").templates
        parsed = []
        for t in templates:
            try:
                parsed.append(json.loads(t))
            except json.JSONDecodeError:
                continue
        assert len(parsed) == 2 and len(templates) == 3  # a JSON decoy, a non-JSON template
        inline = [t for t in templates if '"watch-history"' in t]
        assert len(inline) == 1
        widgets = json.loads(inline[0])["props"]["widgets"]
        content = next(w for w in widgets if w.get("widgetType") == "watch-history")
        assert content["content"]["content"] == _history_content(_api_pages(root)[0])
        manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
        assert expanded.count('data-automation-id="wh-date-') == manifest["dom_sections"]
    legacy = (en_us / "saved-page-expanded.html").read_text(encoding="utf-8")
    current = (de_de / "saved-page-expanded.html").read_text(encoding="utf-8")
    assert 'data-testid="wh-episode-' not in legacy
    assert 'data-testid="activity-history-item-episode"' not in legacy
    assert 'data-testid="wh-episode-' in current
    assert 'href="/gp/video/detail/' in legacy and 'href="/region/eu/detail/' in current
    assert "/gp/video/api" in (en_us / "live-page.html").read_text(encoding="utf-8")
    assert "/region/eu/api" in (de_de / "live-page.html").read_text(encoding="utf-8")


def test_collapsed_page_expected_has_no_episode_details_after_page_one(de_de: Path) -> None:
    rows = _jsonl(de_de / "saved-page-collapsed.expected.jsonl")
    day_rows = [r for r in rows if r["precision"] == "day" and r["kind"] == "episode"]
    exact_rows = [r for r in rows if r["precision"] == "exact" and r["kind"] == "episode"]
    assert day_rows and all(r["episode"] is None and r["episode_title"] is None for r in day_rows)
    assert exact_rows and any(r["episode_title"] for r in exact_rows)
    assert all(r["watched_at"].endswith("T12:00:00.000Z") for r in rows if r["precision"] == "day")


def test_live_page_script_is_valid_javascript(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    script = tmp_path / "live.js"
    script.write_text(LIVE_JS, encoding="utf-8")
    subprocess.run([node, "--check", str(script)], check=True)


# -- API pages ----------------------------------------------------------------------------


def test_api_paging(de_de: Path) -> None:
    pages = _api_pages(de_de)
    tokens = json.loads((de_de / "api/tokens.json").read_text(encoding="utf-8"))
    assert len(tokens) == len(pages) and tokens[0] is None
    contents = [_history_content(p) for p in pages]
    for index, content in enumerate(contents[:-1]):
        assert content["nextToken"] == tokens[index + 1]
    assert "nextToken" not in contents[-1]
    empties = [i for i, c in enumerate(contents) if c["titles"] == []]
    assert len(empties) == 1 and 0 < empties[0] < len(pages) - 1
    assert any("+" in t and "/" in t for t in tokens[1:])
    wrapper = json.loads(base64.b64decode(tokens[1]))
    assert wrapper["version"] == "V2"
    cursor = json.loads(base64.b64decode(wrapper["paginationInfo"]))
    assert set(cursor) >= {"timeStamp", "hotStoragePaginationToken", "lastModifiedDate",
                           "lastTitleId"}  # fmt: skip
    for page in pages:
        assert page["__type"] == "atv.wps#SettingsOutput"
        assert {"metadata", "notifications", "widgets"} <= set(page)
    orders = set()
    for content in contents:
        for section in content["titles"]:
            for item in section["titles"]:
                orders.add(tuple(item))
                assert item["badges"] == [] and item["titleType"] in ("movie", "season")
                assert re.fullmatch(r"amzn1\.dv\.gti\.[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}",
                                    item["gti"])  # fmt: skip
                assert re.search(r"/detail/0[0-9A-Z]{25}/", item["title"]["href"])
                assert re.fullmatch(
                    r"https://m\.media-amazon\.com/images/S/pv-target-images/"
                    r"[0-9a-f]{64}\._UX667_UY375_SY200_\.jpg",
                    item["imageSrc"],
                )
                if item["children"]:
                    assert item["time"] == max(c["time"] for c in item["children"])
                    ids = "_".join(c["gti"] for c in item["children"])
                    assert item["actions"]["REMOVE"]["query"]["titleIds"] == ids
    assert len(orders) > 5  # key order shuffled


# -- expected files and CSVs --------------------------------------------------------------


def test_expected_files_parse(en_us: Path, de_de: Path) -> None:
    for root in (en_us, de_de):
        for name, (source, gtis) in EXPECTED_FILES.items():
            rows = _jsonl(root / name)
            assert rows, name
            keys = [(r["watched_at"], r["title"]) for r in rows]
            assert keys == sorted(keys), name
            for row in rows:
                assert list(row) == KEYS
                assert row["source"] == source and row["kind"] in ("movie", "episode")
                assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", row["watched_at"])
                assert row["precision"] in ("exact", "hour", "day")
                if row["kind"] == "movie":
                    assert row["season"] is row["episode"] is row["episode_title"] is None
                if source.startswith("export"):
                    assert row["episode"] is None
                if gtis == "all":
                    assert row["gti"].startswith("amzn1.dv.gti."), name
                elif gtis == "none":
                    assert row["gti"] is None, name
            if gtis == "some":
                assert {r["gti"] is None for r in rows} == {True, False}, name
        a_rows = _jsonl(root / "export-a.expected.jsonl")
        assert all(r["watched_at"].endswith(":00:00.000Z") and r["precision"] == "hour"
                   for r in a_rows)  # fmt: skip
        c_rows = _jsonl(root / "export-c.expected.jsonl")
        assert all(r["watched_at"].endswith(".000Z") for r in c_rows)
        b_rows = _jsonl(root / "export-b.expected.jsonl")
        assert any(not r["watched_at"].endswith(".000Z") for r in b_rows)


def test_csv_headers_and_shapes(en_us: Path) -> None:
    a_text = (en_us / A_CSV).read_text(encoding="utf-8")
    assert a_text.startswith("\ufeff")
    a_text = a_text[1:]
    assert next(csv.reader(io.StringIO(a_text))) == list(g.EXPORT_A_HEADER)
    a_lines = a_text.splitlines()[1:]
    assert len(a_lines) != len(set(a_lines))  # exact duplicate rows
    assert all(re.match(r"\d\d/\d\d/\d{4} \d\d:00:00,", line) for line in a_lines)

    b_text = (en_us / B_CSV).read_text(encoding="utf-8")
    b_rows = list(csv.reader(io.StringIO(b_text)))
    assert b_rows[0] == list(g.EXPORT_B_HEADER)
    assert b_text.startswith('"Playback Start Datetime (UTC)",')
    assert all(_unquote(r[2]) != r[2] for r in b_rows[1:])  # the extra quote layer
    assert any(r[2] == '"Not available"' for r in b_rows) and any(r[3] == "0.00000" for r in b_rows)
    assert any(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}", r[0]) for r in b_rows)
    assert any(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", r[0]) for r in b_rows)

    with zipfile.ZipFile(en_us / "export-c.zip") as zf:
        names = set(zf.namelist())
        assert {f"{C_DIR}/{n}" for n in ("Viewing History.csv", "Watch Events.csv",
                "Search History.csv", "Promotional Trailers Viewed.csv")} == names  # fmt: skip
        assert all(info.date_time == ZIP_TIME for info in zf.infolist())
    viewing = _zip_csv(en_us, "Viewing History.csv")
    assert viewing.startswith('\ufeff"')
    rows = list(csv.DictReader(io.StringIO(viewing[1:])))
    assert list(rows[0]) == sorted(rows[0]) == list(g.EXPORT_C_VIEWING_HEADER)
    materials = {_unquote(r["Material Type Description"]) for r in rows}
    assert {"Full", "Feature", "Promo", "Trailer", "Short"} <= materials
    assert any(_unquote(r["Is Deleted"]) == "Yes" for r in rows)
    assert any(_unquote(r["Is Autoplay"]) == "Yes" and float(r["Seconds Viewed"]) < 60
               for r in rows)  # fmt: skip
    start = rows[0]["Playback Start Datetime (UTC)"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", start)
    events = _zip_csv(en_us, "Watch Events.csv")
    ev_rows = list(csv.DictReader(io.StringIO(events[1:])))
    assert list(ev_rows[0]) == list(g.EXPORT_C_WATCH_EVENTS_HEADER)
    assert any(_unquote(r["Deleted from Watch History"]) == "yes" for r in ev_rows)
    assert any(_unquote(r["Latest Watch Progress"]) == "Not Available" for r in ev_rows)
    assert any("\n" in r["Title Description"] and '"' in _unquote(r["Title Description"])
               and "," in r["Title Description"] for r in ev_rows)  # fmt: skip

    console = (en_us / "console.csv").read_text(encoding="utf-8")
    c_rows = list(csv.DictReader(io.StringIO(console)))
    assert list(c_rows[0]) == list(g.CONSOLE_HEADER)
    assert {r["Type"] for r in c_rows} == {"Movie", "Series"}
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", r["Date Watched"])
               for r in c_rows)  # fmt: skip
    assert any(r["Title"] == "Tom &amp; Jerry" for r in c_rows)
    assert len(_jsonl(en_us / "console.expected.jsonl")) == len(
        [r for r in c_rows if "Trailer" not in r["Title"] and "Bonus" not in r["Title"]]
    )


def test_empty_account(tmp_path: Path) -> None:
    written = g.write_all(tmp_path, 1, 60, "it-IT", empty=True)
    assert set(written) >= FIXED_FILES
    for name in EXPECTED_FILES:
        assert (tmp_path / name).read_bytes() == b""
    (page,) = _api_pages(tmp_path)
    assert set(_history_content(page)) == {"header", "message"}
    assert json.loads((tmp_path / "api/tokens.json").read_text()) == [None]
    html_text = (tmp_path / "saved-page-expanded.html").read_text(encoding="utf-8")
    assert 'data-automation-id="activity-history-items"' in html_text
    assert "wh-date-" not in html_text and '"header"' in html_text
    assert len((tmp_path / A_CSV).read_text().splitlines()) == 1
    assert len((tmp_path / B_CSV).read_text().splitlines()) == 1
    assert len((tmp_path / "console.csv").read_text().splitlines()) == 1
    for name in ("Viewing History.csv", "Watch Events.csv"):
        assert len(_zip_csv(tmp_path, name).splitlines()) == 1


# -- sizes ----------------------------------------------------------------------------


@pytest.mark.parametrize("n", [10, 1000])
def test_sizes_write_all(tmp_path: Path, n: int) -> None:
    g.write_all(tmp_path, 13, n, "pt-BR")
    rows = _jsonl(tmp_path / "export-c.expected.jsonl")
    assert len(rows) == max(n, len(g.build_history(13, 10, "pt-BR").events))


@pytest.mark.slow
def test_size_20000_json_and_export_c(tmp_path: Path) -> None:
    history = g.build_history(21, 20_000, "en-GB")
    g.write_api_pages(history, tmp_path / "api")
    g.write_export_c(history, tmp_path / "export-c.zip")
    g.write_export_a(history, tmp_path / "export-a")
    assert len(history.events) == 20_000
    movies = sum(leaf.kind == "movie" for leaf in history.events)
    assert 0.25 < movies / 20_000 < 0.35
    assert len(_jsonl(tmp_path / "api.expected.jsonl")) == 20_000 - 1  # C6's hidden watch
    assert len(_jsonl(tmp_path / "export-c.expected.jsonl")) == 20_000
    a_rows = _jsonl(tmp_path / "export-a.expected.jsonl")
    older = [r for r in a_rows if r["watched_at"] < g.START_DATE.isoformat()]
    assert older and len(a_rows) - len(older) == 20_000  # one watch per leaf, plus A's own
    days = [leaf.day for leaf in history.events]
    assert max(days) == g.END_DATE and (max(days) - min(days)).days > 7 * 365
    assert len({leaf.gti for leaf in history.events}) == 20_000 - 1
    assert len({leaf.t_ms for leaf in history.events}) == 20_000


# -- committed samples ------------------------------------------------------------------


def test_committed_samples_are_current(tmp_path: Path) -> None:
    committed = Path(__file__).resolve().parents[2] / "fixtures" / "samples"
    assert all((committed / name).is_dir() for name in SAMPLES), (
        "fixtures/samples is incomplete: run python -m fixtures.make_samples"
    )
    make_samples(tmp_path)
    for name in SAMPLES:
        assert _files(tmp_path / name) == _files(committed / name), (
            f"fixtures/samples/{name} is stale: run python -m fixtures.make_samples"
        )
    pages = {p.name: p.read_bytes() for p in tmp_path.glob(LOCALE_PAGE_GLOB)}
    assert len(pages) == 2 * len(LANGUAGE_LOCALES)
    assert {p.name: p.read_bytes() for p in committed.glob(LOCALE_PAGE_GLOB)} == pages, (
        "fixtures/samples/locale-* are stale: run python -m fixtures.make_samples"
    )


# -- layout A as Amazon writes it (real file: export-a-it-real.* of the real samples) -----

REAL = REAL_SAMPLES
A_MEMBERS = (
    "Digital.PrimeVideo.Viewinghistory/Digital.PrimeVideo.Viewinghistory.csv",
    "Digital.PrimeVideo.Watchlist/Digital.PrimeVideo.Watchlist.csv",
    "Digital.PrimeVideo.Watchlist/Digital.PrimeVideo.WatchlistHistory.csv",
    "Digital.PrimeVideo.ViewCounts.2/Digital.PrimeVideo.ViewCounts.2.csv",
)


def _a_lines(root: Path) -> list[str]:
    return (root / A_CSV).read_text(encoding="utf-8").splitlines()[1:]


def _a_rows(root: Path) -> list[list[str]]:
    return [line.split(",", 12) for line in _a_lines(root)]


def test_export_a_files_have_the_real_headers_and_bom(en_us: Path) -> None:
    with zipfile.ZipFile(REAL / "export-a-it-real.zip") as zf:
        for member in A_MEMBERS:
            real = zf.read(member).decode("utf-8")
            ours = (en_us / "export-a" / member).read_text(encoding="utf-8")
            assert real[0] == ours[0] == "\ufeff", member
            assert real.splitlines()[0] == ours.splitlines()[0], member


def test_export_a_carries_the_real_traits(de_de: Path) -> None:
    plan = gen_export_a.export_a_plan(g.build_history(11, 200, "de-DE"))
    lines, rows = _a_lines(de_de), _a_rows(de_de)
    titles = {r[12] for r in rows}
    assert {"Feature", "Full", "Trailer", "Live"} <= {r[10] for r in rows}
    trailers = {r[12] for r in rows if r[9] == "TRAILER" and r[10] == "Trailer"}
    watched = {r[12] for r in rows if r[10] in ("Feature", "Full")}
    assert trailers & watched  # a trailer of a title that was also watched
    assert any(t.startswith("Coverage: ") and " - " in t for t in titles)
    assert any(len(line.split(",")) > 13 for line in lines)  # unquoted commas spill over
    assert len(lines) != len(set(lines))  # exact duplicate rows
    devices: dict[tuple[str, str], set[str]] = {}
    for r in rows:
        devices.setdefault((r[0], r[12]), set()).add(r[1])
    assert any(len(v) > 1 for v in devices.values())  # one playback, several devices
    assert len(plan.bare_shows) >= 2
    for show in plan.bare_shows:  # every suffix-less show: two distinct episode titles at least
        assert len({t for t in titles if t.endswith(f"-{show}")}) >= 2, show
    assert plan.ambiguous is not None
    tail = plan.ambiguous.rsplit("-", 1)[1]
    assert [t for t in titles if t.endswith(f"-{tail}")] == [plan.ambiguous]
    assert any(t.endswith(f"-{plan.final_season} - The Final Season") for t in titles)
    assert any(t.partition("-")[0] == t.partition("-")[2] for t in titles)  # X-X
    hyphenated = [t for t in plan.only_in_a if t.split(" - ")[0].count("-") >= 2]
    assert hyphenated and any(" - " in t and "-" in t.split(" - ")[0] for t in plan.only_in_a)
    first_page_day = datetime(g.START_DATE.year, g.START_DATE.month, g.START_DATE.day)
    old_rows = [r for r in rows if r[12] in set(plan.only_in_a)]
    assert old_rows and all(datetime.strptime(r[0], "%m/%d/%Y %H:%M:%S") < first_page_day
                            for r in old_rows)  # fmt: skip


def test_export_a_expected_follow_the_rule(de_de: Path) -> None:
    plan = gen_export_a.export_a_plan(g.build_history(11, 200, "de-DE"))
    expected = _jsonl(de_de / "export-a.expected.jsonl")
    rows = [r for r in _a_rows(de_de) if r[9] != "TRAILER" and r[10] not in ("Trailer", "Live")]
    reading = {s.title: s.watch for s in plan.sessions if s.watch is not None}
    assert not any(r["title"].startswith("Coverage: ") for r in expected)
    for show in plan.bare_shows:
        assert {r["season"] for r in expected if r["title"] == show} == {None}
    assert {r["season"] for r in expected if r["title"] == plan.final_season} == {1, None}
    (ambiguous,) = [r for r in expected if r["title"] == plan.ambiguous]
    assert ambiguous["kind"] == "movie"
    hours: dict[str, list[datetime]] = {}
    for r in rows:
        if r[10] != "Bonus":
            hours.setdefault(r[12], []).append(datetime.strptime(r[0], "%m/%d/%Y %H:%M:%S"))
    resumed = 0
    for title, stamps in hours.items():
        watch = reading[title]
        key = (watch.title, watch.season, watch.episode_title)
        got = [r["watched_at"] for r in expected
               if (r["title"], r["season"], r["episode_title"]) == key]  # fmt: skip
        days = sorted({s.date() for s in stamps})
        assert 1 <= len(got) <= len(days), title
        firsts = {min(s for s in stamps if s.date() == d) for d in days}
        assert {datetime.fromisoformat(w[:-1]) for w in got} <= firsts, title
        ordered = sorted(stamps)
        pairs = zip(ordered, ordered[1:], strict=False)
        resumed += any(b - a > timedelta(hours=1) and a.date() == b.date() for a, b in pairs)
    assert resumed  # a playback resumed later the same day is one watch
    assert all(r["precision"] == "hour" and r["episode"] is None for r in expected)


def test_watchlist_files_and_expected(de_de: Path) -> None:
    folder = de_de / "export-a"
    listed = list(csv.reader(io.StringIO(
        (folder / A_MEMBERS[1]).read_text(encoding="utf-8")[1:])))  # fmt: skip
    log_text = (folder / A_MEMBERS[2]).read_text(encoding="utf-8")[1:]
    log = list(csv.reader(io.StringIO(log_text)))
    assert all(line.startswith('"') and line.endswith('"') for line in log_text.splitlines())
    assert all(re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d", row[0]) for row in listed[1:])
    assert {row[3] for row in log[1:]} == {"0", "1"}
    flags: dict[str, list[str]] = {}
    for row in log[1:]:
        flags.setdefault(row[4], []).append(row[3])
    assert ["1", "0", "1", "0"] in flags.values()  # repeated add/delete rows, as the real file
    expected = _jsonl(de_de / "export-a.watchlist.expected.jsonl")
    assert {r["kind"] for r in expected} == {"movie", "show"}
    watched = {r["title"] for r in _jsonl(de_de / "export-a.expected.jsonl")}
    added = {row[1]: row[0] for row in listed[1:]}
    deleted = {title for title, f in flags.items() if "1" in f}
    for row in expected:
        assert list(row) == ["title", "kind", "added_at"]
        assert row["title"] not in watched and row["title"] not in deleted
        source = next(t for t in added if t == row["title"] or t.startswith(row["title"] + " "))
        stamp = datetime.strptime(added[source], "%m/%d/%Y %H:%M")
        assert row["added_at"] == stamp.strftime("%Y-%m-%dT%H:%M:00.000Z")
        assert (row["kind"] == "show") == (source != row["title"])
    assert len(listed) - 1 - len(expected) >= 2  # watched titles on the list are left out


# -- the console exporter's versions (real files: console-* of the real samples) ----------


def test_console_versions_have_the_real_headers(en_us: Path, de_de: Path) -> None:
    pairs = [
        ("console-v0.csv", en_us, "console-v0.csv"),
        ("console-v1.csv", en_us, "console-v1-en.csv"),
        ("console-v2.csv", en_us, "console-v2-en.csv"),
        ("console-v2.csv", de_de, "console-v2-de.csv"),
        ("console-v3.csv", en_us, "console-v3.csv"),
        ("console-v3-epoch-ms.csv", en_us, "console-v3-epoch-ms.csv"),
    ]
    for ours, root, real in pairs:
        mine = (root / ours).read_text(encoding="utf-8")
        theirs = (REAL / real).read_text(encoding="utf-8")
        assert mine.splitlines()[0] == theirs.splitlines()[0], ours
        assert not mine.endswith("\n"), ours
    real_json = json.loads((REAL / "console-v3.json").read_text(encoding="utf-8"))
    ours_json = json.loads((en_us / "console-v3-json.json").read_text(encoding="utf-8"))
    assert [list(x) for x in ours_json[:2]] == [list(x) for x in real_json]
    assert all(isinstance(x["dateWatched"], int) for x in ours_json)


def test_console_version_shapes(en_us: Path) -> None:
    def text(name: str) -> str:
        return (en_us / name).read_text(encoding="utf-8")

    manifest = json.loads(text("manifest.json"))
    v0 = text("console-v0.csv").splitlines()
    assert len(v0) - 1 == manifest["dom_sections"]  # one row per date section
    assert all(line.count(", ") >= 3 for line in v0)
    assert any(line.endswith('", ') for line in v0)  # a movie row
    assert '"Episode 1: "INHERENT RESOLVE""' in text("console-v1.csv")
    assert '"Episode 1: ""INHERENT RESOLVE"""' in text("console-v2.csv")
    for name in ("console-v1.csv", "console-v2.csv"):
        assert all(re.match(r"\d{4}-\d\d-\d\d,", line) for line in text(name).splitlines()[1:])
    assert all(re.match(r'"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}",', line)
               for line in text("console-v3.csv").splitlines()[1:])  # fmt: skip
    assert all(re.match(r'"\d{13}",', line)
               for line in text("console-v3-epoch-ms.csv").splitlines()[1:])  # fmt: skip
    assert all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3},", line)
               for line in text("console-v2-exact.csv").splitlines()[1:])  # fmt: skip
    assert '"Tom & Jerry"' in text("console-v3.csv") and "&amp;" not in text("console-v3.csv")
    days = {r["watched_at"] for r in _jsonl(en_us / "console-v1.expected.jsonl")}
    assert all(d.endswith("T12:00:00.000Z") for d in days)


def test_console_day_is_the_exporters_utc_date(de_de: Path) -> None:
    assert gen_console.exporter_day(ZoneInfo("Europe/Berlin"), date(2024, 4, 23)) == date(
        2024, 4, 22
    )
    assert gen_console.exporter_day(ZoneInfo("America/New_York"), date(2024, 4, 23)) == date(
        2024, 4, 23
    )
    history = g.build_history(11, 200, "de-DE")
    pages = {s.day - timedelta(days=1) for s in history.model(6, False).sections}
    written = {line[:10] for line in (de_de / "console-v2.csv").read_text().splitlines()[1:]}
    assert written == {d.isoformat() for d in pages}


# -- the 2021 history JSON generation --------------------------------------------------------


def test_history_json_2021_generation(de_de: Path) -> None:
    pages = [json.loads(p.read_text(encoding="utf-8"))
             for p in sorted(de_de.glob("api-2021/page-*.json"))]  # fmt: skip
    starts = json.loads((de_de / "api-2021/start-indexes.json").read_text())
    contents = []
    for page in pages:
        (widget,) = [w for w in page["widgets"] if w.get("widgetType") == "activity-history"]
        assert not any(w.get("widgetType") == "watch-history" for w in page["widgets"])
        contents.append(widget["content"]["content"])
    assert [c["nextStartIndex"] for c in contents] == [*starts[1:], None]
    assert any(c["titles"] == [] for c in contents[1:-1])  # an empty page, not the end
    for content in contents:
        for section in content["titles"]:
            for item in section["titles"]:
                assert "titleType" not in item and "badges" not in item
                assert item["gti"].startswith("amzn1.dv.gti.")
                ids = item["actions"]["REMOVE"]["query"]["titleIds"].split("_")
                assert all(re.fullmatch(r"B0[0-9A-Z]{8}", x) for x in ids)
    page = (de_de / "saved-page-2021.html").read_text(encoding="utf-8")
    assert "data-testid" not in page and "wh-item-" not in page and "wh-date-" in page
    assert re.search(r'data-automation-id="wh-episode-B0[0-9A-Z]{8}"', page)
    (inline,) = [t for t in _texts(de_de / "saved-page-2021.html").templates if WIDGET_2021 in t]
    widgets = json.loads(inline)["props"]["widgets"]
    (widget,) = [w for w in widgets if w.get("widgetType") == "activity-history"]
    assert widget["content"]["content"] == contents[0]
    rows = _jsonl(de_de / "saved-page-2021.expected.jsonl")
    assert {r["precision"] for r in rows if r["gti"]} == {"exact"}
    assert {r["precision"] for r in rows if not r["gti"]} == {"day"}


# -- locales ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "day", "text"),
    [
        ("nl-NL", date(2024, 4, 23), "23 april 2024"),
        ("sv-SE", date(2024, 4, 23), "23 april 2024"),
        ("da-DK", date(2024, 4, 23), "23. april 2024"),
        ("nb-NO", date(2024, 4, 23), "23. april 2024"),
        ("fi-FI", date(2024, 4, 23), "23. huhtikuuta 2024"),
        ("pl-PL", date(2024, 4, 23), "23 kwietnia 2024"),
        ("cs-CZ", date(2024, 4, 23), "23. dubna 2024"),
        ("ru-RU", date(2024, 4, 23), "23 апреля 2024\u202fг."),  # Babel: narrow no-break space
        ("tr-TR", date(2024, 4, 23), "23 Nisan 2024"),
        ("ko-KR", date(2024, 4, 23), "2024년 4월 23일"),
        ("zh-CN", date(2024, 4, 23), "2024年4月23日"),
        ("hi-IN", date(2024, 4, 23), "23 अप्रैल 2024"),
        ("id-ID", date(2024, 4, 23), "23 April 2024"),
        ("ar-AE", date(2024, 4, 23), "٢٣ أبريل ٢٠٢٤"),
        ("ar-AE", date(2024, 4, 22), "22 أبريل 2024"),
        ("th-TH", date(2024, 4, 23), "23 เมษายน 2567"),
        ("th-TH", date(2024, 4, 22), "22 เมษายน ค.ศ. 2024"),
    ],
)
def test_cldr_date_headers_of_the_shared_table(locale: str, day: date, text: str) -> None:
    assert g.format_date(locale, day) == text


def test_every_language_of_the_shared_table_has_a_locale() -> None:
    assert len(LANGUAGE_LOCALES) == 22
    for lang, locale in LANGUAGE_LOCALES.items():
        spec = g.LOCALES[locale]
        assert spec.season_tpl == gen_locales.SEASON_FORMS[lang][0], lang
        assert spec.episode_tpl == gen_locales.LABEL_FORMS[lang][0], lang
        assert spec.lang == locale.lower()


@pytest.mark.parametrize("lang", list(LANGUAGE_LOCALES))
def test_locale_page_has_every_form(tmp_path: Path, lang: str) -> None:
    gen_locale_pages.write_locale_page(lang, tmp_path)
    page = (tmp_path / f"locale-{lang}.html").read_text(encoding="utf-8")
    locale = LANGUAGE_LOCALES[lang]
    for month, day in gen_locale_pages.DAYS:
        header = g.format_date(locale, date(gen_locale_pages.YEAR, month, day))
        assert f'data-automation-id="wh-date-{html.escape(header)}"' in page
    texts = _texts(tmp_path / f"locale-{lang}.html")
    assert not any('"watch-history"' in t for t in texts.templates)  # dates from the DOM
    history = gen_locale_pages.build_locale_history(lang)
    seasons = {leaf.season_ref.text for leaf in history.events if leaf.season_ref}
    assert seasons <= set(texts.links)
    for form, _ in gen_locale_pages.season_cases(lang):
        marker = form.split("{show}")[1].split("{")[0]
        assert any(marker.strip().casefold() in s.casefold() for s in seasons), form
    for form in gen_locale_pages.label_forms(lang):
        prefix = form.split("{e}")[0]
        assert any(p.startswith(prefix) for p in texts.paragraphs), form
    rows = _jsonl(tmp_path / f"locale-{lang}.expected.jsonl")
    assert len(rows) == len(history.events) >= 12
    assert {r["precision"] for r in rows} == {"day"}
    assert any(r["kind"] == "episode" and r["season"] is None for r in rows)
    assert any(r["kind"] == "episode" and r["episode_title"] is None for r in rows)
