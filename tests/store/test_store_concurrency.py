"""Many writers, one store: real processes at once end as one sequential import would.

Each test starts real ``python -m pv2simkl`` processes on one data folder at the same time,
with files of ``fixtures/samples`` that overlap (the same watches seen by the data export,
the saved page and the API), and compares the store with one sequential import of the
same files: the same multiset of events (bench/concurrency.py's signature), every exit
code 0, no IntegrityError and no lock error on the way. ``bench/concurrency.py`` runs the
daemon round below fifty times.
"""

from __future__ import annotations

import random
import sqlite3
from collections import Counter
from pathlib import Path

import pytest
import sqlite_utils

from bench import concurrency
from pv2simkl import pipeline
from pv2simkl.config import load_settings
from pv2simkl.store import migrations

SAMPLES = concurrency.SAMPLES


def _at_once(folder: Path, lists: list[list[Path]]) -> list[tuple[int, str]]:
    """Start one ``import`` per list, all before any ends; (exit code, stderr) of each."""
    procs = [concurrency.cli(folder, *paths) for paths in lists]
    done = [(p, p.communicate(timeout=300)) for p in procs]
    return [(p.returncode, err) for p, (_, err) in done]


def _sequential(folder: Path, paths: list[Path]) -> Counter[tuple]:
    """One import of every file, one after the other (in this process: the same code)."""
    ctx = pipeline.Context.create(load_settings(env=concurrency.environment(folder)))
    try:
        assert not pipeline.import_paths(ctx, paths).failures
    finally:
        ctx.close()
    return concurrency.signature(_store(folder))


def _store(folder: Path) -> Path:
    return folder / "data" / "pv2simkl.sqlite3"


def _assert_clean(results: list[tuple[int, str]]) -> None:
    for code, err in results:
        assert code == 0, err
        assert "IntegrityError" not in err and "locked" not in err and "unexpected" not in err


@pytest.mark.slow
def test_processes_at_once_end_as_one_sequential_import(tmp_path: Path) -> None:
    folder = SAMPLES / "pt-BR"
    files = [folder / name for name in concurrency.FILES]
    lists = [files[:2], files[1:3], [files[2], files[0], files[3]], files[::-1]]
    _assert_clean(_at_once(tmp_path / "together", lists))
    reference = _sequential(tmp_path / "sequential", files)
    assert concurrency.signature(_store(tmp_path / "together")) == reference
    assert sum(reference.values()) > 50


@pytest.mark.slow
def test_two_imports_at_once_no_integrity_error(tmp_path: Path) -> None:
    # Issue 9: two imports into a new store both created the same works: `IntegrityError:
    # UNIQUE constraint failed: works.key` (exit 1), or duplicate events.
    folder = SAMPLES / "en-US"
    files = [folder / "export-c.zip", folder / "saved-page-expanded.html"]
    reference = _sequential(tmp_path / "sequential", files)
    for attempt in range(2):
        together = tmp_path / f"together-{attempt}"
        _assert_clean(_at_once(together, [files, files[::-1]]))
        assert concurrency.signature(_store(together)) == reference


@pytest.mark.slow
def test_cli_import_while_daemon_index_is_stale(tmp_path: Path) -> None:
    # Issue 9: the daemon keeps its store open between inbox files; a CLI import in between
    # left its identity index stale, and the next inbox file stored watches twice.
    folder = SAMPLES / "en-US"
    first, cli_file, inbox_file = (SAMPLES / "locale-de.html", folder / "export-c.zip",
                                   folder / "api")  # fmt: skip
    env = concurrency.environment(tmp_path / "daemon")
    daemon = pipeline.Context.create(load_settings(env=env))
    try:
        pipeline.import_paths(daemon, [first])  # the daemon has read its store
        cli = concurrency.cli(tmp_path / "daemon", cli_file)
        _, err = cli.communicate(timeout=300)
        assert cli.returncode == 0, err
        later = pipeline.import_paths(daemon, [inbox_file])
        assert not later.failures
    finally:
        daemon.close()
    reference = _sequential(tmp_path / "sequential", [first, cli_file, inbox_file])
    assert concurrency.signature(_store(tmp_path / "daemon")) == reference
    assert later.added < len(list((folder / "api").glob("page-*.json"))) * 20


@pytest.mark.slow
def test_daemon_and_three_imports_at_once(tmp_path: Path) -> None:
    locale = "ja-JP"
    reference = _sequential(
        tmp_path / "sequential", [SAMPLES / locale / name for name in concurrency.FILES]
    )
    result = concurrency.one_round(tmp_path / "round", locale, random.Random(4))
    assert concurrency.judge(result, reference) == []
    assert result["inbox_files"] >= 2


def _old_store(path: Path) -> None:
    """A store of the code before issue 9 (four migrations) holding one watch twice."""
    path.parent.mkdir(parents=True)
    db = sqlite_utils.Database(path)
    migrations.apply(db, stop_before="m005_identity_by_instant")
    db.execute(
        "INSERT INTO works (id, key, kind, title) VALUES (1, 'movie:hitch', 'movie', 'Hitch')"
    )
    for _ in range(2):
        db.execute(
            "INSERT INTO events (work_id, kind, watched_at, day, precision, source)"
            " VALUES (1, 'movie', '2024-04-01T20:00:00.000Z', 19814, 'exact', 'page')"
        )
    db.close()


@pytest.mark.slow
def test_processes_opening_an_old_store_migrate_it_once(tmp_path: Path) -> None:
    _old_store(_store(tmp_path))
    procs = [concurrency.start(tmp_path, "history") for _ in range(3)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outputs
    assert all(out.count("Hitch") == 1 for out, _ in outputs)
    conn = sqlite3.connect(_store(tmp_path))
    applied = conn.execute(
        "SELECT count(*) FROM _sqlite_migrations WHERE name = 'm005_identity_by_instant'"
    ).fetchone()
    assert applied == (1,)
    assert conn.execute("SELECT count(*) FROM events").fetchone() == (1,)
    conn.close()


def test_readers_know_the_newest_migration() -> None:
    from pv2simkl.store import schema, views

    assert schema.migrations._migrations[-1].name == views.LATEST_MIGRATION
