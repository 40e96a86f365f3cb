"""The HTTP layer every metadata provider shares; the only module that imports httpx.

Per provider: one client (User-Agent, timeouts, the process's one connection pool), a
rate limiter shared by every thread that talks to that provider, bounded retries with
exponential backoff and jitter that honour ``Retry-After`` (those three from
:mod:`pv2simkl.net`), a response cache in the store with a time to live per kind of call
("not found" cached too), a circuit breaker that pauses a provider that keeps failing, and
typed errors. Order of the stack: cache (a hit spends no quota) → retry → rate limit →
network.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from pv2simkl.net import (
    USER_AGENT,
    Backoff,
    RateLimiter,
    Retry,
    client_timeout,
    retry_after,
    retrying,
    shared_transport,
)
from pv2simkl.providers.errors import (
    BadResponse,
    Offline,
    ProviderError,
    RateLimited,
    Unauthorized,
    Unavailable,
)

log = logging.getLogger(__name__)
# httpx logs every request URL at INFO, query keys included (OMDb's apikey, TMDB's
# api_key): never let those records through, whatever the root level (even --debug).
for _name in ("httpx", "httpcore"):
    logging.getLogger(_name).setLevel(logging.WARNING)

# Days a cached answer stays good, by kind of call.
TTL_DAYS = {"search": 14.0, "lookup": 90.0, "episodes": 14.0, "negative": 3.0}
MAX_RETRY_AFTER = 90.0  # longer waits are not slept through: the provider is left for this run
BACKOFF = Backoff(initial=0.5, maximum=20.0, jitter=0.5)


@dataclass
class CircuitBreaker:
    """Opens after ``threshold`` calls in a row failed; then the provider sits out the run."""

    threshold: int = 4
    failures: int = 0
    opened: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def success(self) -> None:
        with self._lock:
            self.failures = 0

    def failure(self) -> bool:
        """Count one failure; True when that opened the breaker."""
        with self._lock:
            self.failures += 1
            if not self.opened and self.failures >= self.threshold:
                self.opened = True
                return True
            return False


class ResponseCache:
    """Answers of the services, in the store's ``http_cache`` table; thread-safe.

    Its own SQLite connection (the store's belongs to the main thread), serialised by a
    lock; WAL lets it write beside the store.
    """

    def __init__(self, db_path: Path):
        self._conn = sqlite3.connect(str(db_path), timeout=30, check_same_thread=False)
        self._conn.execute("PRAGMA busy_timeout = 30000")
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[bool, Any]:
        with self._lock:
            row = self._conn.execute(
                "SELECT body, expires_at FROM http_cache WHERE key = ?", [key]
            ).fetchone()
        if row is None or row[1] < time.time():
            return False, None
        return True, json.loads(row[0])

    def put(self, key: str, provider: str, value: Any, ttl_days: float) -> None:
        now = time.time()
        with self._lock, self._conn:
            self._conn.execute(
                "INSERT OR REPLACE INTO http_cache (key, provider, body, fetched_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?)",
                [key, provider, json.dumps(value), now, now + ttl_days * 86400],
            )

    def delete(self, key: str) -> None:
        """Forget one entry (a secret an older version kept here, say)."""
        with self._lock, self._conn:
            self._conn.execute("DELETE FROM http_cache WHERE key = ?", [key])

    def close(self) -> None:
        with self._lock:
            self._conn.close()


@dataclass
class Stats:
    """What one provider's client did in this run."""

    requests: int = 0
    cache_hits: int = 0
    retries: int = 0
    throttled: int = 0  # 429 answers (each was retried)
    failures: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, n in counts.items():
                setattr(self, name, getattr(self, name) + n)


@dataclass
class Response:
    """What a provider sees of an answer."""

    status: int
    data: Any
    headers: Mapping[str, str]


class HttpClient:
    """One provider's way out: limiter, retries, cache, breaker, typed errors.

    ``secret_params`` are query parameters that carry a key: sent, but never part of a
    cache key or a log line. ``authenticate``, when a provider sets it, is called after a
    cache miss and before the request leaves, so that a login happens only when a request
    really goes out (a run answered from the cache never logs in). ``clock`` and ``sleep``
    are the rate limiter's (see :class:`RateLimiter`) and the retries' backoff.
    """

    def __init__(
        self, provider: str, base_url: str, *, limits: list[tuple[int, float]],
        headers: Mapping[str, str] | None = None, secret_params: Mapping[str, str] | None = None,
        timeout: float = 20.0, attempts: int = 6, cache: ResponseCache | None = None,
        offline: bool = False, transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
    ) -> None:  # fmt: skip
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self.limiter = RateLimiter(limits, clock=clock, sleep=sleep)
        self.sleep = sleep
        self.authenticate: Callable[[], None] | None = None
        self.breaker = CircuitBreaker()
        self._refused = 0
        self.cache = cache
        self.offline = offline
        self.attempts = max(1, attempts)
        self.secret_params = dict(secret_params or {})
        self.stats = Stats()
        self._client = httpx.Client(
            headers={"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})},
            timeout=client_timeout(timeout),
            follow_redirects=False,
            transport=transport or shared_transport(),
        )

    def close(self) -> None:
        self._client.close()

    def hurry(self, seconds: float) -> None:
        """One try, ``seconds`` to connect and to read: for a check whose answer is wanted
        now (``doctor``), not for work that may wait on a slow service."""
        self.attempts = 1
        self._client.timeout = client_timeout(seconds)

    def set_header(self, name: str, value: str) -> None:
        self._client.headers[name] = value

    def _cache_key(
        self, method: str, path: str, params: Mapping[str, Any] | None, body: Any
    ) -> str:
        query = sorted((k, str(v)) for k, v in (params or {}).items() if v is not None)
        return json.dumps([self.provider, method, path, query, body], ensure_ascii=False)

    def get(
        self, path: str, params: Mapping[str, Any] | None = None, *, kind: str = "search",
        cache: bool = True, ok: tuple[int, ...] = (200,),
    ) -> Response | None:  # fmt: skip
        """GET ``path``: the answer, or None when the service says "not found" (404).

        ``ok`` lists statuses returned as they are (``301`` for a redirect to read).
        """
        return self.request("GET", path, params, kind=kind, cache=cache, ok=ok)

    def request(
        self, method: str, path: str, params: Mapping[str, Any] | None = None, *,
        json_body: Any = None, kind: str = "search", cache: bool = True,
        ok: tuple[int, ...] = (200,), authenticate: bool = True,
    ) -> Response | None:  # fmt: skip
        """One call through the whole stack; ``authenticate=False`` for the login itself."""
        key = self._cache_key(method, path, params, json_body) if cache and self.cache else None
        if key:
            hit, value = self.cache.get(key)
            if hit:
                self.stats.add(cache_hits=1)
                return None if value is None else Response(value["status"], value["data"], {})
        if self.offline:
            raise Offline(self.provider, "offline mode and no cached answer")
        if self.breaker.opened:
            raise Unavailable(self.provider, "paused for this run after repeated failures")
        if authenticate and self.authenticate is not None:
            self.authenticate()
        try:
            response = self._send(method, path, params, json_body, ok)
        except Unauthorized:
            # Refused twice in a row (once may be an expired token, renewed by the provider):
            # the key will not work on the next call either.
            self._refused += 1
            if self._refused >= 2 and not self.breaker.opened:
                self.breaker.opened = True
                log.warning("%s refused the key: it is off for this run; see `pv2simkl doctor`",
                            self.provider)  # fmt: skip
            raise
        except ProviderError:
            if self.breaker.failure():
                log.warning("%s keeps failing: it is left out for the rest of this run",
                            self.provider)  # fmt: skip
            raise
        self.breaker.success()
        self._refused = 0
        if key:
            ttl = _ttl(kind, None if response is None else response.data)
            if response is None:
                self.cache.put(key, self.provider, None, ttl)
            elif ttl > 0:
                stored = {"status": response.status, "data": response.data}
                self.cache.put(key, self.provider, stored, ttl)
        return response

    def _send(
        self, method: str, path: str, params: Mapping[str, Any] | None, json_body: Any,
        ok: tuple[int, ...],
    ) -> Response | None:  # fmt: skip
        query = {k: v for k, v in (params or {}).items() if v is not None}
        query.update(self.secret_params)
        url = self.base_url + path

        def attempt(num: int) -> Response | None:
            if num > 1:
                self.stats.add(retries=1)
            return self._attempt(method, url, path, query, json_body, ok)

        try:
            return retrying(attempt, attempts=self.attempts, backoff=BACKOFF, sleep=self.sleep)
        except Retry as exc:
            self.stats.add(failures=1)
            if exc.status == 429:
                tries = self.attempts
                raise RateLimited(self.provider, f"still throttled after {tries} tries") from None
            raise Unavailable(
                self.provider, f"{exc.reason} (after {self.attempts} tries)"
            ) from None

    def _attempt(
        self, method: str, url: str, path: str, query: dict[str, Any], json_body: Any,
        ok: tuple[int, ...],
    ) -> Response | None:  # fmt: skip
        self.limiter.acquire()
        self.stats.add(requests=1)
        try:
            r = self._client.request(method, url, params=query, json=json_body)
        except httpx.TimeoutException:
            raise Retry("timed out") from None
        except httpx.TransportError as exc:
            raise Retry(f"cannot connect ({type(exc).__name__})") from None
        status = r.status_code
        log.debug("%s %s %s → %s", self.provider, method, path, status)
        if status == 403 and b"dos detected" in r.content[:500].lower():
            status = 429  # MyAnimeList's way of saying "too many requests"
        if status == 429:
            self.stats.add(throttled=1)
            wait = retry_after(r.headers.get("Retry-After"))
            if wait is not None and wait > MAX_RETRY_AFTER:
                self.stats.add(failures=1)
                raise RateLimited(
                    self.provider, f"asked to wait {wait:.0f} s; left for the next run"
                )
            # Hold every thread of this provider back, not just this one.
            self.limiter.penalise(1.0 if wait is None else wait)
            raise Retry("429 Too Many Requests", wait=0.0, status=429)
        if status >= 500:
            raise Retry(f"server error {status}", status=status)
        if status in ok:
            return Response(status, _json(r, self.provider) if status == 200 else None, r.headers)
        if status == 404:
            return None
        if status in (401, 403, 412):
            raise Unauthorized(self.provider, _describe(r, "the key was refused"))
        raise BadResponse(self.provider, _describe(r, f"unexpected status {status}"))


_EMPTY_KEYS = ("results", "data", "titles", "Search")


def _ttl(kind: str, data: Any) -> float:
    """Days to keep an answer: "nothing found" briefly, an error inside a 200 not at all."""
    if data is None or data == [] or data == {}:
        return TTL_DAYS["negative"]
    if isinstance(data, dict):
        error = data.get("Error")
        if data.get("Response") == "False" and isinstance(error, str):
            return TTL_DAYS["negative"] if "not found" in error.lower() else 0.0
        if any(k in data and not data[k] for k in _EMPTY_KEYS):
            return TTL_DAYS["negative"]
    return TTL_DAYS.get(kind, 14.0)


def _json(r: httpx.Response, provider: str) -> Any:
    try:
        return r.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise Retry("malformed JSON") from None


def _describe(r: httpx.Response, default: str) -> str:
    """The service's own error text (never the request, which may hold a key)."""
    try:
        body = r.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return f"{default} (HTTP {r.status_code})"
    if isinstance(body, dict):
        for key in ("status_message", "message", "Error", "error"):
            if isinstance(body.get(key), str) and body[key]:
                return f"{body[key]} (HTTP {r.status_code})"
    return f"{default} (HTTP {r.status_code})"
