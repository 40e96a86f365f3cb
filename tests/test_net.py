"""The one retry loop (``pv2simkl.net.retrying``) on a fake sleep: what it waits, how often it
tries, and what it lets through at once."""

from __future__ import annotations

import pytest

from pv2simkl import net

BACKOFF = net.Backoff(initial=2.0, maximum=8.0)  # no jitter: the waits are exact


def _failing(times: int, *, wait: float | None = None, then: str = "done"):
    calls: list[int] = []

    def attempt(n: int) -> str:
        calls.append(n)
        if len(calls) <= times:
            raise net.Retry(f"try {n} failed", wait=wait)
        return then

    return attempt, calls


def test_waits_double_up_to_the_cap_between_tries() -> None:
    slept: list[float] = []
    attempt, calls = _failing(4)
    assert net.retrying(attempt, attempts=6, backoff=BACKOFF, sleep=slept.append) == "done"
    assert calls == [1, 2, 3, 4, 5]
    assert slept == [2.0, 4.0, 8.0, 8.0]


def test_the_servers_retry_after_wins_over_the_backoff() -> None:
    slept: list[float] = []
    attempt, _ = _failing(2, wait=0.5)
    net.retrying(attempt, attempts=3, backoff=BACKOFF, sleep=slept.append)
    assert slept == [0.5, 0.5]


def test_the_last_retry_is_raised_after_every_try() -> None:
    slept: list[float] = []
    attempt, calls = _failing(10)
    with pytest.raises(net.Retry, match="try 3 failed"):
        net.retrying(attempt, attempts=3, backoff=BACKOFF, sleep=slept.append)
    assert calls == [1, 2, 3] and slept == [2.0, 4.0]


def test_any_other_error_ends_the_loop_at_once() -> None:
    calls: list[int] = []

    def attempt(n: int) -> str:
        calls.append(n)
        raise TimeoutError("the POST may have arrived")

    with pytest.raises(TimeoutError):
        net.retrying(attempt, attempts=5, backoff=BACKOFF, sleep=lambda s: None)
    assert calls == [1]


def test_no_backoff_sleeps_nothing_and_caps_the_tries() -> None:
    slept: list[float] = []
    attempt, calls = _failing(10, wait=30.0)
    with net.no_backoff(attempts=2), pytest.raises(net.Retry):
        net.retrying(attempt, attempts=6, backoff=BACKOFF, sleep=slept.append)
    assert calls == [1, 2] and slept == []


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("3", 3.0),
        ("1.5", 1.5),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
        ("soon", None),
        (None, None),
    ],
)
def test_retry_after_reads_seconds_and_http_dates(header: str | None, seconds) -> None:
    # A date in the past means "now": no negative wait.
    assert net.retry_after(header) == seconds
