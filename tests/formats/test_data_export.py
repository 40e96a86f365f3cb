"""Amazon's data export, layouts A, B and C, as ZIP, folder or single CSV."""

from __future__ import annotations

import json
import shutil
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from golden_support import LOCALE_SAMPLES, SAMPLES, GoldenCheck, imported

from fixtures import generator
from fixtures.real_samples import REAL_SAMPLES
from pv2simkl import titles
from pv2simkl.errors import ParseError
from pv2simkl.formats import data_export
from pv2simkl.formats.events import Flattened
from pv2simkl.models import iso_utc
from pv2simkl.sources.files import parse_file


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
    source = next((folder / "export-a").rglob("*Viewinghistory.csv"))
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
    # The Video Type column decides what is a trailer: the real export labels this row
    # Feature, and the real-samples README counts it among the things watched.
    assert got == [
        ("episode", "The Grand Tour", 1, "Opera, Art and Donuts", "2016-12-14T22:00:00+00:00"),
        ("movie", "Hitch", None, None, "2016-12-16T20:00:00+00:00"),
        ("episode", "The Grand Tour", 2, "Official Trailer", "2016-12-16T21:00:00+00:00"),
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


def test_a_row_with_an_unreadable_time_is_skipped_and_named() -> None:
    content = (
        b'"Playback Start Datetime (UTC)","Title","Seconds Viewed"\n"nonsense","""X""","900"\n'
        b'"2024-12-19T18:18:47Z","""Y""","900"\n"also bad","""Z""","900"\n'
    )
    flat = data_export.parse(content, name="x.csv")
    assert [e.title for e in flat.events] == ["Y"]
    (problem,) = flat.unreadable.values()
    assert problem.where == ["row 2", "row 4"]
    assert "'nonsense'" in problem.reason and "not a date" in problem.reason


@pytest.mark.parametrize(
    ("content", "phrase"),
    [("Playback Hour,Title\n12/14/2016 19:00:00,Caf\xe9\n".encode("latin-1"), "not UTF-8"),
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


# ---- the real Italian export (../shared/real-samples/export-a-it-real.csv) ----------------

REAL = REAL_SAMPLES


def _things(events: list) -> set[tuple]:
    return {(e.kind, titles.identity_key(e.title), e.season, e.episode_title) for e in events}


@pytest.fixture(scope="module")
def real_a() -> Flattened:
    return parse_file(REAL / "export-a-it-real.csv").flat


def test_real_export_a_reads_648_things_70_movies_578_episodes(real_a: Flattened) -> None:
    things = _things(real_a.events)
    assert len(things) == 648
    assert Counter(kind for kind, *_ in things) == {"movie": 70, "episode": 578}
    assert not real_a.unreadable and not real_a.errors


def test_real_export_a_shows_are_recognised_from_the_whole_file(real_a: Flattened) -> None:
    per_show = Counter(title for kind, title, _, _ in _things(real_a.events) if kind == "episode")
    assert per_show["house"] == 178
    assert per_show["scrubs"] == 169
    assert per_show["the grand tour"] == 31
    assert per_show["community"] == 19
    high_castle = ("the man in the high castle", "man in the high castle")
    assert sum(per_show[t] for t in high_castle) == 41  # three spellings, one case-fold apart


def test_real_export_a_final_season_is_a_season_of_the_show(real_a: Flattened) -> None:
    giants = {
        (season, ep) for kind, title, season, ep in _things(real_a.events)
        if kind == "episode" and title == "lattacco dei giganti"
    }  # fmt: skip
    assert len(giants) == 75
    assert (None, "Al di là del mare") in giants  # "- The Final Season": season unknown
    assert {(1, "Quel giorno"), (3, "Quel giorno")} <= giants


@pytest.mark.parametrize(
    ("show", "season", "episode_title"),
    [("House", None, "Wilson's Heart"), ("Scrubs", None, "My Absence"),
     ("House", None, "Half-Wit"), ("House", None, "Whac-A-Mole"),
     ("The Grand Tour", 2, "Bah humbug-atti"), ("The Grand Tour", 1, "Enviro-mental"),
     ("The Grand Tour", 1, "Opera, Art and Donuts"), ("The Boys", 2, '"What I Know"'),
     ("All or Nothing: Manchester City", 1, "Great Expectations"),
     ("LOL: Last One Laughing Italy", 1, "LOL - Ep. 01"),
     ("Great Teacher Onizuka", 1, "Lesson1"), ("Paranoia Agent", None, "Double lips")],
)  # fmt: skip
def test_real_export_a_episode_titles_split_right(
    real_a: Flattened, show: str, season: int | None, episode_title: str
) -> None:
    found = {(e.title, e.season) for e in real_a.events if e.episode_title == episode_title}
    assert found == {(show, season)}


@pytest.mark.parametrize(
    "movie",
    ["Lupin the 3rd - La bugia di Mine Fujiko", "Jin-Roh - Uomini e lupi", "Hitch",
     "Doraemon: Il Film - Nobita e le Cronache dell'Esplorazione della Luna",
     "First Light-Marvel\u2019s Cloak & Dagger"],
)  # fmt: skip
def test_real_export_a_movies_stay_whole(real_a: Flattened, movie: str) -> None:
    assert {e.kind for e in real_a.events if e.title == movie} == {"movie"}


def test_real_export_a_trailers_and_live_broadcasts_are_not_watches(real_a: Flattened) -> None:
    assert real_a.ignored == {"trailers": 3, "live broadcasts": 7}
    assert not [e for e in real_a.events if e.title.startswith("Coverage")]
    # "Sopravvissuti" has a trailer row and a watch row in the same hour: one watch.
    assert [e.watched_at.date().isoformat() for e in real_a.events
            if e.title == "Sopravvissuti"] == ["2021-08-01"]  # fmt: skip


def test_real_export_a_hour_rows_merge_and_other_days_are_rewatches(real_a: Flattened) -> None:
    def times(episode_title: str) -> list[str]:
        found = [e for e in real_a.events if e.episode_title == episode_title]
        assert {e.precision for e in found} == {"hour"}
        return sorted(iso_utc(e.watched_at) for e in found)

    # 19:00 twice on a phone, 22:00 on a PC: one playback of one evening.
    assert times("The Holy Trinity") == ["2016-12-14T19:00:00.000Z"]
    assert times("Wilson's Heart") == ["2019-09-21T11:00:00.000Z"]  # 7 rows, 11:00–13:00
    assert times("Not Cancer") == ["2019-09-21T14:00:00.000Z", "2019-09-24T19:00:00.000Z"]


def test_real_export_a_zip_reads_the_same_history(real_a: Flattened) -> None:
    flat = parse_file(REAL / "export-a-it-real.zip").flat
    assert sorted(map(_public, flat.events)) == sorted(map(_public, real_a.events))
    assert flat.ignored == real_a.ignored


def _public(event) -> str:
    return json.dumps(event.to_public(), sort_keys=True)


def test_real_export_zip_watchlist_is_what_is_listed_now() -> None:
    got = [w.to_public() for w in parse_file(REAL / "export-a-it-real.zip").flat.watchlist]
    assert got == [
        {"title": "L'Attacco dei Giganti - Parte 3: L'urlo del risveglio", "kind": "movie",
         "added_at": "2021-01-23T22:08:00.000Z"},
        {"title": "L'Attacco dei Giganti", "kind": "show", "added_at": "2021-01-23T22:33:00.000Z"},
    ]  # fmt: skip


def test_watchlist_history_alone_leaves_out_every_deleted_title(tmp_path: Path) -> None:
    with zipfile.ZipFile(REAL / "export-a-it-real.zip") as z:
        history = z.read("Digital.PrimeVideo.Watchlist/Digital.PrimeVideo.WatchlistHistory.csv")
    path = tmp_path / "history.csv"
    path.write_bytes(history)
    flat = parse_file(path).flat
    assert sorted(w.title for w in flat.watchlist) == [
        "L'Attacco dei Giganti", "L'Attacco dei Giganti - Parte 3: L'urlo del risveglio"
    ]  # fmt: skip
    assert not flat.events


def test_view_counts_summary_is_known_and_holds_no_watches(tmp_path: Path) -> None:
    with zipfile.ZipFile(REAL / "export-a-it-real.zip") as z:
        counts = z.read("Digital.PrimeVideo.ViewCounts.2/Digital.PrimeVideo.ViewCounts.2.csv")
    flat = data_export.parse(counts, name="ViewCounts.csv")
    assert not flat.events and not flat.watchlist and not flat.unreadable
