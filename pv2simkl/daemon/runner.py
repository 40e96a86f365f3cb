"""``pv2simkl daemon``: the scheduler and the inbox watcher driving one owner thread.

Everything that holds state (the store, the HTTP clients, the Amazon session, the
:class:`~pv2simkl.sources.inbox.Settler` that knows which inbox files hold still) lives on
the thread that calls :func:`run`; the scheduler and the watcher only put work on a
queue. One daemon at a time (a lock file). SIGTERM and SIGINT finish the current step
and end with exit code 0. Bad input never ends the daemon: a file that cannot be read
goes to ``failed/``, and any other error of a step is logged and the loop goes on.

Every way a file reaches the daemon (the watcher, the start-up scan, a rescan, the
scheduled sync) goes through the one settler: a file is imported only once its size and
mtime held still for ``[daemon] settle_seconds``, and one written to after it was taken is
watched again until it holds still once more.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import logging.handlers
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from pv2simkl import pipeline
from pv2simkl.config import private_dir
from pv2simkl.daemon import scheduler, watcher
from pv2simkl.errors import Pv2SimklError
from pv2simkl.sources import inbox
from pv2simkl.words import display_name

log = logging.getLogger(__name__)
SYNC = "sync"
POLL_SECONDS = 0.1  # least wait between two looks at a file that is settling
RESCAN_SECONDS = 60.0  # the inbox is listed again this often, in case an event was missed


class AlreadyRunning(Pv2SimklError):
    """Another daemon holds the lock."""

    exit_code = 15


class Lock:
    """An exclusive ``flock`` on a file in the state dir, released when the process ends."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = os.read(self.fd, 32).decode(errors="replace").strip() or "?"
            os.close(self.fd)
            raise AlreadyRunning(
                f"Another pv2simkl daemon is running (pid {other}, lock {path}); stop it first."
            ) from None
        os.ftruncate(self.fd, 0)
        os.write(self.fd, str(os.getpid()).encode())

    def release(self) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def setup_logging(path: Path) -> None:
    """A rotating log file at ``path`` (:attr:`Paths.log_file`; plus stderr, set up by the CLI).

    The log names titles and files of the user's history: its folder is 0700 and every
    log file 0600, rotated ones included; files an earlier version left wider are tightened.
    """
    log_dir = path.parent
    private_dir(log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)  # if it could not be made, say why here

    def create_private(name: str) -> None:
        os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
        os.chmod(name, 0o600)

    def rotate(source: str, dest: str) -> None:
        os.replace(source, dest)
        create_private(source)  # the handler then appends to it, keeping its mode

    for old in log_dir.glob(f"{path.name}.*"):
        with contextlib.suppress(OSError):  # not ours to change: left as it is
            old.chmod(0o600)
    create_private(str(path))
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=1_000_000, backupCount=5, encoding="utf-8"
    )
    handler.rotator = rotate
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level > logging.INFO:
        root.setLevel(logging.INFO)


class Daemon:
    """The loop; ``stop()`` (or a signal) ends it after the current step.

    ``clock`` and ``sleep`` drive the inbox's settle times (tests pass a fake clock).
    """

    def __init__(
        self, ctx: pipeline.Context, *, clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:  # fmt: skip
        self.ctx = ctx
        self.work: queue.Queue[str | Path] = queue.Queue()
        self.stopping = threading.Event()
        self.clock = clock
        self.settler = inbox.Settler(ctx.settings.daemon.settle_seconds, clock=clock, sleep=sleep)
        self.last_scan = clock()
        self.sched = None
        self.observer = None

    def stop(self, *_: object) -> None:
        self.stopping.set()
        self.work.put("wake")

    def _state(self) -> None:
        next_run = scheduler.next_run(self.sched) if self.sched else None
        state = {"pid": os.getpid(), "next_run": next_run.isoformat() if next_run else None,
                 "inbox": str(self.ctx.paths.inbox)}  # fmt: skip
        path = self.ctx.paths.daemon_state
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(state), encoding="utf-8")
        os.replace(tmp, path)

    def run(self, *, install_signals: bool = True) -> int:
        paths = self.ctx.paths
        lock = Lock(paths.daemon_lock)
        try:
            if install_signals:
                signal.signal(signal.SIGTERM, self.stop)
                signal.signal(signal.SIGINT, self.stop)
            # Open (or create) the store now: one that cannot be opened is said at start, and
            # `status` / `store backup` find the store of a daemon that has not synced yet.
            _ = self.ctx.store
            settings = self.ctx.settings.daemon
            self.sched = scheduler.build(settings, lambda: self.work.put(SYNC))
            self.sched.start()
            self.observer = watcher.watch(paths.inbox, self.work.put)
            self.scan()  # files that came while we were down
            if settings.run_at_start:
                self.work.put(SYNC)
            self._state()
            log.info("daemon started: inbox %s, next sync %s", paths.inbox,
                     scheduler.next_run(self.sched))  # fmt: skip
            self._loop()
        finally:
            if self.observer is not None:
                self.observer.stop()
                self.observer.join(timeout=5)
            if self.sched is not None:
                self.sched.shutdown(wait=False)
            paths.daemon_state.unlink(missing_ok=True)
            lock.release()
            log.info("daemon stopped")
        return 0

    def scan(self) -> None:
        """Watch every file waiting in the inbox (the start-up scan, and a rescan now and
        then in case the watcher missed an event)."""
        self.last_scan = self.clock()
        for path in inbox.waiting(self.ctx.paths.inbox):
            if path not in self.settler.watching:
                self.settler.look(path)

    def _loop(self) -> None:
        while not self.stopping.is_set():
            self.step(self._next_item())

    def _next_item(self) -> str | Path | None:
        due = self.settler.due_in()
        timeout = RESCAN_SECONDS if due is None else min(max(due, POLL_SECONDS), RESCAN_SECONDS)
        try:
            return self.work.get(timeout=timeout)
        except queue.Empty:
            return None

    def step(self, item: str | Path | None) -> None:
        """One turn of the loop: a queued path is watched (again), a sync runs, and every
        watched file that now holds still is imported."""
        if self.stopping.is_set():
            return
        if isinstance(item, Path):
            self.settler.look(item)  # a write starts its settle time anew
        elif item == SYNC:
            self._step("sync", self._sync)
        if self.clock() - self.last_scan >= RESCAN_SECONDS:
            self.scan()
        self.files_ready()

    def files_ready(self) -> None:
        """Import every watched file whose size and mtime held still for the settle time."""
        for path in self.settler.pending():
            if self.stopping.is_set():
                return
            if self.settler.look(path):
                self._step(f"inbox {display_name(path.name)}", lambda p=path: self._file(p))

    def _file(self, path: Path) -> None:
        try:
            result = pipeline.import_inbox_file(self.ctx, path)
        except Exception:
            self.settler.forget(path)  # a bug, not a file still written: no retry loop
            raise
        if result.outcome == "changed":
            self.settler.again(path)
        else:
            self.settler.forget(path)
        log.info("inbox: %s: %s", result.name, result.message)
        if result.ok:
            sent = pipeline.SyncReport()
            pipeline.deliver(self.ctx, sent)  # the CSV and/or the push, as configured
            for error in sent.errors:
                log.warning("inbox: %s", error)

    def _sync(self) -> None:
        report = pipeline.sync(self.ctx, kind="scheduled", settler=self.settler)
        log.info("sync: %s", json.dumps(report.summary(), ensure_ascii=False))
        self._state()

    def _step(self, name: str, action: Callable[[], None]) -> None:
        """Run one step; nothing it raises ends the daemon."""
        try:
            action()
        except Exception:
            log.exception("%s failed; the daemon goes on", name)


def run(ctx: pipeline.Context) -> int:
    setup_logging(ctx.paths.log_file)
    if sys.stderr.isatty():
        log.info("logging to %s", ctx.paths.log_file)
    return Daemon(ctx).run()
