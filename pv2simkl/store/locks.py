"""One writer of a kind at a time, across processes: an ``flock`` on a file beside the store.

Export and push each take their own lock (``.pv2simkl.sqlite3.export.lock``,
``….push.lock``), so a second process never recovers a batch the first is still writing
or sending. The kernel releases the lock when its holder dies, SIGKILL included.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path


@contextlib.contextmanager
def exclusive(
    path: str | Path, *, wait: float, refused: Callable[[int], Exception]
) -> Iterator[None]:
    """Hold an ``flock`` on ``path`` (created 0600) for the ``with`` block. While another
    process holds it, try again for ``wait`` seconds, then raise ``refused(fd)`` (the fd
    lets the caller read what the holder wrote into the file, such as its pid)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise refused(fd) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextlib.contextmanager
def held(
    store_path: str | Path, kind: str, *, wait: float, busy: Callable[[str], Exception]
) -> Iterator[None]:
    """Hold the ``kind`` lock of the store at ``store_path``; after ``wait`` seconds of
    another holder, raise ``busy(sentence)``."""
    db = Path(store_path)
    sentence = (
        f"Another {kind} of {db} has been running for {wait:.0f} s; try again when it is done."
    )
    with exclusive(
        db.with_name(f".{db.name}.{kind}.lock"), wait=wait, refused=lambda _: busy(sentence)
    ):
        yield
