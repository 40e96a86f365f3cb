"""Exactly once across SIGKILLs (issue 11): ``pv2simkl push`` processes killed at random
instants while they send small batches to the mock Simkl; after a last push that runs to
its end, the mock holds every watch exactly once and the store marks every one pushed.

The kills land anywhere: before a batch is recorded, between recording and the POST,
while the mock handles the POST, before the reply is stored. bench/push.py does the same
with 50+ kills and a larger history."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fixtures.generator import build_history
from fixtures.services import DEFAULT_KEYS, MockServices
from fixtures.services.catalog import catalog_from_history
from pv2simkl.models import WatchEvent
from pv2simkl.store import Store

FAST = {"simkl": [(200, 1.0)], "simkl_post": [(200, 1.0)]}
KILLS = 8
SHOWS = {"Das Boot": [8, 8, 6]}


def history() -> list[WatchEvent]:
    """Every episode of a show and two movies, an hour apart: 24 watches."""
    start = datetime(2024, 1, 1, 20, tzinfo=UTC)
    events = [
        WatchEvent(kind="movie", title=t, season=None, episode=None, episode_title=None,
                   watched_at=start - timedelta(days=i + 1), source="page")
        for i, t in enumerate(["The Godfather", "Face/Off"])
    ]  # fmt: skip
    n = 0
    for title, sizes in SHOWS.items():
        for season, size in enumerate(sizes, start=1):
            for episode in range(1, size + 1):
                n += 1
                events.append(WatchEvent(
                    kind="episode", title=title, season=season, episode=episode,
                    episode_title=f"E{episode}", watched_at=start + timedelta(hours=n),
                    source="page"))  # fmt: skip
    return events


def expected(events: list[WatchEvent]) -> Counter:
    return Counter(
        (e.title, e.season, e.episode, e.watched_at.strftime("%Y-%m-%dT%H:%M:%SZ")) for e in events
    )


def command(data: Path) -> list[str]:
    return [sys.executable, "-m", "pv2simkl", "--data-dir", str(data), "push",
            "--max-plays", "2"]  # fmt: skip


@pytest.mark.slow
def test_sigkill_during_push_never_sends_a_watch_twice_nor_forgets_one(tmp_path: Path):
    events = history()
    data = tmp_path / "data"
    data.mkdir()
    store = Store(data / "pv2simkl.sqlite3")
    store.add_import(events, path="f", sha256="x", source="page")
    store.close()
    rng = random.Random(11)
    catalog = catalog_from_history(build_history(7, 60, "en-US"))
    with MockServices(catalog, limits=FAST) as services:
        env = {
            **os.environ,
            "PV2SIMKL_SIMKL_BASE_URL": services.base_urls["simkl"],
            "PV2SIMKL_SIMKL_CLIENT_ID": DEFAULT_KEYS["simkl"],
            "PV2SIMKL_SIMKL_ACCESS_TOKEN": services.keys["simkl_token"],
            "PV2SIMKL_OFFLINE": "0",  # the push goes to the mock; no metadata service is asked
            **{f"PV2SIMKL_{s}_ENABLED": "0" for s in ("SIMKL", "JIKAN", "IMDBAPI")},
        }
        killed = 0
        for _ in range(KILLS):
            proc = subprocess.Popen(command(data), env=env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)  # fmt: skip
            time.sleep(rng.uniform(0.8, 2.5))  # an instant to kill at, not a measurement
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                killed += 1
            proc.wait(timeout=60)
        posted_while_killed = len(services.synced)
        last = subprocess.run(command(data), env=env, capture_output=True, text=True,
                              timeout=300)  # fmt: skip
        assert last.returncode == 0, last.stderr
        held = Counter((p.title, p.season, p.episode, p.watched_at) for p in services.simkl_plays)
    assert killed >= KILLS // 2  # most runs really died mid-push
    assert posted_while_killed > 0
    assert held == expected(events)  # every watch exactly once
    db = sqlite3.connect(data / "pv2simkl.sqlite3")
    try:
        unpushed = db.execute("SELECT count(*) FROM events WHERE push_id IS NULL").fetchone()[0]
        in_flight = db.execute("SELECT count(*) FROM pushes WHERE state = 'in_flight'").fetchone()
    finally:
        db.close()
    assert unpushed == 0 and in_flight[0] == 0
