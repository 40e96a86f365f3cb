"""The inbox never takes a file that is still being written, on every path.

The settle rule (size and mtime held still for the settle time) runs on a fake clock: a
test moves the clock and writes the file between looks, and asserts what was taken and
when by order and counts, never by a duration. Real files, a real store, real imports.
"""

from __future__ import annotations

import hashlib
import os
import queue
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fixtures.real_samples import REAL_SAMPLES
from pv2simkl import pipeline
from pv2simkl.config import load_settings
from pv2simkl.daemon import watcher
from pv2simkl.daemon.runner import SYNC, Daemon
from pv2simkl.sources import inbox

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "fixtures" / "samples"
PAGE = (SAMPLES / "fr-FR" / "saved-page-expanded.html").read_bytes()
CONSOLE = (REAL_SAMPLES / "console-v2-en.csv").read_bytes()  # 6 watches
SETTLE = 2.0


class FakeClock:
    """A monotonic clock that moves only when told; ``sleep`` moves it and runs the
    writer step queued for that moment (a file written while pv2simkl waits)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.during_sleep: list[Callable[[], None]] = []
        self.sleeps = 0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        self.now += seconds
        if self.during_sleep:
            self.during_sleep.pop(0)()


def chunks(data: bytes, n: int) -> list[bytes]:
    size = -(-len(data) // n)
    return [data[i : i + size] for i in range(0, len(data), size)]


def append(path: Path, data: bytes) -> None:
    with open(path, "ab") as fh:
        fh.write(data)
    # A write within one timestamp tick leaves mtime alone; size still moves.


def touch_later(path: Path, seconds: int = 5) -> None:
    """Move the mtime on (a rewrite of the same size)."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + seconds * 1_000_000_000))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[pipeline.Context]:
    env = {
        "PV2SIMKL_DATA_DIR": str(tmp_path / "data"), "PV2SIMKL_INBOX": str(tmp_path / "inbox"),
        "PV2SIMKL_DAEMON_SETTLE_SECONDS": str(SETTLE), "PV2SIMKL_DAEMON_FETCH": "0",
        "PV2SIMKL_DAEMON_ENRICH": "0", "PV2SIMKL_OFFLINE": "1",
    }  # fmt: skip
    context = pipeline.Context.create(load_settings(env=env))
    context.paths.inbox.mkdir(parents=True)
    yield context
    context.close()


def events(ctx: pipeline.Context) -> int:
    return ctx.store.counts()["events"]


def sequential_count(tmp_path: Path, name: str, data: bytes) -> int:
    """The events one plain import of ``data`` stores: what the inbox must end with."""
    folder = tmp_path / "sequential"
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(data)
    env = {"PV2SIMKL_DATA_DIR": str(folder / "data"), "PV2SIMKL_OFFLINE": "1"}
    other = pipeline.Context.create(load_settings(env=env))
    try:
        pipeline.import_paths(other, [folder / name])
        return events(other)
    finally:
        other.close()


# --- the settle rule ----------------------------------------------------------------------


def test_a_file_settles_only_after_holding_still_for_the_settle_time(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "page.html"
    path.write_bytes(PAGE[:1000])
    settler = inbox.Settler(SETTLE, clock=clock)
    assert settler.look(path) is False  # first seen: its time starts now
    clock.advance(SETTLE - 0.1)
    assert settler.look(path) is False
    append(path, PAGE[1000:2000])  # grew: its time starts again
    clock.advance(0.2)
    assert settler.look(path) is False
    clock.advance(SETTLE - 0.1)
    assert settler.look(path) is False
    clock.advance(0.1)
    assert settler.look(path) is True


def test_an_mtime_change_of_the_same_size_restarts_the_settle_time(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(CONSOLE)
    settler = inbox.Settler(SETTLE, clock=clock)
    settler.look(path)
    clock.advance(SETTLE - 0.5)
    touch_later(path)
    clock.advance(0.5)
    assert settler.look(path) is False
    clock.advance(SETTLE)
    assert settler.look(path) is True


def test_a_file_that_went_is_forgotten(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(CONSOLE)
    settler = inbox.Settler(SETTLE, clock=clock)
    settler.look(path)
    path.unlink()
    assert settler.look(path) is None and settler.pending() == []


def test_settle_time_zero_takes_a_file_at_first_sight(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(CONSOLE)
    assert inbox.Settler(0, clock=clock).look(path) is True


def test_settle_waits_while_a_writer_goes_on_and_takes_the_file_once_it_stops(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "page.html"
    parts = chunks(PAGE, 6)
    path.write_bytes(parts[0])
    quiet = tmp_path / "old.csv"
    quiet.write_bytes(CONSOLE)
    clock.during_sleep = [lambda p=p: append(path, p) for p in parts[1:]]
    settler = inbox.Settler(SETTLE, clock=clock, sleep=clock.sleep)
    ready = settler.settle([quiet, path], patience=100)
    assert ready == [quiet, path] and path.read_bytes() == PAGE
    assert clock.sleeps >= 6  # one sleep per chunk written, then one settle time of quiet


def test_settle_leaves_a_file_still_written_when_patience_runs_out(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "page.html"
    path.write_bytes(b"<html>")
    clock.during_sleep = [lambda: append(path, b"<p>more</p>") for _ in range(100)]
    settler = inbox.Settler(SETTLE, clock=clock, sleep=clock.sleep)
    assert settler.settle([path], patience=4 * SETTLE) == []
    assert settler.pending() == [path]  # still watched: taken once it holds still


# --- taken, then changed ------------------------------------------------------------------


def test_regression_file_finished_while_it_was_read_is_taken_again_not_moved(
    ctx: pipeline.Context, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before, a file copied in slowly went to processed/ with what it held so far (the
    writer then finished it there) or to failed/ as truncated. The writer here finishes
    it while the real import reads the first half."""
    path = ctx.paths.inbox / "history.html"
    half = len(PAGE) // 2
    path.write_bytes(PAGE[:half])
    real_import = pipeline.import_paths

    def import_while_the_writer_finishes(*args, **kwargs):
        report = real_import(*args, **kwargs)
        append(path, PAGE[half:])
        return report

    monkeypatch.setattr(pipeline, "import_paths", import_while_the_writer_finishes)
    first = pipeline.import_inbox_file(ctx, path)
    assert first.outcome == "changed" and path.exists()
    assert (
        not (ctx.paths.inbox / "failed").exists() and not (ctx.paths.inbox / "processed").exists()
    )
    monkeypatch.setattr(pipeline, "import_paths", real_import)
    second = pipeline.import_inbox_file(ctx, path)
    assert second.outcome == "processed"
    assert (ctx.paths.inbox / "processed" / "history.html").read_bytes() == PAGE
    assert events(ctx) == sequential_count(tmp_path, "history.html", PAGE)


def test_unchanged_compares_bytes_too(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(CONSOLE)
    taken = inbox.take(path)
    assert taken is not None and inbox.unchanged(path, taken)
    st = path.stat()
    path.write_bytes(CONSOLE.replace(b"Some", b"Same"))  # same size
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # and the old mtime back
    assert not inbox.unchanged(path, taken)


# --- every path waits: the scheduled sync, the start-up scan, the watcher -----------------


def test_regression_scheduled_sync_never_takes_a_file_still_written(
    ctx: pipeline.Context, tmp_path: Path, clock: FakeClock
) -> None:
    daemon = Daemon(ctx, clock=clock, sleep=clock.sleep)
    path = ctx.paths.inbox / "export.csv"
    parts = chunks(CONSOLE, 3)
    path.write_bytes(parts[0])
    daemon.step(SYNC)  # the scheduled sync sees it for the first time: not taken
    assert path.exists() and events(ctx) == 0
    clock.advance(SETTLE - 0.5)
    append(path, parts[1])
    daemon.step(SYNC)
    assert path.exists() and events(ctx) == 0
    clock.advance(SETTLE + 0.5)
    append(path, parts[2])
    daemon.step(path)  # the watcher's event for the last write
    assert path.exists() and events(ctx) == 0
    clock.advance(SETTLE)
    daemon.step(None)
    assert not path.exists() and (ctx.paths.inbox / "processed" / "export.csv").exists()
    assert events(ctx) == sequential_count(tmp_path, "export.csv", CONSOLE) == 6


def test_regression_startup_scan_waits_the_settle_time(
    ctx: pipeline.Context, clock: FakeClock
) -> None:
    path = ctx.paths.inbox / "early.csv"
    path.write_bytes(CONSOLE[:40])
    daemon = Daemon(ctx, clock=clock, sleep=clock.sleep)
    daemon.scan()
    daemon.step(None)
    assert path.exists() and events(ctx) == 0
    append(path, CONSOLE[40:])
    clock.advance(SETTLE)
    daemon.step(None)  # the size moved since the scan: not yet
    assert path.exists()
    clock.advance(SETTLE)
    daemon.step(None)
    assert not path.exists() and events(ctx) == 6
    assert not (ctx.paths.inbox / "failed").exists()


def test_lone_sync_waits_for_a_file_still_written(
    ctx: pipeline.Context, tmp_path: Path, clock: FakeClock
) -> None:
    path = ctx.paths.inbox / "history.html"
    parts = chunks(PAGE, 5)
    path.write_bytes(parts[0])
    clock.during_sleep = [lambda p=p: append(path, p) for p in parts[1:]]
    report = pipeline.SyncReport()
    settler = inbox.Settler(SETTLE, clock=clock, sleep=clock.sleep)
    pipeline.sync_inbox(ctx, report, settler=settler, patience=10 * SETTLE)
    assert (report.inbox_ok, report.inbox_failed) == (1, 0)
    assert (ctx.paths.inbox / "processed" / "history.html").read_bytes() == PAGE
    assert events(ctx) == sequential_count(tmp_path, "history.html", PAGE)


def test_daemon_retakes_a_file_that_changed_after_it_was_taken(
    ctx: pipeline.Context, tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = ctx.paths.inbox / "history.html"
    half = len(PAGE) // 2
    path.write_bytes(PAGE[:half])
    real_import = pipeline.import_paths
    writes = [PAGE[half:]]

    def import_while_the_writer_finishes(*args, **kwargs):
        report = real_import(*args, **kwargs)
        if writes:
            append(path, writes.pop())
        return report

    monkeypatch.setattr(pipeline, "import_paths", import_while_the_writer_finishes)
    daemon = Daemon(ctx, clock=clock, sleep=clock.sleep)
    daemon.step(path)
    clock.advance(SETTLE)
    daemon.step(None)  # taken, and written to meanwhile: watched again
    assert path.exists() and daemon.settler.pending() == [path]
    daemon.step(None)  # not a full settle time since the change
    assert path.exists()
    clock.advance(SETTLE)
    daemon.step(None)
    assert not path.exists() and not (ctx.paths.inbox / "failed").exists()
    assert events(ctx) == sequential_count(tmp_path, "history.html", PAGE)


def test_watcher_queues_names_that_are_not_utf8(tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    found: queue.Queue[Path] = queue.Queue()
    observer = watcher.watch(folder, found.put)
    try:
        name = os.fsdecode(b"hist\xff.csv")
        (folder / name).write_bytes(CONSOLE)
        deadline = time.monotonic() + 30
        seen: set[Path] = set()
        while folder / name not in seen and time.monotonic() < deadline:
            try:
                seen.add(found.get(timeout=0.5))
            except queue.Empty:
                continue
        assert folder / name in seen
    finally:
        observer.stop()
        observer.join(timeout=5)


# --- names and links ----------------------------------------------------------------------


def test_inbox_names_that_are_not_utf8_or_hold_line_breaks_are_imported(
    ctx: pipeline.Context,
) -> None:
    odd = ctx.paths.inbox / os.fsdecode(b"hist\xff\xfe.csv")
    broken = ctx.paths.inbox / "cut\nshort.json"
    odd.write_bytes(CONSOLE)
    broken.write_bytes(b'{"widgets": [{"widgetType": "watch-history"')
    report = pipeline.SyncReport()
    pipeline.sync_inbox(ctx, report, settler=inbox.Settler(0))
    assert (report.inbox_ok, report.inbox_failed) == (1, 1) and events(ctx) == 6
    assert (ctx.paths.inbox / "processed" / odd.name).exists()
    note = ctx.paths.inbox / "failed" / (broken.name + ".error.txt")
    text = note.read_text(encoding="utf-8")
    assert len(text.strip().splitlines()) == 1 and "broken JSON" in text
    assert report.errors == [f"inbox: cut\\nshort.json: {text.strip()}"]
    stored = ctx.store.already_imported(hashlib.sha256(CONSOLE).hexdigest())
    assert stored is not None and stored["path"].endswith("hist\\xff\\xfe.csv")


def test_link_out_of_the_inbox_is_not_followed(ctx: pipeline.Context, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.csv"
    outside.write_bytes(CONSOLE)
    link = ctx.paths.inbox / "link.csv"
    link.symlink_to(outside)
    result = pipeline.import_inbox_file(ctx, link)
    assert result.outcome == "failed" and "outside the inbox" in result.message
    assert events(ctx) == 0 and outside.read_bytes() == CONSOLE
    assert (ctx.paths.inbox / "failed" / "link.csv").is_symlink()


def test_link_to_a_file_inside_the_inbox_is_read(ctx: pipeline.Context) -> None:
    keep = ctx.paths.inbox / "keep"
    keep.mkdir()
    (keep / "history.csv").write_bytes(CONSOLE)
    link = ctx.paths.inbox / "link.csv"
    link.symlink_to(keep / "history.csv")
    assert pipeline.import_inbox_file(ctx, link).outcome == "processed"
    assert events(ctx) == 6


def test_dangling_link_goes_to_failed(ctx: pipeline.Context) -> None:
    link = ctx.paths.inbox / "gone.csv"
    link.symlink_to(ctx.paths.inbox / "nothing.csv")
    assert inbox.waiting(ctx.paths.inbox) == [link]
    result = pipeline.import_inbox_file(ctx, link)
    assert result.outcome == "failed" and "link to nothing" in result.message


def test_fifo_and_folders_are_not_candidates(ctx: pipeline.Context) -> None:
    os.mkfifo(ctx.paths.inbox / "pipe.csv")  # reading it would block forever
    (ctx.paths.inbox / "folder.csv").mkdir()
    (ctx.paths.inbox / "page.html.crdownload").write_bytes(PAGE[:100])
    assert inbox.waiting(ctx.paths.inbox) == []
