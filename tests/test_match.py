"""`pv2simkl match` through the command line: pins add up, a type and a year, ids pending.

Each test imports a saved page into a fresh data dir, pins ids with the real CLI process
and reads the store file to see what the next export and enrich will work from.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.test_cli import MINI_PAGE, run


@pytest.fixture
def data(tmp_path: Path) -> str:
    """A data dir holding the mini page's history (Der Pate, Tom & Jerry, Das Boot …)."""
    page = tmp_path / "page.html"
    page.write_bytes(MINI_PAGE)
    data = str(tmp_path / "data")
    r = run("--data-dir", data, "import", str(page))
    assert r.returncode == 0, r.stderr
    return data


def work(data: str, title: str) -> dict[str, Any]:
    """The stored row of the work titled ``title``."""
    conn = sqlite3.connect(Path(data) / "pv2simkl.sqlite3")
    conn.row_factory = sqlite3.Row
    try:
        row = conn.execute("SELECT * FROM works WHERE title = ?", [title]).fetchone()
    finally:
        conn.close()
    assert row is not None, title
    return dict(row)


def match(data: str, *args: str) -> None:
    r = run("--data-dir", data, "match", *args)
    assert r.returncode == 0, r.stderr


def test_a_second_pin_adds_its_id_to_the_first(data: str) -> None:
    match(data, "Tom & Jerry", "--tmdb", "587807")
    match(data, "Tom & Jerry", "--imdb", "tt1361336")
    row = work(data, "Tom & Jerry")
    assert (row["tmdb_id"], row["imdb_id"]) == (587807, "tt1361336")
    assert row["match_status"] == "pinned" and row["pinned"] == 1
    assert row["ids_pending"] == 1


def test_a_conflicting_id_replaces_only_that_services_id(data: str) -> None:
    match(data, "Tom & Jerry", "--tmdb", "1", "--imdb", "tt1361336", "--simkl", "905112")
    match(data, "Tom & Jerry", "--tmdb", "587807")
    row = work(data, "Tom & Jerry")
    assert (row["tmdb_id"], row["imdb_id"], row["simkl_id"]) == (587807, "tt1361336", 905112)


def test_type_and_year_are_pinned_with_the_ids(data: str) -> None:
    r = run("--data-dir", data, "match", "Das Boot", "--tvdb", "346321", "--type", "tv",
            "--year", "2018")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "tvdb 346321" in r.stdout and "type tv" in r.stdout and "year 2018" in r.stdout
    row = work(data, "Das Boot")
    assert (row["tvdb_id"], row["media_type"], row["year"]) == (346321, "tv", 2018)
    match(data, "Das Boot", "--type", "anime")  # a later type replaces the type only
    row = work(data, "Das Boot")
    assert (row["tvdb_id"], row["media_type"]) == (346321, "anime")


def test_the_first_pin_drops_the_ids_of_a_wrong_match(data: str) -> None:
    conn = sqlite3.connect(Path(data) / "pv2simkl.sqlite3")
    with conn:
        conn.execute(
            "UPDATE works SET simkl_id = 41210, tmdb_id = 841, imdb_id = 'tt0087182',"
            " media_type = 'movie', match_status = 'matched', ids_pending = 0"
            " WHERE title = 'Der Pate'"
        )
    conn.close()
    match(data, "Der Pate", "--tmdb", "238")
    row = work(data, "Der Pate")
    assert (row["tmdb_id"], row["simkl_id"], row["imdb_id"]) == (238, None, None)
    assert row["ids_pending"] == 1 and row["resolved_at"] is None


def test_the_same_pin_again_changes_nothing_to_export(data: str) -> None:
    match(data, "Tom & Jerry", "--tmdb", "587807")
    conn = sqlite3.connect(Path(data) / "pv2simkl.sqlite3")
    with conn:
        conn.execute("UPDATE works SET ids_pending = 0 WHERE title = 'Tom & Jerry'")
    conn.close()
    match(data, "Tom & Jerry", "--tmdb", "587807")
    assert work(data, "Tom & Jerry")["ids_pending"] == 0


def test_year_alone_makes_the_next_enrich_look_again(data: str) -> None:
    match(data, "Der Pate", "--year", "1972")
    row = work(data, "Der Pate")
    assert row["year"] == 1972 and row["match_status"] is None and not row["pinned"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--type", "series"), "'series' is not one of 'movie', 'tv', 'anime'"),
        (("--year", "72"), "is not a year"),
        ((), "give at least one id"),
    ],
)
def test_bad_options_are_refused(data: str, args: tuple[str, ...], message: str) -> None:
    r = run("--data-dir", data, "match", "Tom & Jerry", *args)
    assert r.returncode == 2 and message in r.stderr


# -- what a save of the resolver's results leaves in the store --------------------------


def _store_with_show(tmp_path: Path) -> tuple[Any, int]:
    """A store holding Attack on Titan S1E2, S3E1 and S1E1 (in that import order)."""
    from datetime import UTC, datetime

    from pv2simkl.models import WatchEvent
    from pv2simkl.store import Store

    store = Store(tmp_path / "s.sqlite3")
    events = [
        WatchEvent(
            "episode",
            "Attack on Titan",
            datetime(2024, 5, d, 20, tzinfo=UTC),
            "t",
            season=s,
            episode=e,
        )  # fmt: skip
        for d, s, e in ((2, 1, 2), (9, 3, 1), (1, 1, 1))
    ]
    store.add_import(events, path="f", sha256="aot", source="test")
    row = next(r for r in store.works_to_resolve() if r["title"] == "Attack on Titan")
    return store, row["id"]


def test_rows_to_resolve_carry_seasons_and_first_watch(tmp_path: Path) -> None:
    store, work_id = _store_with_show(tmp_path)
    row = next(r for r in store.works_to_resolve() if r["id"] == work_id)
    assert row["seasons"] == [1, 3]
    assert row["first_watched"] == "2024-05-01T20:00:00.000Z"
    store.close()


def test_saved_details_and_entries_and_ids_pending(tmp_path: Path) -> None:
    from pv2simkl.models import Ids
    from pv2simkl.providers.base import AnimeEntry, Details
    from pv2simkl.providers.resolver import Resolution

    store, work_id = _store_with_show(tmp_path)
    details = Details(
        released="2013-04-07", ended=True, last_aired=(4, 30),
        anime_entries=[AnimeEntry(1, 16498, 39687, "Shingeki no Kyojin", 25),
                       AnimeEntry(3, 35760, None, "Shingeki no Kyojin Season 3", 12)],
    )  # fmt: skip
    found = Resolution(work_id, True, Ids(simkl=39687, tmdb=1429, mal=16498), "anime", 2013,
                       90.0, "simkl", "ended", details=details)  # fmt: skip
    store.save_resolutions([found])
    row = dict(next(iter(store.db.query("SELECT * FROM works WHERE id = ?", [work_id]))))
    assert (row["released"], row["show_status"]) == ("2013-04-07", "ended")
    assert (row["last_aired_season"], row["last_aired_episode"]) == (4, 30)
    assert row["ids_pending"] == 1
    assert [(e["season"], e["mal_id"], e["episodes"]) for e in store.anime_entries(work_id)] == [
        (1, 16498, 25), (3, 35760, 12)]  # fmt: skip
    # The export claims the work; the same ids saved again leave it claimed.
    store.db.execute("UPDATE works SET ids_pending = 0 WHERE id = ?", [work_id])
    details.anime_entries = details.anime_entries[:1]
    store.save_resolutions([found])
    row = dict(next(iter(store.db.query("SELECT * FROM works WHERE id = ?", [work_id]))))
    assert row["ids_pending"] == 0
    assert len(store.anime_entries(work_id)) == 1  # replaced, not added to
    found.ids = Ids(simkl=39687, tmdb=1429, mal=16498, tvdb=267440)  # an id found later
    store.save_resolutions([found])
    row = dict(next(iter(store.db.query("SELECT * FROM works WHERE id = ?", [work_id]))))
    assert row["ids_pending"] == 1
    store.close()
