"""`store check`, `store backup` and `store restore` on real stores, one of them being written
by another process meanwhile."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils

from pv2simkl.errors import StoreError
from pv2simkl.models import WatchEvent
from pv2simkl.store import Store, maintenance, migrations

ROOT = Path(__file__).resolve().parents[2]


def movies(n: int, start: int = 0) -> list[WatchEvent]:
    base = datetime(2021, 3, 1, 20, tzinfo=UTC)
    return [
        WatchEvent(kind="movie", title=f"Film {i}", season=None, episode=None,
                   episode_title=None, watched_at=base + timedelta(days=i), source="page",
                   precision="exact")
        for i in range(start, start + n)
    ]  # fmt: skip


def make_store(path: Path, n: int = 5) -> Path:
    store = Store(path)
    store.add_import(movies(n), path="f", sha256="a", source="page")
    store.close()
    return path


def events(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT count(*) FROM events").fetchone()[0]


def damage(path: Path) -> None:
    """Garbage over every page after the first: the file still opens, its tables do not."""
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with open(path, "r+b") as fh:
        fh.seek(4096)
        fh.write(b"\xa5" * (path.stat().st_size - 4096))


def test_check_counts_what_a_sound_store_holds(tmp_path: Path) -> None:
    report = maintenance.check(make_store(tmp_path / "s.sqlite3"))
    assert report.ok and report.problems == []
    assert report.counts == {"events": 5, "works": 5, "imports": 1, "export_batches": 0}


def test_check_of_a_damaged_store_names_the_newest_sound_copy(tmp_path: Path) -> None:
    db = make_store(tmp_path / "s.sqlite3")
    copy = db.with_name(f"{db.name}.before-m009_test.bak")
    maintenance.backup(db, copy)
    damage(db)
    report = maintenance.check(db)
    assert not report.ok
    assert f"pv2simkl store restore {copy}" in report.sentence()
    assert report.sentence().startswith(f"The store {db} is damaged (")


def test_check_of_a_file_that_is_not_a_store(tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite3"
    sqlite_utils.Database(other)["notes"].insert({"text": "hello"})
    assert maintenance.check(other).problems == [
        "it is not a pv2simkl store: no events, works table"
    ]
    text = tmp_path / "notes.txt"
    text.write_text("not a database at all " * 300)
    assert maintenance.check(text).problems == ["file is not a database"]
    with pytest.raises(StoreError, match="There is no store at"):
        maintenance.check(tmp_path / "missing.sqlite3")


def test_backup_is_private_never_replaces_a_file_and_names_itself_in_a_folder(
    tmp_path: Path,
) -> None:
    db = make_store(tmp_path / "s.sqlite3")
    folder = tmp_path / "backups"
    folder.mkdir()
    report = maintenance.backup(db, folder, now=datetime(2026, 4, 12, 9, 30, 11, tzinfo=UTC))
    assert report.path == folder / "s-20260412-093011.sqlite3"
    assert stat.S_IMODE(report.path.stat().st_mode) == 0o600
    assert report.counts["events"] == 5 and events(report.path) == 5
    assert sorted(p.name for p in folder.iterdir()) == [report.path.name]  # one file, no WAL
    with pytest.raises(StoreError, match="already exists"):
        maintenance.backup(db, report.path)
    with pytest.raises(StoreError, match="does not exist; create it first"):
        maintenance.backup(db, tmp_path / "nowhere" / "b.sqlite3")


WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[3])
    from tests.store.test_maintenance import movies
    from pv2simkl.store import Store

    store, stop = Store(Path(sys.argv[1])), Path(sys.argv[2])
    i = 0
    while not stop.exists() and i < 20000:
        store.add_import(movies(7, start=7 * i), path=f"f{i}", sha256=f"h{i}", source="page")
        i += 1
    store.close()
    print(i)
    """
)


def test_backup_while_another_process_writes_is_one_consistent_snapshot(tmp_path: Path) -> None:
    db = make_store(tmp_path / "s.sqlite3", n=0)
    stop = tmp_path / "stop"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db), str(stop), str(ROOT)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        for _ in range(600):  # until the writer has committed something (bounded)
            if events(db) > 0 or writer.poll() is not None:
                break
            time.sleep(0.05)
        seen = []
        for n in range(6):
            copy = maintenance.backup(db, tmp_path / f"b{n}.sqlite3").path
            with sqlite3.connect(copy) as snap:
                added = snap.execute("SELECT sum(events_added) FROM imports").fetchone()[0]
                stored = snap.execute("SELECT count(*) FROM events").fetchone()[0]
            assert maintenance.check(copy).ok
            assert stored == (added or 0)  # every import whole, none half-copied
            assert stored % 7 == 0
            seen.append(stored)
        assert writer.poll() is None, "the writer must still be writing during every backup"
    finally:
        stop.touch()
        out, err = writer.communicate(timeout=120)
    assert writer.returncode == 0, err
    assert seen == sorted(seen) and seen[-1] > seen[0] > 0
    assert events(db) == 7 * int(out)


def test_restore_brings_back_the_backup_and_keeps_the_store_aside(tmp_path: Path) -> None:
    db = make_store(tmp_path / "s.sqlite3")
    backup = maintenance.backup(db, tmp_path / "b.sqlite3").path
    store = Store(db)
    store.add_import(movies(3, start=50), path="g", sha256="b", source="page")
    store.close()
    now = datetime(2026, 5, 1, 8, 0, 0, tzinfo=UTC)
    report = maintenance.restore(db, backup, daemon_lock=tmp_path / "state" / "daemon.lock",
                                 now=now)  # fmt: skip
    assert report.aside == db.with_name(f"{db.name}.before-restore-20260501-080000.bak")
    assert events(db) == 5 and report.counts["events"] == 5
    assert events(report.aside) == 8
    assert stat.S_IMODE(report.aside.stat().st_mode) == 0o600
    assert maintenance.restorable_copies(db) == [report.aside]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("b.")) == [
        "b.sqlite3"
    ]  # the backup itself is left as it was, with no -wal or -shm beside it
    reopened = Store(db)  # the restored store is the store in use
    assert reopened.counts()["events"] == 5
    reopened.close()


def test_restore_over_a_damaged_store_keeps_its_bytes_aside(tmp_path: Path) -> None:
    db = make_store(tmp_path / "s.sqlite3")
    backup = maintenance.backup(db, tmp_path / "b.sqlite3").path
    db.write_bytes(b"\x00garbage" * 4000)
    report = maintenance.restore(db, backup, daemon_lock=tmp_path / "daemon.lock")
    assert report.aside.read_bytes() == b"\x00garbage" * 4000
    assert maintenance.check(db).ok and events(db) == 5


def test_restore_refuses_a_damaged_or_foreign_source_and_leaves_the_store(
    tmp_path: Path,
) -> None:
    db = make_store(tmp_path / "s.sqlite3")
    bad = make_store(tmp_path / "bad.sqlite3")
    damage(bad)
    foreign = tmp_path / "foreign.sqlite3"
    sqlite_utils.Database(foreign)["notes"].insert({"text": "hello"})
    before = db.read_bytes()
    for source in (bad, foreign, tmp_path / "missing.sqlite3", db):
        with pytest.raises(StoreError):
            maintenance.restore(db, source, daemon_lock=tmp_path / "daemon.lock")
    assert db.read_bytes() == before
    assert maintenance.restorable_copies(db) == []
    assert not [p for p in tmp_path.iterdir() if ".restoring" in p.name]


def test_restore_is_refused_while_a_daemon_holds_its_lock(tmp_path: Path) -> None:
    from pv2simkl.daemon.runner import Lock

    db = make_store(tmp_path / "s.sqlite3")
    backup = maintenance.backup(db, tmp_path / "b.sqlite3").path
    lock_path = tmp_path / "state" / "daemon.lock"
    lock = Lock(lock_path)
    try:
        with pytest.raises(StoreError, match=f"daemon is running \\(pid {os.getpid()}\\)"):
            maintenance.restore(db, backup, daemon_lock=lock_path)
    finally:
        lock.release()
    assert maintenance.restorable_copies(db) == []
    assert maintenance.restore(db, backup, daemon_lock=lock_path).aside is not None


def test_the_copy_made_before_a_migration_is_restorable(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite3"
    old = sqlite_utils.Database(db)
    last = migrations.pending(old)[-1].name
    migrations.apply(old, stop_before=last)  # a store as the version before wrote it
    old["works"].insert({"key": "movie|film", "kind": "movie", "title": "Film"})
    old.close()
    Store(db).close()  # the newer version migrates it, keeping a copy first
    (copy,) = maintenance.restorable_copies(db)
    assert copy.name == f"{db.name}.before-{last}.bak"
    report = maintenance.restore(db, copy, daemon_lock=tmp_path / "daemon.lock")
    assert report.counts["works"] == 1
    with sqlite3.connect(db) as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations")}
    assert last not in names  # the old schema is back…
    Store(db).close()  # …and is migrated again by the next run
    with sqlite3.connect(db) as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations")}
    assert last in names
