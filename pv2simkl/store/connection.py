"""Opening the store file and writing to it, with any number of processes doing the same.

* The file holds the whole history and cached tokens: its folder is created 0700, the file
  (and so SQLite's ``-wal`` / ``-shm`` beside it, which take its mode) 0600; an existing
  store is narrowed to 0600 when opened.
* WAL mode: readers never wait for the writer. A busy timeout of at least 30 s makes a
  writer wait for another process's transaction instead of failing.
* Every write is one ``BEGIN IMMEDIATE`` transaction: the write lock is taken before the
  first read, so what a step reads (is this watch stored?) cannot change before it writes.
  A transaction that still finds the store locked is retried whole, a bounded number of
  times, before the fault reaches the user.
"""

from __future__ import annotations

import os
import random
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sqlite_utils.db import Database

from pv2simkl.store.faults import is_busy

T = TypeVar("T")

BUSY_TIMEOUT = 30.0  # seconds a statement waits for another process's lock
ATTEMPTS = 4  # a transaction that still met a lock is tried this many times in all
FILE_MODE = 0o600
FOLDER_MODE = 0o700
SIDE_FILES = ("-wal", "-shm", "-journal")


def prepare_files(path: Path) -> None:
    """Create the store's folder (0700) and file (0600) if missing; narrow an existing
    store and its side files to 0600."""
    if not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=FOLDER_MODE)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE) if not path.exists() else None
    if fd is not None:
        os.close(fd)
    for candidate in (path, *(path.with_name(path.name + s) for s in SIDE_FILES)):
        narrow(candidate)


def narrow(path: Path) -> None:
    """0600 for a file of the store that others could read (a no-op when it is not there)."""
    try:
        if path.stat().st_mode & 0o077:
            path.chmod(FILE_MODE)
    except FileNotFoundError:
        pass
    except PermissionError:
        pass  # not ours to change: opening it will say what is wrong


def connect(path: Path, busy_timeout: float = BUSY_TIMEOUT) -> Database:
    """A connection in WAL mode with foreign keys on; no implicit transactions (every write
    goes through :func:`write`)."""
    conn = sqlite3.connect(str(path), timeout=busy_timeout, isolation_level=None)
    try:
        db = Database(conn)
        db.execute("PRAGMA foreign_keys = ON")
        retrying(lambda: _wal(db))
    except BaseException:
        conn.close()
        raise
    return db


def _wal(db: Database) -> None:
    if db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        db.execute("PRAGMA journal_mode = wal")


def pause(attempt: int) -> None:
    """Wait before trying a transaction that met a lock again (grows, with jitter, so that
    several processes do not collide in step)."""
    time.sleep(0.05 * 2**attempt * (1 + random.random()))


def retrying(action: Callable[[], T], attempts: int = ATTEMPTS) -> T:
    """``action()``, tried again after a pause while it meets another process's lock."""
    for attempt in range(attempts):
        try:
            return action()
        except sqlite3.OperationalError as exc:
            if not is_busy(exc) or attempt == attempts - 1:
                raise
        pause(attempt)
    raise AssertionError("unreachable")


def write(db: Database, body: Callable[[], T], attempts: int = ATTEMPTS) -> T:
    """Run ``body`` in one ``BEGIN IMMEDIATE`` transaction and commit it; roll back on any
    error. A transaction that met a lock is tried again whole (``body`` must be
    repeatable: it may only write to the store)."""

    def once() -> T:
        conn = db.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = body()
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return result

    return retrying(once, attempts)


def backup(db: Database, target: Path) -> None:
    """A consistent copy of the store at ``target`` (0600), through SQLite's backup API, so
    it is right even while another process writes; written under a temporary name first."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    os.close(fd)
    try:
        dest = sqlite3.connect(str(tmp))
        try:
            db.conn.backup(dest)
        finally:
            dest.close()
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


class Connected:
    """What every part of the store shares: the file's path, its connection, and
    :meth:`_write` (one ``BEGIN IMMEDIATE`` transaction, retried while locked)."""

    path: Path
    db: Database

    def _forget_unit(self) -> None:
        """Drop what the last import learnt of the store (see ``events.Events``)."""

    def _write(self, body: Callable[[], T], *, keep_unit: bool = False) -> T:
        """``body`` in one write transaction; any write but an import's own makes the next
        import read the store afresh."""
        if not keep_unit:
            self._forget_unit()
        return write(self.db, body)
