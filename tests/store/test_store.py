"""The store: identity of events, one transaction per import, migrations, faults, modes."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlite_utils

from pv2simkl.errors import StoreError
from pv2simkl.models import WatchEvent
from pv2simkl.store import Store, connection, integrity_ok, migrations


def ep(
    day: int,
    hour: int = 20,
    minute: int = 0,
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
        watched_at=datetime(2024, 4, day, hour, minute, tzinfo=UTC),
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
    assert store.counts() == {"events": 0, "works": 0, "unexported": 0, "ids_pending": 0}
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


# ---- identity by instant ----------------------------------------------------------------


def test_watch_across_utc_midnight_is_one(store: Store) -> None:
    # Issue 9: the export saw the episode at 23:55 UTC, the page at 00:05 UTC the next day
    # (7:55 and 8:05 pm in New York); the UTC-day rule stored two watches.
    exported = ep(1, 23, 55, n=None, gti=None, source="export-c")
    assert add(store, [exported]) == (1, 0)
    assert add(store, [ep(2, 0, 5)], "y") == (0, 1)
    (event,) = list(store.iter_events())
    assert (event.episode, event.gti, event.source) == (3, "g-3", "export-c")
    assert store.is_known(ep(2, 0, 5)) and store.is_known(exported)


def test_morning_and_late_evening_are_two_watches(store: Store) -> None:
    # More than 12 hours apart: the later one is a second viewing, not the rest of the first.
    assert add(store, [ep(1, 8), ep(1, 21), movie(1), movie(2)]) == (4, 0)


def test_a_full_row_joins_a_title_only_and_a_gti_only_watch(store: Store) -> None:
    # An export row (title only) and a collapsed page row (gti only) share no key; the API
    # row names both, so the three are one watch whichever came first.
    export_row = ep(13, 3, n=None, title="The Detective", gti=None, source="export-c")
    collapsed = ep(12, 12, n=None, title=None, gti="g-7", precision="day")
    assert add(store, [export_row, collapsed]) == (2, 0)
    assert add(store, [ep(13, 3, n=7, title="The Detective", gti="g-7")], "y") == (0, 1)
    (event,) = list(store.iter_events())
    assert (event.episode, event.episode_title, event.gti) == (7, "The Detective", "g-7")


def test_the_database_refuses_a_second_copy_of_one_observation(store: Store) -> None:
    add(store, [movie(1)])
    with pytest.raises(sqlite3.IntegrityError):
        store.db.execute(
            "INSERT INTO events (work_id, kind, watched_at, day, precision, source)"
            " SELECT work_id, kind, watched_at, day, precision, 'other' FROM events"
        )


def test_a_second_connection_never_works_from_what_the_first_knew(tmp_path: Path) -> None:
    first, second = Store(tmp_path / "s.sqlite3"), Store(tmp_path / "s.sqlite3")
    assert add(first, [movie(1)]) == (1, 0)
    assert add(second, [ep(1), movie(1, "Other")], "y") == (2, 0)
    assert add(first, [ep(1), movie(1, "Other"), movie(1)], "z") == (0, 0)
    assert first.counts()["events"] == 3
    first.close()
    second.close()


def test_refiled_movie_joins_the_same_watch_of_the_show(store: Store) -> None:
    add(store, [movie(1, "Pilot-Show"), ep(1, 20, n=1, title="Pilot")])
    (work,) = [w for w in store.find_works("Pilot-Show") if w["kind"] == "movie"]
    show_id = store.refile_as_episodes(work["id"], "Show", 1, "Pilot")
    assert store.counts() == {"events": 1, "works": 1, "unexported": 1, "ids_pending": 0}
    assert store.find_works("Show") == [{"id": show_id, "kind": "show", "title": "Show"}]


# ---- migrations -------------------------------------------------------------------------


def _old_store(path: Path) -> None:
    """A store as the code before issue 9 left it: the first four migrations, a watch split
    across 00:00 UTC and one stored twice by two processes."""
    db = sqlite_utils.Database(path)
    migrations.apply(db, stop_before="m005_identity_by_instant")
    db.execute("INSERT INTO works (id, key, kind, title) VALUES (1, 'show:show', 'show', 'Show')")
    db.execute(
        "INSERT INTO works (id, key, kind, title) VALUES (2, 'movie:hitch', 'movie', 'Hitch')"
    )
    rows = [
        (1, "episode", 1, None, "JENNY", None, "2024-04-01T23:55:00.000Z", 19814, "export-c"),
        (1, "episode", 1, 3, "JENNY", "g-3", "2024-04-02T00:05:00.000Z", 19815, "page"),
        (2, "movie", None, None, None, None, "2024-04-01T20:00:00.000Z", 19814, "page"),
        (2, "movie", None, None, None, None, "2024-04-01T20:00:00.000Z", 19814, "page"),
    ]
    for row in rows:
        db.execute(
            "INSERT INTO events (work_id, kind, season, episode, episode_title, gti, watched_at,"
            " day, source, precision) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'exact')",
            row,
        )
    db.close()


def test_an_old_store_is_copied_then_migrated(tmp_path: Path, caplog) -> None:
    path = tmp_path / "s.sqlite3"
    _old_store(path)
    with caplog.at_level("INFO", logger="pv2simkl.store.schema"):
        store = Store(path)
    backup = tmp_path / "s.sqlite3.before-m005_identity_by_instant.bak"
    assert f"`pv2simkl store restore {backup}`" in caplog.text  # the copy is named
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert sqlite3.connect(backup).execute("SELECT count(*) FROM events").fetchone() == (4,)
    assert migrations.pending(store.db) == []
    events = sorted(store.iter_events(), key=lambda e: e.kind)
    assert [(e.kind, e.episode, e.gti, e.source) for e in events] == [
        ("episode", 3, "g-3", "export-c"),
        ("movie", None, None, "page"),
    ]
    indexes = {i.name: i.unique for i in store.db["events"].indexes}
    assert indexes["events_watch"] and "idx_events_work_id_day" not in indexes
    store.close()


# ---- faults of the store itself ---------------------------------------------------------


def test_full_disk_is_a_store_error_and_keeps_what_was_stored(store: Store) -> None:
    add(store, [movie(1)])
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    store.db.execute(f"PRAGMA max_page_count = {pages + 2}")  # SQLite's own SQLITE_FULL
    many = [movie(1, f"Movie {i}") for i in range(3000)]
    with pytest.raises(StoreError, match="is full, so nothing of this step was stored"):
        add(store, many, "y")
    assert store.counts()["events"] == 1 and store.already_imported("y") is None
    store.db.execute(f"PRAGMA max_page_count = {pages * 1000}")
    assert add(store, many[:5], "z") == (5, 0)  # space freed: the same store goes on


@pytest.fixture
def read_only() -> Iterator:
    """Make a path read-only even for root (``chattr +i``), or by its mode for a user."""
    made: list[Path] = []

    def freeze(path: Path) -> None:
        if os.geteuid() == 0:
            if (
                not shutil.which("chattr")
                or subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode
            ):
                pytest.skip("running as root on a file system without chattr +i")
        else:
            path.chmod(0o555 if path.is_dir() else 0o444)
        made.append(path)

    yield freeze
    for path in made:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        path.chmod(0o700 if path.is_dir() else 0o600)


def test_read_only_store_is_a_store_error(tmp_path: Path, read_only) -> None:
    path = tmp_path / "s.sqlite3"
    Store(path).close()
    read_only(path)
    store = Store(path)
    with pytest.raises(StoreError, match="cannot be written .* give your user write access"):
        add(store, [movie(1)])
    store.close()


def test_read_only_folder_is_a_store_error(tmp_path: Path, read_only) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    read_only(folder)
    with pytest.raises(StoreError, match="cannot be created or written"):
        Store(folder / "s.sqlite3")


def test_damaged_store_says_check_and_restore(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    store = Store(path)
    add(store, [movie(1, f"Movie {i}") for i in range(3000)])
    store.close()
    size = path.stat().st_size
    with open(path, "r+b") as fh:  # garbage over every third page after the schema
        for page in range(2, size // 4096, 3):
            fh.seek(page * 4096 + 100)
            fh.write(b"\xa5" * 2000)
    with pytest.raises(StoreError, match="is damaged .*store check.*store restore"):
        store = Store(path)
        add(store, [movie(1, "Other")], "y")


def test_lock_held_a_moment_is_waited_out(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "s.sqlite3"
    store = Store(path, busy_timeout=0.01)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process in the middle of its import
    pauses: list[int] = []

    def pause(attempt: int) -> None:
        pauses.append(attempt)
        other.execute("ROLLBACK")  # ... which then ends

    monkeypatch.setattr(connection, "pause", pause)
    assert add(store, [movie(1)]) == (1, 0)
    assert pauses == [0]
    store.close()
    other.close()


def test_lock_never_released_is_a_store_error_and_stores_nothing(
    tmp_path: Path, monkeypatch
) -> None:
    path = tmp_path / "s.sqlite3"
    store = Store(path, busy_timeout=0.01)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    pauses: list[int] = []
    monkeypatch.setattr(connection, "pause", pauses.append)
    with pytest.raises(StoreError, match="stayed locked by another pv2simkl process"):
        add(store, [movie(1)])
    assert pauses == list(range(connection.ATTEMPTS - 1))
    other.execute("ROLLBACK")
    assert store.counts()["events"] == 0
    store.close()
    other.close()


# ---- modes ------------------------------------------------------------------------------


def test_new_store_is_private(tmp_path: Path) -> None:
    path = tmp_path / "data" / "s.sqlite3"
    store = Store(path)
    add(store, [movie(1)])
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    for name in ("s.sqlite3", "s.sqlite3-wal", "s.sqlite3-shm"):
        assert stat.S_IMODE((path.parent / name).stat().st_mode) == 0o600, name
    store.close()


def test_existing_store_readable_by_others_is_narrowed(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    Store(path).close()
    path.chmod(0o644)
    Store(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_regression_three_files_give_the_same_events_in_any_order(tmp_path: Path) -> None:
    # One episode seen at 20:00, 03:00 and 10:00 by three files: one watch, whichever
    # file is imported first (it used to be one or two, by the order).
    seen = [ep(1, 20), ep(2, 3), ep(2, 10)]
    results = set()
    for i, order in enumerate(([0, 1, 2], [0, 2, 1], [1, 0, 2], [2, 1, 0])):
        s = Store(tmp_path / f"s{i}.sqlite3")
        for n in order:
            s.add_import([seen[n]], path=f"f{n}", sha256=f"sha{n}", source="test")
        rows = s.db.execute("SELECT watched_at, first_at, last_at FROM events").fetchall()
        s.close()
        results.add(tuple(map(tuple, rows)))
    first, last = "2024-04-01T20:00:00.000Z", "2024-04-02T10:00:00.000Z"
    assert results == {((first, first, last),)}
