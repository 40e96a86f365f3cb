"""A fake monotonic clock for tests of anything that counts or waits in seconds.

Time moves only when something sleeps on it (or a test calls :meth:`FakeClock.advance`),
so rate windows, holds and Retry-After waits are checked exactly and instantly, whatever
the load of the machine. :func:`patch_mock_services` puts the same clock under the mock
metadata services, so that a client and the servers it talks to count the same seconds.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from fixtures.services import base as mock_services


class FakeClock:
    """``clock()`` is the time; ``clock.sleep(s)`` moves it on by ``s`` and records ``s``."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += max(0.0, seconds)

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass without anyone sleeping (a test standing for the world)."""
        with self._lock:
            self.now += seconds


class _TimeModule:
    """The ``time`` module with ``monotonic`` replaced by a fake clock."""

    def __init__(self, clock: FakeClock) -> None:
        self.monotonic = clock

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def patch_mock_services(monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> None:
    """Make the mock services' rate windows and request log count ``clock``'s seconds.

    The mock reads ``time.monotonic`` through its module's ``time`` name; only that name is
    replaced, never the real ``time`` module (httpx and threading keep real time).
    """
    assert mock_services.time is time or isinstance(mock_services.time, _TimeModule)
    monkeypatch.setattr(mock_services, "time", _TimeModule(clock))
