"""The browser-console exporter's CSV."""

from __future__ import annotations

from pathlib import Path

import pytest
from golden_support import LOCALE_SAMPLES, SAMPLES, GoldenCheck

from pv2simkl.importers import parse_file


@pytest.mark.parametrize("locale", LOCALE_SAMPLES)
def test_console_csv_matches_expected_events(golden: GoldenCheck, locale: str) -> None:
    folder = SAMPLES / locale
    golden([folder / "console.csv"], folder / "console.expected.jsonl")


def test_older_four_column_version_with_localized_dates(tmp_path: Path) -> None:
    path = tmp_path / "old.csv"
    path.write_text(
        "Date Watched,Type,Title,Episode Title\n"
        "23. April 2024,Series,Das Boot – Staffel 2,Folge 3: Drei\n"
        "5. März 2024,Movie,Der Pate [dt./OV],\n",
        encoding="utf-8",
    )
    events = parse_file(path, locale="de-DE").flat.events
    assert [(e.kind, e.title, e.season, e.episode, e.precision) for e in events] == [
        ("episode", "Das Boot", 2, 3, "day"),
        ("movie", "Der Pate", None, None, "day"),
    ]
