"""`sync` and `daemon` on real folders, a real store and a real daemon process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pv2simkl import pipeline
from pv2simkl.config import load_settings

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "fixtures" / "samples"


def env(tmp_path: Path) -> dict[str, str]:
    return {
        "PV2SIMKL_DATA_DIR": str(tmp_path / "data"), "PV2SIMKL_INBOX": str(tmp_path / "inbox"),
        "PV2SIMKL_DAEMON_SETTLE_SECONDS": "0.3", "PV2SIMKL_DAEMON_FETCH": "0",
        "PV2SIMKL_DAEMON_ENRICH": "0", "PV2SIMKL_OFFLINE": "1",
        "PV2SIMKL_EXPORT_TIMEZONE": "UTC",
    }  # fmt: skip


def test_sync_imports_the_inbox_and_exports(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "page.html").write_bytes((SAMPLES / "de-DE" / "saved-page-expanded.html").read_bytes())
    (inbox / "broken.json").write_bytes(b'{"widgets": [{"widgetType": "watch-history"')
    (inbox / "half.html.crdownload").write_bytes(b"<html>")  # still being saved: left alone
    ctx = pipeline.Context.create(load_settings(env=env(tmp_path)))
    report = pipeline.sync(ctx)
    assert (report.inbox_ok, report.inbox_failed) == (1, 1)
    assert report.new_events > 0 and len(report.csv) == 1
    assert (inbox / "processed" / "page.html").exists()
    assert (inbox / "failed" / "broken.json").exists()
    reason = (inbox / "failed" / "broken.json.error.txt").read_text()
    assert "broken JSON" in reason and len(reason.strip().splitlines()) == 1
    assert (inbox / "half.html.crdownload").exists()
    runs = ctx.store.last_runs()
    assert runs[0]["status"] == "error" and runs[0]["summary"]["inbox_ok"] == 1
    status = pipeline.status(ctx)
    assert status["unexported"] == 0 and status["newest_csv"] == report.csv[0]
    again = pipeline.sync(ctx)
    assert again.new_events == 0 and again.csv == []
    ctx.close()


def wait_for(predicate, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def daemon(tmp_path: Path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "early.csv").write_bytes((SAMPLES / "en-GB" / "console.csv").read_bytes())
    proc = subprocess.Popen(
        [sys.executable, "-m", "pv2simkl", "daemon"], env={**os.environ, **env(tmp_path)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    yield proc, inbox
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def test_daemon_processes_drops_survives_bad_input_and_stops_on_sigterm(
    daemon, tmp_path: Path
) -> None:
    proc, inbox = daemon
    assert wait_for(lambda: (inbox / "processed" / "early.csv").exists()), "startup scan"
    # A browser saves through a temporary name, then renames.
    part = inbox / "history.html.crdownload"
    data = (SAMPLES / "fr-FR" / "saved-page-expanded.html").read_bytes()
    with open(part, "wb") as fh:
        fh.write(data[: len(data) // 2])
        fh.flush()
        time.sleep(0.3)
        fh.write(data[len(data) // 2 :])
    part.rename(inbox / "history.html")
    assert wait_for(lambda: (inbox / "processed" / "history.html").exists()), "renamed drop"
    for i, junk in enumerate([os.urandom(3000), b"\xff\xfe not text", b'{"a": 1}', b""]):
        (inbox / f"junk-{i}.bin").write_bytes(junk)
    assert wait_for(lambda: len(list((inbox / "failed").glob("junk-*.error.txt"))) == 4)
    assert proc.poll() is None  # bad input never ends the daemon
    second = subprocess.run([sys.executable, "-m", "pv2simkl", "daemon"], cwd=ROOT,
                            env={**os.environ, **env(tmp_path)}, capture_output=True,
                            text=True, timeout=60)  # fmt: skip
    assert second.returncode == 15 and "Another pv2simkl daemon" in second.stderr
    status = subprocess.run([sys.executable, "-m", "pv2simkl", "status"], cwd=ROOT,
                            env={**os.environ, **env(tmp_path)}, capture_output=True,
                            text=True, timeout=60)  # fmt: skip
    assert "daemon: running" in status.stdout and "newest CSV: " in status.stdout
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    log = (tmp_path / "data" / "state" / "log" / "pv2simkl.log").read_text()
    assert "daemon stopped" in log


def stored_events(tmp_path: Path, folder: str, paths: list[Path] | None = None) -> int:
    """The events in the store under ``tmp_path / folder`` (after importing ``paths``)."""
    settings = load_settings(env={**env(tmp_path), "PV2SIMKL_DATA_DIR": str(tmp_path / folder)})
    ctx = pipeline.Context.create(settings)
    try:
        if paths:
            pipeline.import_paths(ctx, paths)
        return ctx.store.counts()["events"]
    finally:
        ctx.close()


def test_regression_daemon_takes_files_written_slowly_only_when_whole(
    daemon, tmp_path: Path
) -> None:
    """Before, a file copied in slowly could be moved to processed/ half written (the writer
    then finished it there) or to failed/ as truncated. Here three files are written under
    their final names in chunks, each pause shorter than the settle time."""
    proc, inbox = daemon
    assert wait_for(lambda: (inbox / "processed" / "early.csv").exists()), "startup scan"
    files = {
        "slow-page.html": (SAMPLES / "fr-FR" / "saved-page-expanded.html").read_bytes(),
        "slow-export.csv": (SAMPLES / "de-DE" / "console-v3.csv").read_bytes(),
        "slow-reply.json": (SAMPLES / "en-GB" / "api" / "page-0002.json").read_bytes(),
    }
    handles = {name: open(inbox / name, "wb") for name in files}  # noqa: SIM115
    try:
        for step in range(8):
            for name, data in files.items():
                size = -(-len(data) // 8)
                handles[name].write(data[step * size : (step + 1) * size])
                handles[name].flush()
            time.sleep(0.05)  # pacing the writer, well under the 0.3 s settle time
    finally:
        for handle in handles.values():
            handle.close()
    done = inbox / "processed"
    assert wait_for(lambda: all((done / name).exists() for name in files)), "slow files"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    assert not (inbox / "failed").exists()
    assert all((done / name).read_bytes() == data for name, data in files.items())
    sequential = tmp_path / "sequential"
    sequential.mkdir()
    (sequential / "early.csv").write_bytes((SAMPLES / "en-GB" / "console.csv").read_bytes())
    for name, data in files.items():
        (sequential / name).write_bytes(data)
    want = stored_events(
        tmp_path, "seq", [sequential / "early.csv", *(sequential / n for n in files)]
    )
    assert stored_events(tmp_path, "data") == want > 0
