"""What every network client of pv2simkl shares: timeouts, retries, backoff, Retry-After.

A host that takes no connection (no network, a firewall that drops packets) is given
:data:`CONNECT_TIMEOUT` seconds, whatever the read timeout of the service: a run without
network ends in seconds, not minutes.

:func:`retrying` is the one retry loop of the program (metadata providers, Simkl's user
API, the Amazon session): an attempt that raises :class:`Retry` is tried again after the
server's ``Retry-After`` (:func:`retry_after`: seconds or an HTTP date) or a capped
exponential :class:`Backoff` with jitter; any other exception ends it at once. Each
caller passes its own ``sleep`` (a fake clock's in tests); :func:`no_backoff` switches
every wait off for a test and may cap the attempts. Kept free of httpx and requests so
that any module can read it without paying for them.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

CONNECT_TIMEOUT = 4.0  # seconds to open a connection (DNS, TCP, TLS handshake start)

T = TypeVar("T")


def connect_timeout(timeout: float) -> float:
    """The connect timeout for a client whose read timeout is ``timeout``."""
    return min(timeout, CONNECT_TIMEOUT)


class Retry(Exception):
    """One failed attempt worth another.

    ``wait`` is the server's Retry-After in seconds (None: the backoff decides),
    ``status`` the HTTP status that caused it, ``answer`` the response itself, for a
    caller that hands the last one on when every try failed.
    """

    def __init__(
        self, reason: str, *, wait: float | None = None, status: int | None = None,
        answer: Any = None,
    ) -> None:  # fmt: skip
        super().__init__(reason)
        self.reason, self.wait, self.status, self.answer = reason, wait, status, answer


@dataclass(frozen=True)
class Backoff:
    """Waits that double from ``initial`` up to ``maximum`` seconds, plus up to ``jitter``."""

    initial: float
    maximum: float
    jitter: float = 0.0

    def wait(self, retry: int) -> float:
        """Seconds before retry number ``retry`` (1 for the first)."""
        step = min(self.initial * 2.0 ** min(retry - 1, 64), self.maximum)
        return step + (random.uniform(0.0, self.jitter) if self.jitter else 0.0)  # noqa: S311


_testing: int | None = None  # set by no_backoff(): the cap on attempts (0: none)


@contextmanager
def no_backoff(attempts: int | None = None) -> Iterator[None]:
    """For tests: no retry waits at all (backoff nor Retry-After), and with ``attempts``
    no caller tries more often than that (fewer when it asks for fewer)."""
    global _testing
    old, _testing = _testing, attempts or 0
    try:
        yield
    finally:
        _testing = old


def retrying(
    attempt: Callable[[int], T], *, attempts: int, backoff: Backoff,
    sleep: Callable[[float], None] = time.sleep,
) -> T:  # fmt: skip
    """``attempt(1)``, ``attempt(2)`` … until one returns, and what it returned.

    An attempt that raises :class:`Retry` is tried again, after its ``wait`` or else the
    backoff's, slept through ``sleep``; after ``attempts`` tries that Retry is raised.
    Any other exception passes through at once (a POST that may have arrived, say).
    """
    testing = _testing
    if testing:
        attempts = min(attempts, testing)
    attempts = max(1, attempts)
    for n in range(1, attempts + 1):
        try:
            return attempt(n)
        except Retry as exc:
            if n >= attempts:
                raise
            if testing is None:
                sleep(backoff.wait(n) if exc.wait is None else exc.wait)
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds (a number, or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
