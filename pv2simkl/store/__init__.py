"""The SQLite store: every watch event, the works they belong to, imports and export batches.

One file (WAL mode) that any number of processes (the daemon, the CLI, a second CLI) may
write at once: each step is one ``BEGIN IMMEDIATE`` transaction, so a crash leaves either
the old state or the new, and two writers end with exactly what one after the other would
give. Which observations are one watch is :mod:`pv2simkl.identity`'s rule, asked inside
that transaction; the schema's watch key refuses a second copy of one observation.

The parts, by concern: :mod:`.connection` (opening, modes, transactions and their retry),
:mod:`.faults` (a full disk, a read-only or damaged file, told plainly), :mod:`.schema`
(named migrations), :mod:`.events` (events and works), :mod:`.batches` (runs and export
batches), :mod:`.metadata` (provider results, pins, the unmatched), :mod:`.pushes` (what
reached Simkl through its API).
"""

from __future__ import annotations

import sqlite3
from contextlib import suppress
from pathlib import Path

from pv2simkl.identity import work_key
from pv2simkl.store import connection
from pv2simkl.store.batches import Batches
from pv2simkl.store.events import AddResult, Events, day_of
from pv2simkl.store.faults import describe
from pv2simkl.store.metadata import Metadata
from pv2simkl.store.pushes import Pushes
from pv2simkl.store.schema import migrate, migrations

__all__ = ["AddResult", "Store", "day_of", "integrity_ok", "migrations", "open_store", "work_key"]


class Store(Events, Batches, Metadata, Pushes):
    """The one SQLite store of a user. One instance is used by one thread; any number of
    instances and processes may use the same file at once."""

    def __init__(self, path: Path, *, busy_timeout: float = connection.BUSY_TIMEOUT):
        self.path = path
        try:
            connection.prepare_files(path)
            self.db = connection.connect(path, busy_timeout)
        except (sqlite3.Error, OSError) as exc:
            raise describe(exc, path, opening=True) from exc
        try:
            migrate(self.db, path)
        except (sqlite3.Error, OSError) as exc:
            self.db.close()
            raise describe(exc, path, opening=True) from exc

    def close(self) -> None:
        self.db.close()


def open_store(path: Path) -> Store:
    """Open (and create or migrate) the store at ``path``."""
    return Store(path)


def integrity_ok(path: Path) -> bool:
    """Whether SQLite's ``PRAGMA integrity_check`` finds the file sound."""
    with suppress(sqlite3.DatabaseError):
        conn = sqlite3.connect(path)
        try:
            return conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        finally:
            conn.close()
    return False
