"""The store: identity of events, one transaction per import, migrations."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pv2simkl.models import WatchEvent
from pv2simkl.store import Store, integrity_ok, migrations


def ep(
    day: int,
    hour: int = 20,
    *,
    n: int | None = 3,
    title: str | None = "JENNY",
    gti: str | None = "g-3",
    precision: str = "exact",
    source: str = "page",
    show: str = "Show",
    season: int | None = 1,
) -> WatchEvent:
    return WatchEvent(
        kind="episode",
        title=show,
        season=season,
        episode=n,
        episode_title=title,
        watched_at=datetime(2024, 4, day, hour, tzinfo=UTC),
        precision=precision,
        source=source,
        gti=gti,
    )


def movie(day: int, title: str = "Hitch", precision: str = "exact") -> WatchEvent:
    return WatchEvent(
        kind="movie",
        title=title,
        source="page",
        precision=precision,
        watched_at=datetime(2024, 4, day, 20, tzinfo=UTC),
    )


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "s.sqlite3")
    yield s
    s.close()


def add(store: Store, events: list[WatchEvent], sha: str = "x") -> tuple[int, int]:
    r = store.add_import(events, path="f", sha256=sha, source="test")
    return r.added, r.updated


def test_same_events_twice_add_nothing(store: Store) -> None:
    events = [ep(1), ep(2, n=4, title="Four", gti="g-4"), movie(3)]
    assert add(store, events) == (3, 0)
    assert add(store, events, "y") == (0, 0)
    assert store.counts()["events"] == 3


def test_rewatch_on_another_day_is_new(store: Store) -> None:
    assert add(store, [ep(1), ep(11), movie(1), movie(2)]) == (4, 0)


def test_same_evening_twice_is_one_watch(store: Store) -> None:
    assert add(store, [ep(1, 9), ep(1, 20), movie(1), movie(1)]) == (2, 0)


def test_export_row_matches_page_event_by_episode_title_and_fills_nothing_twice(
    store: Store,
) -> None:
    add(store, [ep(1, 20)])
    exported = ep(1, 19, n=None, gti=None, source="export-c")
    assert add(store, [exported], "y") == (0, 0)


def test_export_first_then_page_fills_the_episode_number(store: Store) -> None:
    add(store, [ep(1, 19, n=None, gti=None, source="export-c")])
    assert add(store, [ep(1, 20)], "y") == (0, 1)
    (event,) = list(store.iter_events())
    assert (event.episode, event.gti, event.source) == (3, "g-3", "export-c")


def test_export_episode_without_season_matches_page_episode_and_gets_its_season(
    store: Store,
) -> None:
    # "Wilson's Heart-House": the real export names no season; the page says season 4.
    suffixless = ep(1, 19, n=None, gti=None, source="export-a", season=None, precision="hour")
    assert add(store, [suffixless]) == (1, 0)
    assert add(store, [ep(1, 20, season=4)], "y") == (0, 1)
    (event,) = list(store.iter_events())
    assert (event.season, event.episode) == (4, 3)
    assert add(store, [suffixless], "z") == (0, 0)  # and the export again adds nothing


def test_same_episode_title_in_two_seasons_stays_two_watches(store: Store) -> None:
    # "Quel giorno" is an episode title of season 1 and of season 3 of one show.
    s1 = ep(1, n=None, gti=None, title="Quel giorno", season=1)
    s3 = ep(1, n=None, gti=None, title="Quel giorno", season=3)
    assert add(store, [s1, s3]) == (2, 0)


def test_day_precision_matches_one_day_either_side(store: Store) -> None:
    add(store, [ep(10, 3)])  # 03:00 UTC: the evening before in New York
    local = ep(9, 12, precision="day")
    assert add(store, [local], "y") == (0, 0)
    assert add(store, [ep(7, 12, precision="day")], "z") == (1, 0)


def test_collapsed_page_gti_matches_expanded_page(store: Store) -> None:
    add(store, [ep(1, n=None, title=None, precision="day")])
    assert add(store, [ep(1)], "y") == (0, 1)
    (event,) = list(store.iter_events())
    assert (event.episode, event.episode_title, event.precision) == (3, "JENNY", "exact")


def test_works_are_keyed_by_normalised_title_and_kind(store: Store) -> None:
    add(store, [movie(1, "Der Pate"), movie(2, "DER PATE"), ep(1, show="Der Pate")])
    assert store.counts()["works"] == 2


def test_failed_import_stores_nothing(store: Store) -> None:
    def boom():
        yield movie(1)
        yield movie(2, "Other")
        raise RuntimeError("parser died half-way")

    with pytest.raises(RuntimeError):
        store.add_import(boom(), path="f", sha256="x", source="t")
    assert store.counts() == {"events": 0, "works": 0, "unexported": 0}
    assert store.already_imported("x") is None
    assert add(store, [movie(1)]) == (1, 0)


def test_migrations_are_named_and_recorded(tmp_path: Path) -> None:
    s = Store(tmp_path / "m.sqlite3")
    names = [m.name for m in migrations.applied(s.db)]
    assert names[0] == "m001_initial"
    assert migrations.pending(s.db) == []
    assert s.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    s.close()
    assert integrity_ok(tmp_path / "m.sqlite3")


def test_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    from pv2simkl.errors import StoreError

    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(
        StoreError, match="cannot be opened: it is damaged.*store check.*store restore"
    ):
        Store(bad)


def test_store_is_real_sqlite(store: Store, tmp_path: Path) -> None:
    add(store, [movie(1)])
    conn = sqlite3.connect(tmp_path / "s.sqlite3")
    assert conn.execute("SELECT title FROM works").fetchall() == [("Hitch",)]
