"""The identity rule across sources: overlapping files add nothing, rewatches stay."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fixtures import generator
from pv2simkl import pipeline
from pv2simkl.config import load_settings

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "samples"
# The collapsed page is left out: its unexpanded episodes know only their gti, which no
# export row carries, so alone they cannot be told to be the same watches (the catalog call
# of the Amazon session fills their numbers in). The dom-only pages hold one such season
# too (a toggle that yields no rows); an API row that names the episode by title and gti
# shows both to be one watch.
SOURCES = ["export-c.zip", "saved-page-expanded.html", "saved-page-dom-only.html", "api",
           "export-a", "export-b", "console.csv"]  # fmt: skip


def _ctx(tmp_path: Path) -> pipeline.Context:
    return pipeline.Context.create(load_settings(env={"PV2SIMKL_DATA_DIR": str(tmp_path)}))


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _gti_only(
    folder: Path, names: tuple[str, ...] = ("saved-page-expanded", "saved-page-dom-only")
) -> set[str]:
    """Page episodes whose list was not expanded: known by gti alone, no export row matches."""
    return {
        r["gti"]
        for name in names
        for r in _rows(folder / f"{name}.expected.jsonl")
        if r["kind"] == "episode" and r["episode"] is None and r["episode_title"] is None
    }


def _named_by_api(folder: Path) -> set[str]:
    """gtis of the episodes the API replies name with their title."""
    return {r["gti"] for r in _rows(folder / "api.expected.jsonl") if r["episode_title"]}


def _only_in_a(folder: Path) -> list[dict]:
    """Layout A's real-world titles (inner hyphens, suffix-less shows, `X-X`, ...) are watches
    the generator dates before the rest of the history (fixtures/generator/export_a.py,
    only_in_a)."""
    start = generator.START_DATE.isoformat()
    return [r for r in _rows(folder / "export-a.expected.jsonl") if r["watched_at"] < start]


@pytest.mark.parametrize("locale", ["en-US", "de-DE", "ja-JP", "pt-BR"])
def test_every_source_together_equals_the_export(tmp_path: Path, locale: str) -> None:
    folder = SAMPLES / locale
    expected = (
        len(_rows(folder / "export-c.expected.jsonl"))
        + len(_gti_only(folder) - _named_by_api(folder))
        + len(_only_in_a(folder))
    )
    assert _gti_only(folder) & _named_by_api(folder)  # the API row bridges page and export
    ctx = _ctx(tmp_path)
    report = pipeline.import_paths(ctx, [folder / s for s in SOURCES])
    assert not report.failures
    assert ctx.store.counts()["events"] == expected
    # The page was imported after the export: its episode numbers completed the events.
    numbered = [e for e in ctx.store.iter_events() if e.kind == "episode" and e.episode is not None]
    assert len(numbered) >= len(_rows(folder / "api.expected.jsonl")) // 2
    ctx.close()


def test_page_first_then_export_adds_only_the_rewatch(tmp_path: Path) -> None:
    folder = SAMPLES / "fr-FR"
    ctx = _ctx(tmp_path)
    page = pipeline.import_paths(ctx, [folder / "saved-page-expanded.html"])
    export = pipeline.import_paths(ctx, [folder / "export-c.zip"])
    page_rows = _rows(folder / "saved-page-expanded.expected.jsonl")
    export_rows = _rows(folder / "export-c.expected.jsonl")
    assert page.added == len(page_rows)
    # The export adds the earlier watch of the C6 rewatch (and the watches the page knew by
    # gti only: none, every list of the expanded page is expanded); every other export row
    # is recognised as a page watch.
    gti_only = _gti_only(folder, ("saved-page-expanded",))
    assert not gti_only
    assert export.added == len(export_rows) - len(page_rows) + len(gti_only) == 1
    ctx.close()


def test_rewatch_visible_page_keeps_both_watches(tmp_path: Path) -> None:
    folder = SAMPLES / "it-IT"  # generated with rewatch_visible
    ctx = _ctx(tmp_path)
    pipeline.import_paths(ctx, [folder / "saved-page-expanded.html"])
    rows = [json.loads(x) for x in (folder / "saved-page-expanded.expected.jsonl").open()]
    assert ctx.store.counts()["events"] == len(rows)
    keys = [(r["title"], r["season"], r["episode"]) for r in rows if r["kind"] == "episode"]
    assert len(keys) > len(set(keys))  # the same episode twice, on two days
    ctx.close()


def test_same_file_twice_adds_nothing_even_when_forced(tmp_path: Path) -> None:
    folder = SAMPLES / "es-ES"
    ctx = _ctx(tmp_path)
    first = pipeline.import_paths(ctx, [folder / "export-b"])
    again = pipeline.import_paths(ctx, [folder / "export-b"])
    forced = pipeline.import_paths(ctx, [folder / "export-b"], force=True)
    assert first.added > 0
    assert again.added == 0 and again.results[0].skipped_file
    assert forced.added == 0 and not forced.results[0].skipped_file
    ctx.close()
