"""Store maintenance: ``store check``, ``store backup`` and ``store restore``.

These work on the store *file* with plain :mod:`sqlite3`, never through
:class:`pv2simkl.store.Store`: a damaged store must still be checked and replaced, and
opening it through the store would migrate it first. Copies go through SQLite's online
backup API (``sqlite3.Connection.backup``), which reads one consistent snapshot while the
daemon goes on writing (the store is in WAL mode, so the reader blocks no writer).

Every file written here is created 0600: the store holds the whole watch history and
cached bearer tokens. A restore keeps the current file aside as
``<db>.before-restore-<stamp>.bak``; the copies the store makes before a migration
(``<db>.before-<migration>.bak``) are restorable the same way.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pv2simkl.errors import StoreError
from pv2simkl.store.locks import exclusive

# The tables `store check` counts; a pv2simkl store has at least the first two.
COUNTED = ("events", "works", "imports", "export_batches")
REQUIRED = ("events", "works")
BUSY_TIMEOUT = 30.0  # seconds a copy waits for a writer's lock before giving up
_PROBLEMS_SHOWN = 3


@dataclass
class CheckReport:
    """What ``store check`` found: SQLite's verdict and the row counts."""

    path: Path
    problems: list[str] = field(default_factory=list)  # empty when integrity_check says ok
    counts: dict[str, int | None] = field(default_factory=dict)  # None: the table is missing
    size: int = 0
    backups: list[Path] = field(default_factory=list)  # restorable copies beside the store
    suggested: Path | None = None  # a damaged store: the newest copy that is sound

    @property
    def ok(self) -> bool:
        return not self.problems

    def sentence(self) -> str:
        """One sentence for a damaged store: what is wrong and what to do."""
        shown = "; ".join(self.problems[:_PROBLEMS_SHOWN])
        more = len(self.problems) - _PROBLEMS_SHOWN
        if more > 0:
            shown += f"; and {more} more"
        hint = (
            f"restore the newest sound copy with `pv2simkl store restore {self.suggested}`"
            if self.suggested
            else "restore a backup with `pv2simkl store restore FILE`"
        )
        return f"The store {self.path} is damaged ({shown}); {hint}."


@dataclass
class CopyReport:
    """What ``store backup`` or ``store restore`` wrote."""

    path: Path  # the backup written, or the store restored
    counts: dict[str, int | None]
    aside: Path | None = None  # restore: where the store that was replaced now is


def stamp(now: datetime | None = None) -> str:
    """``20260412-093011``: the time part of the names of copies (UTC)."""
    return (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")


def restorable_copies(db: Path) -> list[Path]:
    """The copies beside the store, oldest first: before a migration, before a restore."""
    found = [p for p in db.parent.glob(f"{db.name}.before-*.bak") if p.is_file()]
    return sorted(found, key=lambda p: (p.stat().st_mtime, p.name))


# ---- check ------------------------------------------------------------------------------


def check(db: Path) -> CheckReport:
    """``PRAGMA integrity_check`` and the row counts of the store at ``db``.

    Never raises for a damaged file (that is what the report says); raises
    :class:`StoreError` only when there is no store at ``db``.
    """
    _require_file(db, "check")
    report = CheckReport(path=db, size=db.stat().st_size, backups=restorable_copies(db))
    try:
        with _connect(db) as conn:
            report.problems = _integrity(conn)
            report.counts = _counts(conn)
    except sqlite3.DatabaseError as exc:
        report.problems = [str(exc)]
    if not report.problems:
        missing = [t for t in REQUIRED if report.counts.get(t) is None]
        if missing:
            report.problems = [f"it is not a pv2simkl store: no {', '.join(missing)} table"]
    if report.problems:
        report.suggested = next((p for p in reversed(report.backups) if _sound(p)), None)
    return report


def _sound(path: Path) -> bool:
    """Whether a copy passes ``integrity_check`` and holds pv2simkl's tables."""
    try:
        with _connect(path) as conn:
            counts = _counts(conn)
            return not _integrity(conn) and all(counts[t] is not None for t in REQUIRED)
    except sqlite3.DatabaseError:
        return False


def _integrity(conn: sqlite3.Connection) -> list[str]:
    rows = [str(r[0]) for r in conn.execute("PRAGMA integrity_check")]
    return [] if rows == ["ok"] else rows


def _counts(conn: sqlite3.Connection) -> dict[str, int | None]:
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return {
        t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] if t in tables else None
        for t in COUNTED
    }


# ---- backup -----------------------------------------------------------------------------


def backup(db: Path, dest: Path, *, now: datetime | None = None) -> CopyReport:
    """Copy the store to ``dest`` (a new file, or a folder to put a dated file in).

    Safe while another process writes: the backup API copies one committed snapshot. The
    copy is written under a temporary name, checked, fsynced and only then renamed, so a
    file at ``dest`` is always a whole, sound store. An existing file is never replaced.
    """
    _require_file(db, "back up")
    target = dest / f"{db.stem}-{stamp(now)}.sqlite3" if dest.is_dir() else dest
    if target.exists():
        raise StoreError(f"{target} already exists; give a new file name or a folder.")
    if not target.parent.is_dir():
        raise StoreError(f"The folder {target.parent} does not exist; create it first.")
    tmp = target.with_name(f".{target.name}.part")
    _remove(tmp)  # left by a backup that was killed
    try:
        _snapshot(db, tmp)
        counts = _verified(tmp, what=f"The backup of {db}")
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    except sqlite3.DatabaseError as exc:
        raise StoreError(
            f"The store {db} cannot be copied ({exc}); run `pv2simkl store check`."
        ) from None
    except OSError as exc:
        raise StoreError(f"Writing {target} failed ({exc.strerror or exc}).") from None
    finally:
        _remove(tmp)
    return CopyReport(path=target, counts=counts)


def _snapshot(db: Path, target: Path) -> None:
    """One consistent copy of ``db`` into the new file ``target`` (0600, one file, fsynced)."""
    _create_private(target)
    with _connect(db) as source, contextlib.closing(sqlite3.connect(target)) as copy:
        source.backup(copy)  # all pages in one step: one snapshot, never restarted
        copy.execute("PRAGMA journal_mode = DELETE")  # the copy is one self-contained file
    _fsync(target)


# ---- restore ----------------------------------------------------------------------------


def restore(db: Path, src: Path, *, daemon_lock: Path, now: datetime | None = None) -> CopyReport:
    """Replace the store by ``src`` (a backup, or a copy made before a migration).

    ``src`` must be a sound pv2simkl store. Refused while a daemon holds ``daemon_lock``;
    the lock is held meanwhile so that none starts. The store replaced is kept as
    ``<db>.before-restore-<stamp>.bak``. An older schema is fine: the next run migrates it.
    """
    _require_file(src, "restore from")
    if db.exists() and src.resolve() == db.resolve():
        raise StoreError(f"{src} is the store itself; name a backup to restore from.")
    with _daemon_stopped(daemon_lock):
        staged = db.with_name(f".{db.name}.restoring")
        try:
            _stage(src, staged)
            _verified(staged, what=str(src))
            aside = _keep_aside(db, now) if db.exists() else None
            _put_in_place(staged, db)
            counts = _verified(db, what=f"The restored store {db}")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"Restoring {db} from {src} failed ({exc}).") from None
        except OSError as exc:
            raise StoreError(
                f"Restoring {db} from {src} failed ({exc.strerror or exc}); "
                "the store was not changed."
            ) from None
        finally:
            for path in _with_journals(staged):
                _remove(path)
    return CopyReport(path=db, counts=counts, aside=aside)


def _daemon_stopped(lock: Path) -> contextlib.AbstractContextManager[None]:
    """Hold the daemon's lock file (``flock``, as the daemon takes it) for the duration."""
    lock.parent.mkdir(parents=True, exist_ok=True)

    def running(fd: int) -> StoreError:
        pid = os.read(fd, 32).decode(errors="replace").strip() or "?"
        return StoreError(
            f"A pv2simkl daemon is running (pid {pid}); stop it first "
            "(`pv2simkl service uninstall`, or end that process), then restore."
        )

    return exclusive(lock, wait=0, refused=running)


def _stage(src: Path, staged: Path) -> None:
    """A private byte copy of ``src`` (and its WAL, if any) beside the store.

    A byte copy, not an open of ``src``: opening a WAL-mode file, even read-only, leaves
    ``-wal`` and ``-shm`` files beside it, and ``src`` is the user's file.
    """
    for path in _with_journals(staged):
        _remove(path)
    _copy_private(src, staged)
    wal = src.with_name(src.name + "-wal")
    if wal.is_file():
        _copy_private(wal, staged.with_name(staged.name + "-wal"))


def _keep_aside(db: Path, now: datetime | None) -> Path:
    """Keep the store about to be replaced as ``<db>.before-restore-<stamp>.bak``.

    Through the backup API when the store can be read (its WAL included); byte for byte
    when it is too damaged for that, with its WAL beside the copy.
    """
    aside = db.with_name(f"{db.name}.before-restore-{stamp(now)}.bak")
    for n in range(2, 1000):
        if not aside.exists():
            break
        aside = db.with_name(f"{db.name}.before-restore-{stamp(now)}-{n}.bak")
    try:
        _snapshot(db, aside)
    except sqlite3.DatabaseError:
        _remove(aside)
        _copy_private(db, aside)
        wal = db.with_name(db.name + "-wal")
        if wal.is_file():
            _copy_private(wal, aside.with_name(aside.name + "-wal"))
    return aside


def _put_in_place(staged: Path, db: Path) -> None:
    """Write the staged copy into the store.

    Into the live file through the backup API when the store opens (other processes
    that hold it open see the new content, and its WAL stays consistent); by renaming
    the file over it when the store is too damaged for SQLite to write.
    """
    if db.exists():
        try:
            with _connect(staged) as source, _connect(db) as target:
                source.backup(target)
            return
        except sqlite3.DatabaseError:
            pass  # not a database any more: replace the file itself
    for path in _with_journals(db)[1:]:  # a stale WAL must never be replayed on the new file
        _remove(path)
    wal = staged.with_name(staged.name + "-wal")
    if wal.exists():
        os.replace(wal, db.with_name(db.name + "-wal"))
    os.replace(staged, db)
    _fsync_dir(db.parent)


# ---- helpers ----------------------------------------------------------------------------


def _verified(path: Path, *, what: str) -> dict[str, int | None]:
    """The counts of a store that passes ``integrity_check`` and is pv2simkl's, or raise."""
    report = check(path)
    if not report.ok:
        problems = "; ".join(report.problems[:_PROBLEMS_SHOWN])
        raise StoreError(f"{what} is not a sound pv2simkl store ({problems}).")
    return report.counts


@contextlib.contextmanager
def _connect(path: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT)
    try:
        yield conn
    finally:
        conn.close()


def _require_file(path: Path, verb: str) -> None:
    if not path.is_file():
        raise StoreError(f"There is no store at {path} to {verb}; check the path (or --db).")


def _with_journals(path: Path) -> list[Path]:
    return [path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))]


def _create_private(path: Path) -> None:
    """A new, empty file only the user can read (fails if it exists)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)


def _copy_private(src: Path, dest: Path) -> None:
    _create_private(dest)
    with open(src, "rb") as fin, open(dest, "wb") as fout:
        shutil.copyfileobj(fin, fout, 1 << 20)
        fout.flush()
        os.fsync(fout.fileno())


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        _fsync(folder)


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
