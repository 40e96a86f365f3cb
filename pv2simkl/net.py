"""What every network client of pv2simkl shares: timeouts, retries, rate limits, one pool.

A host that takes no connection (no network, a firewall that drops packets) is given
:data:`CONNECT_TIMEOUT` seconds, whatever the read timeout of the service: a run without
network ends in seconds, not minutes.

:func:`retrying` is the one retry loop of the program (metadata providers, Simkl's user
API, the Amazon session): an attempt that raises :class:`Retry` is tried again after the
server's ``Retry-After`` (:func:`retry_after`: seconds or an HTTP date) or a capped
exponential :class:`Backoff` with jitter; any other exception ends it at once. Each
caller passes its own ``sleep`` (a fake clock's in tests); :func:`no_backoff` switches
every wait off for a test and may cap the attempts.

The httpx clients (metadata providers, Simkl's user API) share one connection pool
(:func:`shared_transport`, one TLS context), a User-Agent and their timeouts, and count
their calls with a :class:`RateLimiter` each. Kept free of httpx and requests at import
(httpx is loaded by the functions that build its objects) so that any module can read it
without paying for them.
"""

from __future__ import annotations

import functools
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from pv2simkl import __version__

if TYPE_CHECKING:
    import ssl

    import httpx

CONNECT_TIMEOUT = 4.0  # seconds to open a connection (DNS, TCP, TLS handshake start)
USER_AGENT = f"pv2simkl/{__version__}"

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

    tenacity runs the loop: unlike stamina's, its sleep can be a fake clock's, and the
    wait can come from the failed attempt (the server's Retry-After).
    """
    import tenacity  # not at import: a command that sends nothing does not pay for it

    testing = _testing
    if testing:
        attempts = min(attempts, testing)

    def wait(state: tenacity.RetryCallState) -> float:
        failed = state.outcome.exception() if state.outcome else None
        if testing is not None:
            return 0.0
        if isinstance(failed, Retry) and failed.wait is not None:
            return failed.wait
        return backoff.wait(state.attempt_number)

    retryer = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(max(1, attempts)), wait=wait,
        retry=tenacity.retry_if_exception_type(Retry), reraise=True,
        sleep=sleep if testing is None else (lambda _seconds: None),
    )  # fmt: skip
    for trying in retryer:
        with trying:
            return attempt(trying.retry_state.attempt_number)
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


# ---- the connection pool and the rate limits every client shares --------------------------


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The TLS settings every client shares (httpx's own: certifi, or ``SSL_CERT_FILE``).

    Built once, when the first client is made: loading the CA bundle takes tens of
    milliseconds, and each sync builds a client per provider.
    """
    import httpx

    return httpx.create_ssl_context()


def client_timeout(timeout: float) -> httpx.Timeout:
    """``timeout`` seconds to read, a few to connect (:data:`CONNECT_TIMEOUT`): a host that
    takes no connection is given up on quickly, a slow answer is waited for."""
    import httpx

    return httpx.Timeout(timeout, connect=connect_timeout(timeout))


@functools.cache
def shared_transport() -> httpx.BaseTransport:
    """The process's one HTTP connection pool (one TLS context, keep-alive connections
    shared by every provider and the Simkl client), made when it is first needed. A
    client's ``close`` leaves it open for the others (the process ending closes it)."""
    import httpx

    class SharedTransport(httpx.BaseTransport):
        def __init__(self, inner: httpx.BaseTransport):
            self.inner = inner

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            return self.inner.handle_request(request)

        def close(self) -> None:
            """Kept open: other clients share it."""

    limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
    return SharedTransport(httpx.HTTPTransport(verify=tls_context(), limits=limits))


class RateLimiter:
    """Sliding-window limiter for several ``(calls, seconds)`` rates at once; thread-safe.

    A sliding window rather than a token bucket: it never lets a burst through that a
    server counting requests per window would refuse. ``margin`` widens each window a
    little, because requests reach the server later than they leave here. ``clock`` and
    ``sleep`` are the time it counts in and the way it waits (a fake pair in tests, so that
    windows are checked exactly, not against a loaded machine's scheduling).
    """

    def __init__(
        self, limits: list[tuple[int, float]], margin: float = 0.05, *,
        clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
    ) -> None:  # fmt: skip
        self.limits = [(calls, window(seconds, margin)) for calls, seconds in limits]
        self.clock = clock
        self.sleep = sleep
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()
        self._hold_until = 0.0
        self.waited = 0.0

    @property
    def rate(self) -> float:
        """Calls a second this limiter lets through when kept busy: its tightest rate
        (``"10/1, 1000/86400"`` → 0.0116, a daily quota being the budget of the day).
        Unlimited (no rates) counts as a generous 100/s."""
        return min((calls / seconds for calls, seconds in self.limits), default=100.0)

    def acquire(self) -> float:
        """Block until one more call fits every rate, then count it; the time it counted."""
        while True:
            with self._lock:
                now = self.clock()
                wait = self._wait(now)
                if wait <= 0:
                    self._sent.append(now)
                    return now
                self.waited += wait
            self.sleep(wait)

    def backlog(self) -> float:
        """Seconds until one more call would fit (0 when one fits now): how far the window
        is already spent, which a planner adds to what it is about to ask."""
        with self._lock:
            return max(0.0, self._wait(self.clock()))

    def _wait(self, now: float) -> float:
        """Seconds until one more call fits every rate and the hold; lock held."""
        keep = max((s for _, s in self.limits), default=0.0)
        while self._sent and now - self._sent[0] > keep:
            self._sent.popleft()
        wait = self._hold_until - now
        for calls, seconds in self.limits:
            if len(self._sent) >= calls:
                oldest = self._sent[-calls]
                wait = max(wait, oldest + seconds - now)
        return wait

    def penalise(self, seconds: float) -> None:
        """After a 429: hold every thread back for ``seconds``."""
        with self._lock:
            self._hold_until = max(self._hold_until, self.clock() + seconds)


def window(seconds: float, margin: float) -> float:
    """A server's window of ``seconds`` as the limiter counts it: ``margin`` wider, + 5 ms."""
    return seconds * (1 + margin) + 0.005
