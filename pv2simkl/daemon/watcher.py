"""The inbox watcher (watchdog): every file created, written, closed or moved into the
folder is queued.

Handlers run on watchdog's thread and only enqueue a path; the daemon's owner thread
watches it until its size and mtime hold still (``inbox.Settler``) and imports. Each write
queues the file again, which starts its settle time anew. "Save page as" writes a
temporary name and renames it at the end, so moves are judged by their destination;
nothing is ignored by pattern (an ignored temp name would swallow the final rename,
watchdog#538). Paths are kept as the bytes the file system gave (``os.fsdecode``), so a
name that is not UTF-8 is queued like any other.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from pv2simkl.sources.inbox import is_candidate


class _Handler(FileSystemEventHandler):
    def __init__(self, inbox: Path, enqueue: Callable[[Path], None], given: Path):
        self.inbox = inbox
        self.given = given  # the inbox as configured: queued paths match the start-up scan's
        self.enqueue = enqueue

    def _offer(self, raw: str | bytes) -> None:
        path = Path(os.fsdecode(raw))
        if path.parent == self.inbox and is_candidate(path):
            self.enqueue(self.given / path.name)

    def on_created(self, event: FileSystemEvent) -> None:
        if not event.is_directory:
            self._offer(event.src_path)

    def on_modified(self, event: FileSystemEvent) -> None:
        if not event.is_directory:
            self._offer(event.src_path)

    def on_moved(self, event: FileSystemEvent) -> None:
        if not event.is_directory:
            self._offer(event.dest_path)

    def on_closed(self, event: FileSystemEvent) -> None:
        self._offer(event.src_path)


def watch(inbox: Path, enqueue: Callable[[Path], None]) -> Observer:
    """A started observer on ``inbox`` (not recursive: processed/ and failed/ live inside)."""
    inbox.mkdir(parents=True, exist_ok=True)
    observer = Observer()
    handler = _Handler(inbox.resolve(), enqueue, inbox)
    observer.schedule(handler, os.fspath(inbox.resolve()), recursive=False)
    observer.start()
    return observer
