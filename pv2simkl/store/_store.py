"""The :class:`Store` class and how a store is opened (see :mod:`pv2simkl.store`)."""

from __future__ import annotations

import sqlite3
from contextlib import suppress
from pathlib import Path

from pv2simkl.store import connection
from pv2simkl.store.batches import Batches
from pv2simkl.store.events import Events
from pv2simkl.store.faults import describe
from pv2simkl.store.metadata import Metadata
from pv2simkl.store.pushes import Pushes
from pv2simkl.store.schema import migrate


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
