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
