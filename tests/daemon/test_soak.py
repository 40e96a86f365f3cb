"""A few dozen scheduler cycles with faults (the long soak is bench/soak.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import soak
from pv2simkl.providers import http
from tests.fake_clock import FakeClock


@pytest.fixture
def accelerated(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The soak's accelerated clock, down to the providers' rate limiters.

    A forced 429 holds a provider back for its Retry-After second; on the fake clock that
    hold is kept exactly (the retry waits for it) but costs no real time. The mock's own
    windows are far above what a cycle sends, so they never depend on the clock.
    """
    clock = FakeClock()

    class Limiter(http.RateLimiter):
        def __init__(self, limits: list[tuple[int, float]], margin: float = 0.05, **_) -> None:
            super().__init__(limits, margin, clock=clock, sleep=clock.sleep)

    monkeypatch.setattr(http, "RateLimiter", Limiter)
    return clock


@pytest.mark.slow
def test_cycles_with_faults_export_every_good_event_once(
    tmp_path: Path, accelerated: FakeClock
) -> None:
    result = soak.run(tmp_path / "soak", 24, verbose=False)
    assert result["problems"] == [] and result["integrity_ok"]
    assert result["new_events_added"] == 24 and result["events"] > 200  # one new watch a cycle
    assert result["failed_inbox_files"] == 5  # every malformed drop, with its reason
    assert result["step_errors_absorbed"].get("export", 0) >= 2  # the blocked export folder
    assert accelerated.sleeps  # the forced 429s were waited out, on the fake clock
