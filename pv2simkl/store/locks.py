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
def held(
    store_path: str | Path, kind: str, *, wait: float, busy: Callable[[str], Exception]
) -> Iterator[None]:
    """Hold the ``kind`` lock of the store at ``store_path``; after ``wait`` seconds of
    another holder, raise ``busy(sentence)``."""
    db = Path(store_path)
    fd = os.open(db.with_name(f".{db.name}.{kind}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise busy(
                        f"Another {kind} of {db} has been running for {wait:.0f} s; "
                        "try again when it is done."
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
