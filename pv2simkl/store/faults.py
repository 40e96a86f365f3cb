"""Faults of the store itself, told as one sentence with what to do (exit 6, StoreError).

A full disk, a read-only file or folder, a damaged file or a store another process kept
busy are the user's to fix, not bugs: every public method of the store turns SQLite's
error (or the operating system's) into a :class:`StoreError` that says which and how.
Nothing already stored is lost: each step is one transaction, rolled back whole.
"""

from __future__ import annotations

import errno
import functools
import inspect
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pv2simkl.errors import StoreError

T = TypeVar("T")

BUSY = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}
_FULL = {sqlite3.SQLITE_FULL}
_READ_ONLY = {sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM,
              sqlite3.SQLITE_AUTH}  # fmt: skip
_DAMAGED = {sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB}


def primary_code(exc: BaseException) -> int | None:
    """SQLite's primary result code of an error (extended codes folded), if it has one."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def is_busy(exc: BaseException) -> bool:
    """Another connection holds the lock (``database is locked``): worth a retry."""
    return primary_code(exc) in BUSY or "database is locked" in str(exc)


def _backups(path: Path) -> str:
    """`` (newest copy: …)`` when a copy made before an upgrade sits beside the store."""
    copies = sorted(path.parent.glob(f"{path.name}.before-*.bak"), key=lambda p: p.stat().st_mtime)
    return f" (newest copy: {copies[-1]})" if copies else ""


def describe(exc: BaseException, path: Path, *, opening: bool = False) -> StoreError:
    """The one sentence for a fault of the store at ``path`` (``opening``: met while
    opening it)."""
    code = primary_code(exc)
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, OSError) and not isinstance(exc, sqlite3.Error):
        return _os_fault(exc, path)
    if code in _FULL or "database or disk is full" in detail:
        return StoreError(
            f"The disk holding the store {path} is full, so nothing of this step was stored "
            "(everything stored before is kept): free some space and run it again."
        )
    if code in _READ_ONLY or "readonly" in detail:
        return StoreError(
            f"The store {path} cannot be written ({detail}): the file or its folder is "
            "read-only; give your user write access to both, or point --db elsewhere."
        )
    if code in _DAMAGED or "malformed" in detail or "not a database" in detail:
        state = "cannot be opened: it is damaged" if opening else "is damaged"
        return StoreError(
            f"The store {path} {state} ({detail}); run `pv2simkl store check` to see what "
            f"is left, then `pv2simkl store restore FILE` to go back to a backup"
            f"{_backups(path)}."
        )
    if code in BUSY or is_busy(exc):
        return StoreError(
            f"The store {path} stayed locked by another pv2simkl process (the daemon, or "
            "another import) for too long; run the command again when it has finished."
        )
    return StoreError(f"The store {path} failed ({detail}); run `pv2simkl store check` to test it.")


def _os_fault(exc: OSError, path: Path) -> StoreError:
    reason = exc.strerror or str(exc)
    if exc.errno == errno.ENOSPC:
        return describe(sqlite3.OperationalError("database or disk is full"), path)
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return StoreError(
            f"The store {path} cannot be created or written ({reason}): give your user "
            "write access to it and its folder, or point --db elsewhere."
        )
    return StoreError(f"The store {path} cannot be created ({reason}).")


def _guarded(method: Callable[..., Any]) -> Callable[..., Any]:
    """``method`` with its SQLite and file errors told as a StoreError."""
    if inspect.isgeneratorfunction(method):

        @functools.wraps(method)
        def generator(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                yield from method(self, *args, **kwargs)
            except (sqlite3.Error, OSError) as exc:
                raise describe(exc, self.path) from exc

        return generator

    @functools.wraps(method)
    def plain(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except (sqlite3.Error, OSError) as exc:
            raise describe(exc, self.path) from exc

    return plain


def guard(cls: type[T]) -> type[T]:
    """Class decorator: every public method of ``cls`` tells its store faults plainly."""
    for name, value in list(vars(cls).items()):
        if not name.startswith("_") and inspect.isfunction(value):
            setattr(cls, name, _guarded(value))
    return cls
