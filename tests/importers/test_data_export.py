"""Amazon's data export, layouts A, B and C, as ZIP, folder or single CSV."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest
from golden_support import LOCALE_SAMPLES, SAMPLES, GoldenCheck, imported

from fixtures import generator
from pv2simkl.errors import ParseError
from pv2simkl.importers import data_export, parse_file


@pytest.mark.parametrize("locale", LOCALE_SAMPLES)
@pytest.mark.parametrize("layout", ["a", "b", "c"])
def test_export_matches_expected_events(golden: GoldenCheck, locale: str, layout: str) -> None:
    folder = SAMPLES / locale
    target = folder / ("export-c.zip" if layout == "c" else f"export-{layout}")
    golden([target], folder / f"export-{layout}.expected.jsonl")


def test_layout_c_as_folder_and_single_csv(golden: GoldenCheck, tmp_path: Path) -> None:
    folder = SAMPLES / "de-DE"
    with zipfile.ZipFile(folder / "export-c.zip") as z:
        z.extractall(tmp_path / "unpacked")
    golden([tmp_path / "unpacked"], folder / "export-c.expected.jsonl")
    single = next((tmp_path / "unpacked").rglob("Viewing History.csv"))
    golden([single], folder / "export-c.expected.jsonl")


def test_layout_detected_from_content_not_name(golden: GoldenCheck, tmp_path: Path) -> None:
    folder = SAMPLES / "it-IT"
    source = next((folder / "export-a").rglob("*.csv"))
    renamed = tmp_path / "whatever.txt.data"
    shutil.copy(source, renamed)
    golden([renamed], folder / "export-a.expected.jsonl")


def test_1000_events_all_layouts(golden: GoldenCheck, tmp_path: Path) -> None:
    history = generator.build_history(5, 1000, "es-ES")
    generator.write_export_a(history, tmp_path / "a")
    generator.write_export_b(history, tmp_path / "b")
    generator.write_export_c(history, tmp_path / "c.zip")
    golden([tmp_path / "a"], tmp_path / "a.expected.jsonl")
    golden([tmp_path / "b"], tmp_path / "b.expected.jsonl")
    golden([tmp_path / "c.zip"], tmp_path / "c.expected.jsonl")


def test_hour_rows_of_one_playback_are_one_watch(tmp_path: Path) -> None:
    csv_text = (
        "Playback Hour,Operating System,Browser,Delivery Type,City,Country,ISP,State,"
        "Content Quality Entitled,Entitlement Type,Video Type,Audio Language,Title\n"
        + "".join(
            f"12/14/2016 {h}:00:00,Windows 10,Chrome,streaming,milano,it,x,y,HD,PRIME,Feature,it,"
            "Opera, Art and Donuts-The Grand Tour - Season 1\n"
            for h in ("22", "23", "23", "00")
        ).replace("12/14/2016 00", "12/15/2016 00")
        + "12/16/2016 20:00:00,Windows 10,Chrome,streaming,milano,it,x,y,HD,PRIME,Feature,it,"
        "Hitch\n"
        + "12/16/2016 21:00:00,Windows 10,Chrome,streaming,milano,it,x,y,HD,PRIME,Feature,it,"
        "Official Trailer-The Grand Tour - Season 2\n"
    )
    path = tmp_path / "a.csv"
    path.write_text(csv_text)
    events = parse_file(path).flat.events
    got = [(e.kind, e.title, e.season, e.episode_title, e.watched_at.isoformat()) for e in events]
    assert got == [
        ("episode", "The Grand Tour", 1, "Opera, Art and Donuts", "2016-12-14T22:00:00+00:00"),
        ("movie", "Hitch", None, None, "2016-12-16T20:00:00+00:00"),
    ]  # fmt: skip


def test_layout_b_quirks(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text(
        '"Playback Start Datetime (UTC)","Playback End Datetime (UTC)","Title","Seconds Viewed"\r\n'
        '"2024-12-19T18:18:47Z","2024-12-19T18:18:50Z","""Red One""","0.00000"\r\n'
        '"2024-12-19T19:00:00Z","2024-12-19T21:00:00Z","""Red One""","7200.5"\r\n'
        '"2024-12-20 18:18:47.123","2024-12-20 19:00:00","""Not available""","2000"\r\n'
        '"2024-01-15 12:00:00","2024-01-15 13:00:00","""Pilot-Community - Season 1""","1500"\r\n'
    )
    events = parse_file(path).flat.events
    assert [(e.title, e.episode_title, e.watched_at.isoformat(), e.source) for e in events] == [
        ("Red One", None, "2024-12-19T19:00:00+00:00", "export-b"),
        ("Community", "Pilot", "2024-01-15T12:00:00+00:00", "export-b"),
    ]


def test_reading_of_an_ambiguous_title_follows_the_other_rows(tmp_path: Path) -> None:
    rows = ["Pilot-X-Men - Season 1", "Spider-Man-Heroes - Season 1", "Genesis-Heroes - Season 1"]
    path = tmp_path / "b.csv"
    path.write_text(
        '"Playback Start Datetime (UTC)","Playback End Datetime (UTC)","Title","Seconds Viewed"\n'
        + "".join(f'"2024-01-0{i + 1}T10:00:00Z","","""{t}""","900"\n' for i, t in enumerate(rows))
    )
    got = [(e.title, e.episode_title) for e in parse_file(path).flat.events]
    assert got == [("X-Men", "Pilot"), ("Heroes", "Spider-Man"), ("Heroes", "Genesis")]


def test_empty_exports_yield_nothing() -> None:
    folder = SAMPLES / "empty"
    got, _, _ = imported([folder / "export-a", folder / "export-b", folder / "export-c.zip"])
    assert not got


@pytest.mark.parametrize(
    ("content", "phrase"),
    [(b'"Playback Start Datetime (UTC)","Title","Seconds Viewed"\n"nonsense","""X""","100"\n',
      "not a date"),
     ("Playback Hour,Title\n12/14/2016 19:00:00,Caf\xe9\n".encode("latin-1"), "not UTF-8"),
     (b'"Playback Start Datetime (UTC)","Playback End Datetime (UTC)","Title","Seconds Viewed"\n'
      b'"2024-12-19T18:18:47Z","2024-12', "truncated")],
)  # fmt: skip
def test_bad_export_files_are_parse_errors(content: bytes, phrase: str) -> None:
    with pytest.raises(ParseError, match=phrase):
        data_export.parse(content, name="x.csv")


def test_broken_zip_is_a_parse_error(tmp_path: Path) -> None:
    data = (SAMPLES / "en-US" / "export-c.zip").read_bytes()
    path = tmp_path / "cut.zip"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ParseError, match="ZIP"):
        parse_file(path)
