"""The inbox folder: files dropped there are imported, then moved aside.

A file that imports (or was imported before) goes to ``processed/``; one that cannot be
read goes to ``failed/`` with a ``<name>.error.txt`` beside it that says why in one
sentence. Browsers save through temporary names (``.crdownload``, ``.part``) and rename at
the end: those names are never read, and a file is read only once its size has held.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

TEMP_SUFFIXES = (".crdownload", ".part", ".partial", ".tmp", ".download", ".swp")
SUBFOLDERS = ("processed", "failed")


def is_candidate(path: Path) -> bool:
    """A finished file the inbox should read (not hidden, not a browser's temp name)."""
    name = path.name
    if name.startswith((".", "~")) or name.startswith(".goutputstream"):
        return False
    if name.lower().endswith(TEMP_SUFFIXES) or name.endswith(".error.txt"):
        return False
    return path.is_file()


def waiting(inbox: Path) -> list[Path]:
    """Files waiting in the inbox, oldest first."""
    if not inbox.is_dir():
        return []
    files = [p for p in inbox.iterdir() if is_candidate(p)]
    return sorted(files, key=lambda p: (p.stat().st_mtime, p.name))


def settled(path: Path, seconds: float, *, poll: float = 0.25) -> bool:
    """True once ``path`` kept the same size and mtime for ``seconds`` (False if it went)."""
    try:
        last = path.stat()
    except FileNotFoundError:
        return False
    stable_since = time.monotonic()
    while time.monotonic() - stable_since < seconds:
        time.sleep(min(poll, seconds))
        try:
            now = path.stat()
        except FileNotFoundError:
            return False
        if (now.st_size, now.st_mtime_ns) != (last.st_size, last.st_mtime_ns):
            last, stable_since = now, time.monotonic()
    return True


def _unique(target: Path) -> Path:
    if not target.exists():
        return target
    stem, suffix = target.stem, target.suffix
    for n in range(2, 10_000):
        candidate = target.with_name(f"{stem}-{n}{suffix}")
        if not candidate.exists():
            return candidate
    raise FileExistsError(target)


@dataclass
class Moved:
    source: Path
    target: Path
    ok: bool
    reason: str | None = None


def move_processed(path: Path, inbox: Path) -> Moved:
    folder = inbox / "processed"
    folder.mkdir(parents=True, exist_ok=True)
    target = _unique(folder / path.name)
    shutil.move(str(path), target)
    return Moved(path, target, True)


def move_failed(path: Path, inbox: Path, reason: str) -> Moved:
    """Into ``failed/``, with the reason beside it (written first, then the file moved)."""
    folder = inbox / "failed"
    folder.mkdir(parents=True, exist_ok=True)
    target = _unique(folder / path.name)
    note = target.with_name(target.name + ".error.txt")
    tmp = note.with_name(note.name + ".tmp")
    tmp.write_text(reason.strip() + "\n", encoding="utf-8")
    os.replace(tmp, note)
    shutil.move(str(path), target)
    log.warning("inbox: %s failed: %s", path.name, reason)
    return Moved(path, target, False, reason)
