"""The inbox folder: files dropped there are imported, then moved aside.

A file that imports (or was imported before) goes to ``processed/``; one that cannot be
read goes to ``failed/`` with a ``<name>.error.txt`` beside it that says why in one
sentence. Browsers save through temporary names (``.crdownload``, ``.part``) and rename at
the end: those names are never read.

A file is taken only once it holds still: the same size and mtime for the settle time, on
every path that takes files (the watcher, the start-up scan, the scheduled sync and
``pv2simkl sync``), judged by a :class:`Settler` whose clock is injectable. What was taken is
remembered (:class:`Taken`: size, mtime and SHA-256); a file that differs from it after the
import is not moved but taken again once it holds still, and one that changes while it is
being moved is moved back.

File names are bytes: one that is not UTF-8, or holds a line break, is printed, logged and
written into ``.error.txt`` escaped (:func:`pv2simkl.words.display_name`). A symbolic
link is followed only to a file inside the inbox; any other goes to ``failed/`` unread.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import stat
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from pv2simkl.words import display_name

log = logging.getLogger(__name__)

TEMP_SUFFIXES = (".crdownload", ".part", ".partial", ".tmp", ".download", ".swp")
SUBFOLDERS = ("processed", "failed")


def is_candidate(path: Path) -> bool:
    """A file the inbox should take: not hidden, not a browser's temporary name, and a
    regular file or a symbolic link (a link is judged by :func:`link_problem`)."""
    name = path.name
    if name.startswith((".", "~")):
        return False
    if name.lower().endswith(TEMP_SUFFIXES) or name.endswith(".error.txt"):
        return False
    try:
        mode = path.lstat().st_mode
    except OSError:
        return False
    return stat.S_ISREG(mode) or stat.S_ISLNK(mode)


def waiting(inbox: Path) -> list[Path]:
    """Files waiting in the inbox, oldest first."""
    if not inbox.is_dir():
        return []
    files = []
    for path in inbox.iterdir():
        if is_candidate(path):
            try:
                files.append((path.lstat().st_mtime, path.name, path))
            except OSError:
                continue  # gone since it was listed
    return [path for *_, path in sorted(files)]


def link_problem(path: Path, inbox: Path) -> str | None:
    """Why a symbolic link in the inbox is not read, or None (not a link, or a link to a
    file inside the inbox). A link out of the inbox could read any file the user can."""
    if not path.is_symlink():
        return None
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return "is a symbolic link to nothing (or to itself); copy the file into the inbox"
    if not target.is_relative_to(inbox.resolve()):
        return (
            "is a symbolic link to a file outside the inbox, which is never followed; "
            "copy the file into the inbox instead"
        )
    if not target.is_file():
        return "is a symbolic link to something that is not a file"
    return None


@dataclass(frozen=True, slots=True)
class Stamp:
    """What says a file changed without reading it: size, mtime and inode."""

    size: int
    mtime_ns: int
    inode: int


def stamp(path: Path) -> Stamp | None:
    """The file's :class:`Stamp` (through a link), or None when it is gone."""
    try:
        st = path.stat()
    except OSError:
        return None
    return Stamp(st.st_size, st.st_mtime_ns, st.st_ino)


@dataclass(frozen=True, slots=True)
class Taken:
    """A file as it was when the import took it: its stamp and the SHA-256 of its bytes."""

    stamp: Stamp
    sha256: str


def take(path: Path) -> Taken | None:
    """The file's :class:`Taken` (None when it is gone or cannot be read)."""
    before = stamp(path)
    if before is None:
        return None
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            while block := fh.read(1 << 20):
                digest.update(block)
    except OSError:
        return None
    return Taken(before, digest.hexdigest())


def unchanged(path: Path, taken: Taken) -> bool:
    """The file still is what was taken: same size, mtime, inode and bytes."""
    if stamp(path) != taken.stamp:
        return False
    return take(path) == taken


class Settler:
    """Which inbox files held still (size and mtime) for ``seconds`` by ``clock``.

    Each :meth:`look` compares a file with what was seen before; the time it held still is
    counted from the first look that saw it as it is now. Nothing here sleeps except
    :meth:`settle`, which waits through ``sleep`` (both injectable: tests pass a fake clock
    and a sleep that moves it).
    """

    def __init__(
        self, seconds: float, *, clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:  # fmt: skip
        self.seconds = max(0.0, seconds)
        self.clock = clock
        self.sleep = sleep
        self.watching: dict[Path, tuple[Stamp, float]] = {}

    def look(self, path: Path) -> bool | None:
        """True once ``path`` held still for the settle time, False while it has not (yet),
        None when it is gone (then it is forgotten)."""
        now = self.clock()
        current = stamp(path)
        if current is None:
            self.watching.pop(path, None)
            return None
        seen = self.watching.get(path)
        if seen is None or seen[0] != current:
            self.watching[path] = (current, now)
            return self.seconds == 0
        return now - seen[1] >= self.seconds

    def forget(self, path: Path) -> None:
        """Stop watching ``path`` (it was imported, or moved aside)."""
        self.watching.pop(path, None)

    def again(self, path: Path) -> None:
        """``path`` changed after it was taken: it must hold still a full settle time anew."""
        self.watching.pop(path, None)
        self.look(path)

    def pending(self) -> list[Path]:
        """Files seen and not yet settled or forgotten, in the order they were first seen."""
        return list(self.watching)

    def due_in(self, paths: Iterable[Path] | None = None) -> float | None:
        """Seconds until the first watched file (of ``paths``, default all) could have
        settled; None when none is watched."""
        chosen = self.watching if paths is None else [p for p in paths if p in self.watching]
        if not chosen:
            return None
        now = self.clock()
        return max(0.0, min(self.watching[p][1] + self.seconds - now for p in chosen))

    def settle(self, paths: Iterable[Path], patience: float) -> list[Path]:
        """The files of ``paths`` that held still, waiting at most ``patience`` seconds for
        them (0: only those already settled); the others stay watched."""
        pending = list(paths)
        ready: list[Path] = []
        end = self.clock() + patience
        while pending:
            still = []
            for path in pending:
                state = self.look(path)
                if state:
                    ready.append(path)
                elif state is False:
                    still.append(path)
            pending = still
            wait = self.due_in(pending)
            if not pending or wait is None or self.clock() + wait > end:
                break
            self.sleep(max(wait, 0.05))
        return ready


def _unique(target: Path) -> Path:
    if not target.exists() and not target.is_symlink():
        return target
    stem, suffix = target.stem, target.suffix
    for n in range(2, 10_000):
        candidate = target.with_name(f"{stem}-{n}{suffix}")
        if not candidate.exists() and not candidate.is_symlink():
            return candidate
    raise FileExistsError(target)


@dataclass
class Moved:
    source: Path
    target: Path
    ok: bool
    reason: str | None = None


def _move(path: Path, folder: Path, taken: Taken | None) -> Path | None:
    """``path`` into ``folder`` (a rename, so a writer that still holds it open writes on
    into the moved file); moved back and None when it changed on the way."""
    folder.mkdir(parents=True, exist_ok=True)
    target = _unique(folder / path.name)
    shutil.move(os.fspath(path), target)
    if taken is not None and stamp(target) != taken.stamp and not path.exists():
        shutil.move(os.fspath(target), path)
        return None
    return target


def move_processed(path: Path, inbox: Path, taken: Taken | None = None) -> Moved | None:
    """Into ``processed/``; None (the file back in the inbox) when it changed meanwhile."""
    target = _move(path, inbox / "processed", taken)
    return None if target is None else Moved(path, target, True)


def move_failed(path: Path, inbox: Path, reason: str, taken: Taken | None = None) -> Moved | None:
    """Into ``failed/``, with the reason beside it (written first, then the file moved);
    None (the file back in the inbox, no reason left) when it changed meanwhile."""
    folder = inbox / "failed"
    folder.mkdir(parents=True, exist_ok=True)
    target = _unique(folder / path.name)
    note = target.with_name(target.name + ".error.txt")
    tmp = note.with_name(note.name + ".tmp")
    tmp.write_text(reason.strip() + "\n", encoding="utf-8")
    os.replace(tmp, note)
    shutil.move(os.fspath(path), target)
    if taken is not None and stamp(target) != taken.stamp and not path.exists():
        shutil.move(os.fspath(target), path)
        note.unlink(missing_ok=True)
        return None
    log.warning("inbox: %s failed: %s", display_name(path.name), reason)
    return Moved(path, target, False, reason)
