"""Simkl CSV: header byte for byte, one row per work, deltas, rotation, crash recovery."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pv2simkl.config import ExportSettings
from pv2simkl.errors import ExportError
from pv2simkl.models import WatchEvent
from pv2simkl.sinks import simkl_csv as export
from pv2simkl.store import Store

HEADER = (
    b"simkl_id,TVDB_ID,TMDB,IMDB_ID,MAL_ID,Type,Title,Year,"
    b"LastEpWatched,Watchlist,WatchedDate,Rating,Memo\r\n"
)


def ev(
    title: str,
    day: int,
    season: int | None = None,
    episode: int | None = None,
    month: int = 4,
    precision: str = "exact",
    year: int | None = None,
) -> WatchEvent:
    return WatchEvent(
        kind="movie" if season is None and episode is None else "episode",
        title=title,
        season=season,
        episode=episode,
        episode_title=None if episode is None else f"E{episode}",
        watched_at=datetime(2024, month, day, 21, tzinfo=UTC),
        source="page",
        precision=precision,
        year=year,
    )


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "s.sqlite3")
    yield s
    s.close()


def settings(**kw) -> ExportSettings:
    base = {"timezone": "UTC"}
    base.update(kw)
    return ExportSettings(**base)


def read(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_header_bytes_and_rows_column_by_column(store: Store, tmp_path: Path) -> None:
    store.add_import(
        [
            ev("Crouching Tiger, Hidden Dragon", 3, year=2000),
            ev("Show", 1, 1, 2),
            ev("Show", 5, 2, 1),
            ev("Show", 9, 1, 9),
            ev('Say "Hi"', 2),
        ],
        path="f",
        sha256="a",
        source="t",
    )
    result = export.export(store, tmp_path / "out", settings())
    (path,) = result.files
    data = path.read_bytes()
    assert data.startswith(HEADER)
    assert b'"Crouching Tiger, Hidden Dragon"' in data
    assert b'"Say ""Hi"""' in data
    rows = {r["Title"]: r for r in read(path)}
    assert len(rows) == 3
    tiger = rows["Crouching Tiger, Hidden Dragon"]
    assert list(tiger.values()) == [
        "",
        "",
        "",
        "",
        "",
        "movie",
        "Crouching Tiger, Hidden Dragon",
        "2000",
        "",
        "completed",
        "4/3/2024",
        "",
        "",
    ]
    show = rows["Show"]
    assert (show["Type"], show["LastEpWatched"], show["Watchlist"], show["WatchedDate"]) == (
        "tv",
        "s2e1",
        "watching",
        "4/5/2024",
    )
    assert all(len(r) == 13 for r in csv.reader(path.open(encoding="utf-8")))


def test_delta_holds_only_new_works_then_nothing(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "out"
    store.add_import([ev("A", 1), ev("S", 1, 1, 1)], path="f", sha256="a", source="t")
    assert export.export(store, out, settings()).rows == 2
    assert export.export(store, out, settings()).files == []
    store.add_import([ev("S", 2, 1, 2), ev("B", 2)], path="g", sha256="b", source="t")
    second = export.export(store, out, settings(), now=datetime(2030, 1, 1))
    rows = read(second.files[0])
    assert sorted(r["Title"] for r in rows) == ["B", "S"]
    assert next(r for r in rows if r["Title"] == "S")["LastEpWatched"] == "s1e2"
    everything = export.export(store, out, settings(), all_history=True, now=datetime(2031, 1, 1))
    assert everything.rows == 3


def test_iso_date_format_and_zone(store: Store, tmp_path: Path) -> None:
    store.add_import([ev("A", 1)], path="f", sha256="a", source="t")  # 21:00 UTC
    result = export.export(
        store, tmp_path / "o", settings(date_format="iso", timezone="Asia/Tokyo")
    )
    assert read(result.files[0])[0]["WatchedDate"] == "2024-04-02"


def test_day_precision_date_is_never_shifted(store: Store, tmp_path: Path) -> None:
    e = ev("A", 1, precision="day")
    e.watched_at = datetime(2024, 4, 1, 12, tzinfo=UTC)
    store.add_import([e], path="f", sha256="a", source="t")
    result = export.export(store, tmp_path / "o", settings(timezone="Pacific/Kiritimati"))
    assert read(result.files[0])[0]["WatchedDate"] == "4/1/2024"


def test_rotation_splits_and_prunes(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "out"
    store.add_import([ev(f"M{i}", 1 + i % 28) for i in range(25)], path="f", sha256="a", source="t")
    result = export.export(store, out, settings(max_rows=10, keep_files=100))
    assert [len(read(p)) for p in result.files] == [10, 10, 5]
    titles = [r["Title"] for p in result.files for r in read(p)]
    assert len(titles) == len(set(titles)) == 25
    for i in range(3):
        store.add_import([ev(f"N{i}", 1)], path="f", sha256=f"b{i}", source="t")
        export.export(store, out, settings(keep_files=2), now=datetime(2030, 1, 1 + i))
    assert len(list(out.glob("simkl-*.csv"))) == 2


def test_crash_after_rename_is_finished_and_before_rename_rolled_back(
    store: Store, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    store.add_import([ev("A", 1)], path="f", sha256="a", source="t")
    # A crash after claiming and writing the temp file, before the rename:
    batch = store.begin_batch(export_dir=str(out), files=["simkl-x.csv"], all_history=False)
    (out / ".simkl-x.csv.tmp").write_text("partial")
    export.recover(store)
    assert not list(out.iterdir())
    assert store.counts()["unexported"] == 1
    # A crash after the rename, before marking done:
    batch = store.begin_batch(export_dir=str(out), files=["simkl-y.csv"], all_history=False)
    (out / "simkl-y.csv").write_bytes(HEADER)
    export.recover(store)
    assert store.counts()["unexported"] == 0
    assert store.unfinished_batches() == []
    assert batch


def test_read_only_folder_is_an_export_error_and_nothing_is_marked(
    store: Store, tmp_path: Path
) -> None:
    import os

    if os.geteuid() == 0:
        target = tmp_path / "file-not-dir"
        target.write_text("x")
        out = target / "sub"
    else:
        out = tmp_path / "ro"
        out.mkdir()
        out.chmod(0o500)
    store.add_import([ev("A", 1)], path="f", sha256="a", source="t")
    with pytest.raises(ExportError):
        export.export(store, out, settings())
    assert store.counts()["unexported"] == 1


def _watchlist(*items: tuple[str, str]) -> list:
    from pv2simkl.models import WatchlistItem

    when = datetime(2021, 1, 23, 22, 8, tzinfo=UTC)
    return [WatchlistItem(title, kind, when, listed=True) for title, kind in items]


def test_watchlist_titles_never_watched_are_plan_to_watch_rows(
    store: Store, tmp_path: Path
) -> None:
    store.add_import(
        [ev("Hitch", 3), ev("Fallout", 4, 1, 2)], path="x", sha256="1", source="export-a",
        watchlist=_watchlist(("Interstellar", "movie"), ("Reacher", "show"),
                             ("Hitch", "movie"), ("Fallout", "show")),
    )  # fmt: skip
    result = export.export(store, tmp_path / "out", settings())
    rows = {r["Title"]: r for r in read(result.files[0])}
    assert set(rows) == {"Hitch", "Fallout", "Interstellar", "Reacher"}
    assert (rows["Interstellar"]["Type"], rows["Interstellar"]["Watchlist"]) == (
        "movie", "plan to watch"
    )  # fmt: skip
    assert rows["Reacher"]["Type"] == "tv" and rows["Reacher"]["Watchlist"] == "plan to watch"
    assert rows["Reacher"]["WatchedDate"] == rows["Reacher"]["LastEpWatched"] == ""
    assert rows["Hitch"]["Watchlist"] == "completed"  # watched: never "plan to watch"
    assert rows["Fallout"]["Watchlist"] == "watching"
    # A delta holds them once; a watch of a watchlisted title later exports as watched.
    assert not export.export(store, tmp_path / "out", settings()).files
    store.add_import([ev("Interstellar", 9)], path="y", sha256="2", source="page")
    again = read(export.export(store, tmp_path / "out", settings()).files[0])
    assert [(r["Title"], r["Watchlist"]) for r in again] == [("Interstellar", "completed")]


def test_watchlist_rows_come_back_with_export_all(store: Store, tmp_path: Path) -> None:
    store.add_import([], path="x", sha256="1", source="export-a",
                     watchlist=_watchlist(("Interstellar", "movie")))  # fmt: skip
    export.export(store, tmp_path / "out", settings())
    result = export.export(store, tmp_path / "all", settings(), all_history=True)
    assert [r["Watchlist"] for r in read(result.files[0])] == ["plan to watch"]


def test_a_rolled_back_batch_releases_watchlist_rows(store: Store, tmp_path: Path) -> None:
    store.add_import([], path="x", sha256="1", source="export-a",
                     watchlist=_watchlist(("Interstellar", "movie")))  # fmt: skip
    batch = store.begin_batch(export_dir=str(tmp_path), files=[], all_history=False)
    assert store.work_ids_in_batch(batch)
    store.rollback_batch(batch)
    result = export.export(store, tmp_path / "out", settings())
    assert [r["Title"] for r in read(result.files[0])] == ["Interstellar"]


def _titles(folder: Path) -> list[str]:
    return [r["Title"] for p in sorted(folder.glob("simkl-*.csv")) for r in read(p)]


def test_parts_are_renamed_only_when_every_part_is_written(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    store.add_import([ev(f"M{i}", 1 + i % 28) for i in range(25)], path="f", sha256="a", source="t")
    finals_seen = []
    write = export._write

    def watched(tmp: Path, rows, mode: int) -> int:
        finals_seen.append(sorted(p.name for p in out.glob("simkl-*.csv")))
        assert tmp.name.startswith(".") and tmp.name.endswith(".tmp")
        return write(tmp, rows, mode)

    monkeypatch.setattr(export, "_write", watched)
    result = export.export(store, out, settings(max_rows=10))
    assert finals_seen == [[], [], []]  # no part had its final name while another was written
    assert sorted(p.name for p in result.files) == sorted(p.name for p in out.iterdir())


def test_disk_full_in_the_middle_removes_only_temporary_files(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    out = tmp_path / "out"
    store.add_import([ev(f"M{i}", 1 + i % 28) for i in range(25)], path="f", sha256="a", source="t")
    write, calls = export._write, []

    def full_disk(tmp: Path, rows, mode: int) -> int:
        calls.append(tmp)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return write(tmp, rows, mode)

    monkeypatch.setattr(export, "_write", full_disk)
    with pytest.raises(ExportError, match="No space left"):
        export.export(store, out, settings(max_rows=10))
    assert list(out.iterdir()) == []
    assert store.counts()["unexported"] == 25
    monkeypatch.undo()
    assert sorted(_titles(out)) == [] and export.export(store, out, settings()).rows == 25


def test_crash_in_the_middle_of_the_renames_is_finished_and_keeps_the_renamed_part(
    store: Store, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    store.add_import([ev("A", 1), ev("B", 2), ev("C", 3)], path="f", sha256="a", source="t")
    names = ["simkl-z.csv", "simkl-z-part2.csv", "simkl-z-part3.csv"]
    batch = store.begin_batch(export_dir=str(out), files=[], all_history=False)
    store.set_batch_files(batch, names, 3)
    (out / names[0]).write_bytes(HEADER + b",,,,,movie,A,,,completed,4/1/2024,,\r\n")
    for name in names[1:]:
        (out / f".{name}.tmp").write_bytes(HEADER)
    first = (out / names[0]).stat()
    lines = export.recover(store)
    assert sorted(p.name for p in out.iterdir()) == sorted(names)
    again = (out / names[0]).stat()
    assert (again.st_ino, again.st_mtime_ns) == (first.st_ino, first.st_mtime_ns)
    assert store.unfinished_batches() == [] and store.counts()["unexported"] == 0
    assert "finished" in lines[0]


def test_recover_never_deletes_a_final_part_even_when_another_part_is_gone(
    store: Store, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    store.add_import([ev("A", 1), ev("B", 2)], path="f", sha256="a", source="t")
    batch = store.begin_batch(export_dir=str(out), files=[], all_history=False)
    store.set_batch_files(batch, ["simkl-z.csv", "simkl-z-part2.csv"], 2)
    (out / "simkl-z.csv").write_bytes(HEADER)  # part 2 was deleted by hand
    (line,) = export.recover(store)
    assert "simkl-z-part2.csv disappeared" in line
    assert [p.name for p in out.iterdir()] == ["simkl-z.csv"]
    assert store.counts()["unexported"] == 2  # released: nothing is lost


def test_csv_files_get_the_configured_mode_whatever_the_umask(store: Store, tmp_path: Path) -> None:
    import os
    import stat

    store.add_import([ev("A", 1)], path="f", sha256="a", source="t")
    old = os.umask(0)
    try:
        (default,) = export.export(store, tmp_path / "a", settings()).files
        store.add_import([ev("B", 1)], path="g", sha256="b", source="t")
        (shared,) = export.export(store, tmp_path / "b", settings(file_mode="640")).files
    finally:
        os.umask(old)
    assert stat.S_IMODE(default.stat().st_mode) == 0o600
    assert stat.S_IMODE(shared.stat().st_mode) == 0o640


@pytest.mark.parametrize("mode", ["0400", "rw-------", "1777", "0o1600", "", "8"])
def test_a_bad_file_mode_is_refused_before_anything_is_claimed(
    store: Store, tmp_path: Path, mode: str
) -> None:
    from pv2simkl.errors import ConfigError

    store.add_import([ev("A", 1)], path="f", sha256="a", source="t")
    with pytest.raises(ConfigError, match="file_mode"):
        export.export(store, tmp_path / "out", settings(file_mode=mode))
    assert store.counts()["unexported"] == 1


def test_file_mode_from_config_and_environment(tmp_path: Path) -> None:
    from pv2simkl.config import load_settings

    config = tmp_path / "config.toml"
    config.write_text('[export]\nfile_mode = "0640"\n')
    assert load_settings(config_file=config, env={}).export.mode_bits() == 0o640
    env = {"PV2SIMKL_EXPORT_FILE_MODE": "0600"}
    assert load_settings(config_file=config, env=env).export.mode_bits() == 0o600


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Tokyo", "UTC", "local"])
def test_watches_dated_0001_or_9999_never_stop_an_export(
    store: Store, tmp_path: Path, zone: str
) -> None:
    import sqlite3

    store.add_import(
        [ev("Old", 1), ev("Far", 2), ev("Both", 3), ev("Both", 4, month=5), ev("Show", 5, 1, 1),
         ev("Show", 6, 1, 2)],
        path="f", sha256="a", source="t",
    )  # fmt: skip
    db = sqlite3.connect(store.path)
    with db:  # dates no importer accepts any more, stored by an earlier version
        for title, at in [("Old", "0001-01-01T00:00:00.000Z"), ("Far", "9999-12-31T23:59:59.000Z")]:
            db.execute("UPDATE events SET watched_at = ? WHERE work_id ="
                       " (SELECT id FROM works WHERE title = ?)", [at, title])  # fmt: skip
        for title in ("Both", "Show"):  # the latest watch of each
            db.execute("UPDATE events SET watched_at = '9999-12-31T12:00:00.000Z' WHERE id ="
                       " (SELECT max(e.id) FROM events e JOIN works w ON w.id = e.work_id"
                       "  WHERE w.title = ?)", [title])  # fmt: skip
    db.close()
    result = export.export(store, tmp_path / "out", settings(timezone=zone))
    rows = {r["Title"]: r for r in read(result.files[0])}
    assert rows["Old"]["WatchedDate"] == rows["Far"]["WatchedDate"] == ""
    assert rows["Old"]["Watchlist"] == "completed"  # the watch is exported, without its date
    assert rows["Both"]["WatchedDate"] in {"4/3/2024", "4/4/2024"}  # the other watch's date
    assert rows["Show"]["LastEpWatched"] == "s1e2"
    assert rows["Show"]["WatchedDate"] in {"4/5/2024", "4/6/2024"}
    (warning,) = result.warnings
    assert warning.startswith("4 watches are dated outside 1990–2100")


def test_exports_and_recoveries_at_once_write_each_work_once(tmp_path: Path) -> None:
    """The daemon's export, a CLI export and a sync's recovery on one store at one time,
    while imports go on: every work in exactly one CSV row, no temporary file left."""
    import threading

    path, out = tmp_path / "s.sqlite3", tmp_path / "out"
    feeder = Store(path)
    errors: list[BaseException] = []
    fed = threading.Event()
    same_second = datetime(2030, 1, 1)  # every export of the run takes the same names first

    def repeat(action) -> None:
        own = Store(path)
        try:
            while not fed.is_set():
                action(own)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            own.close()

    def exporter(own: Store) -> None:
        export.export(own, out, settings(max_rows=2, keep_files=0), now=same_second)

    threads = [threading.Thread(target=repeat, args=(a,)) for a in (exporter, exporter,
                                                                    export.recover)]  # fmt: skip
    for t in threads:
        t.start()
    for i in range(30):
        batch = [ev(f"T{i}-{j}", 1 + j) for j in range(12)]
        feeder.add_import(batch, path=f"f{i}", sha256=f"h{i}", source="t")
    fed.set()
    for t in threads:
        t.join()
    export.export(feeder, out, settings(max_rows=2, keep_files=0), now=same_second)
    feeder.close()
    assert errors == []
    titles = _titles(out)
    assert len(titles) == len(set(titles)) == 360
    assert not list(out.glob(".*"))


def _as_anime(store: Store, title: str, entries: list[tuple]) -> None:
    """(season, mal, simkl, title, episodes, offset) rows, as store/metadata.py writes them."""
    import sqlite3

    db = sqlite3.connect(store.path)
    with db:
        db.execute("UPDATE works SET media_type = 'anime' WHERE title = ?", [title])
        for row in entries:
            db.execute(
                "INSERT INTO anime_entries (work_id, season, mal_id, simkl_id, title, episodes,"
                ' "offset") SELECT id, ?, ?, ?, ?, ?, ? FROM works WHERE title = ?',
                [*row, title],
            )
    db.close()


def test_parts_split_at_rows_not_works_when_an_anime_gives_several(
    store: Store, tmp_path: Path
) -> None:
    store.add_import(
        [ev("A", 1, 1, 3), ev("A", 2, 2, 2), ev("A", 3, 3, 1), ev("M", 4), ev("N", 5)],
        path="f", sha256="a", source="t",
    )  # fmt: skip
    _as_anime(store, "A", [(1, 1, None, "A", 12, 0), (2, 2, None, "A 2", 12, 0),
                           (3, 3, None, "A 3", None, 0)])  # fmt: skip
    result = export.export(store, tmp_path / "out", settings(max_rows=2))
    assert [len(read(p)) for p in result.files] == [2, 2, 1] and result.rows == 5
    rows = [r for p in result.files for r in read(p)]
    assert [(r["MAL_ID"], r["LastEpWatched"]) for r in rows[:3]] == [
        ("1", "s1e3"), ("2", "s1e2"), ("3", "s1e1"),
    ]  # fmt: skip
    assert store.unfinished_batches() == [] and store.counts()["unexported"] == 0


def test_an_entry_without_ids_is_no_entry(store: Store, tmp_path: Path) -> None:
    store.add_import([ev("A", 1, 1, 3), ev("A", 2, 2, 4)], path="f", sha256="a", source="t")
    _as_anime(store, "A", [(1, None, None, "A", 12, 0), (2, 7, None, None, None, 0)])
    rows = read(export.export(store, tmp_path / "out", settings()).files[0])
    assert [(r["Title"], r["MAL_ID"], r["LastEpWatched"]) for r in rows] == [
        ("A", "7", "s1e4"), ("A", "", "s1e3"),
    ]  # fmt: skip


def test_show_status_needs_an_ended_show_and_its_last_aired_episode() -> None:
    ended = {"show_status": "ended", "last_aired_season": 2, "last_aired_episode": 10}
    assert export.show_status(ended, (2, 10)) == "completed"
    assert export.show_status(ended, (3, 1)) == "completed"
    assert export.show_status(ended, (2, 9)) == "watching"
    assert export.show_status(ended, None) == "watching"
    assert export.show_status({**ended, "show_status": "airing"}, (2, 10)) == "watching"
    assert export.show_status({**ended, "last_aired_episode": None}, (9, 9)) == "watching"
    assert export.show_status({"show_status": "completed"}, (1, 1)) == "watching"
