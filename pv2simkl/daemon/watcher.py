"""The inbox watcher (watchdog): every finished file dropped in the folder is queued.

Handlers run on watchdog's thread and only enqueue a path; the daemon's owner thread
waits for the size to settle and imports. "Save page as" writes a temporary name and
renames it at the end, so moves are judged by their destination; nothing is ignored by
pattern (an ignored temp name would swallow the final rename, watchdog#538).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from pv2simkl.daemon.inbox import is_candidate


class _Handler(FileSystemEventHandler):
    def __init__(self, inbox: Path, enqueue: Callable[[Path], None]):
        self.inbox = inbox
        self.enqueue = enqueue

    def _offer(self, raw: str | bytes) -> None:
        path = Path(raw.decode() if isinstance(raw, bytes) else raw)
        if path.parent == self.inbox and is_candidate(path):
            self.enqueue(path)

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
    observer.schedule(_Handler(inbox.resolve(), enqueue), str(inbox), recursive=False)
    observer.start()
    return observer
