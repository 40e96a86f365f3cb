"""Simkl's user API: the PIN sign-in, ``POST /sync/history`` and ``GET /sync/all-items``.

The metadata lookups (search, ids) go through :mod:`pv2simkl.providers.simkl` with its
cache; this module is the other side of Simkl, the one that writes to a person's profile
and therefore needs their token. What it guarantees (reference §2.1–§2.3, §2.8, §2.9):

* every request names the app (``simkl-api-key`` header, ``app-name`` / ``app-version``)
  and carries a User-Agent; user calls add ``Authorization: Bearer <token>``;
* at most 1 POST per second and 10 GET per second per token, counted by its own
  limiters on the injected ``clock`` and waited on the injected ``sleep`` (a fake pair in
  tests, so limits are checked exactly and instantly);
* 429 and 5xx are retried a bounded number of times with exponential backoff and jitter,
  ``Retry-After`` honoured (a wait longer than :data:`MAX_RETRY_AFTER` is not slept
  through: the run stops and says so);
* a POST is never resent when it may have reached Simkl without an answer (a timeout
  after it left): the error says ``maybe_sent`` and the caller checks what Simkl holds;
* errors are :class:`~pv2simkl.errors.SimklApiError` (``SimklAuthError`` for a missing or
  refused token), one sentence each, and the token is never part of a message or a log.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx

from pv2simkl import __version__, net
from pv2simkl.errors import (
    ConfigError,
    SimklApiError,
    SimklAuthError,
    SimklLoginCancelled,
    SimklLoginError,
)

log = logging.getLogger(__name__)

APP_PARAMS = {"app-name": "pv2simkl", "app-version": __version__}
POST_LIMITS = [(1, 1.0)]  # 1 POST/s per token (reference §2.3)
GET_LIMITS = [(10, 1.0)]  # 10 GET/s per token
ATTEMPTS = 6
MAX_RETRY_AFTER = 300.0  # seconds; a longer Retry-After ends the run instead of a silent wait
BACKOFF = net.Backoff(initial=2.0, maximum=60.0, jitter=1.0)  # 2, 4, 8 … s (≤ 60) + ≤ 1 s
LOGIN_HINT = "log in again with `pv2simkl simkl login`"
KINDS = ("movies", "shows", "anime")
# Connection failures that prove the request never left: safe to send a POST again.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class SimklApi:
    """One person's Simkl session (``token`` may be None for the PIN sign-in itself).

    ``clock`` / ``sleep`` default to ``time.monotonic`` / ``time.sleep``.

    Not shared between processes; threads may share it (the limiters are thread-safe).
    """

    def __init__(
        self, base_url: str, client_id: str, token: str | None, *,
        clock: Callable[[], float] | None = None, sleep: Callable[[float], None] | None = None,
        timeout: float = 30.0, attempts: int = ATTEMPTS,
        transport: httpx.BaseTransport | None = None,
    ) -> None:  # fmt: skip
        if not client_id:
            raise ConfigError(
                "Simkl needs an app id: set [simkl] client_id (or PV2SIMKL_SIMKL_CLIENT_ID); "
                "get one at simkl.com/settings/developer."
            )
        self.base_url = base_url.rstrip("/")
        self._client_id = client_id
        self._token = token or None
        # Looked up now, not when the module was read, so a test can swap this module's
        # ``time`` for a fake clock under a command it runs in-process.
        self.clock = clock or time.monotonic
        self.sleep = sleep or time.sleep
        self.attempts = max(1, attempts)
        self.post_limiter = net.RateLimiter(POST_LIMITS, clock=self.clock, sleep=self.sleep)
        self.get_limiter = net.RateLimiter(GET_LIMITS, clock=self.clock, sleep=self.sleep)
        self.requests = 0  # answers received (429s and errors included)
        self.throttled = 0  # 429 answers
        headers = {"User-Agent": net.USER_AGENT, "Accept": "application/json",
                   "simkl-api-key": client_id}  # fmt: skip
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        self._client = httpx.Client(
            headers=headers, timeout=net.client_timeout(timeout), follow_redirects=False,
            transport=transport or net.shared_transport(),
        )  # fmt: skip

    def __repr__(self) -> str:
        signed = "with a token" if self._token else "without a token"
        return f"SimklApi({self.base_url!r}, {signed})"

    def close(self) -> None:
        self._client.close()

    def hurry(self, seconds: float) -> None:
        """One try, ``seconds`` to connect and to read: for ``doctor``'s quick check."""
        self.attempts = 1
        self._client.timeout = net.client_timeout(seconds)

    def __enter__(self) -> SimklApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def signed_in(self) -> bool:
        """Whether a token is at hand (not whether Simkl still accepts it: :meth:`check`)."""
        return self._token is not None

    # -- user endpoints ---------------------------------------------------------------
    def add_history(self, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /sync/history``: add watches; the reply (``added``, ``not_found``).

        ``body`` holds ``movies`` / ``shows`` / ``episodes`` as the reference §2.9 shows.
        """
        self._need_token()
        reply = self._request("POST", "/sync/history", json_body=body)
        return reply if isinstance(reply, dict) else {}

    def all_items(
        self, kind: str, status: str = "", date_from: str | None = None
    ) -> dict[str, Any] | None:
        """``GET /sync/all-items/{kind}/{status}`` with ``extended=full``: what Simkl holds.

        ``kind``: movies, shows or anime; ``status`` "" for every status; ``date_from``
        (UTC ISO) limits the answer to items changed since. None when Simkl has nothing.
        """
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
        self._need_token()
        path = f"/sync/all-items/{kind}" + (f"/{quote(status, safe='')}" if status else "")
        params = {"extended": "full", "date_from": date_from}
        reply = self._request("GET", path, params=params)
        return reply if isinstance(reply, dict) else None

    def check(self) -> dict[str, Any]:
        """``GET /sync/activities``: the cheapest call that proves the token works."""
        self._need_token()
        reply = self._request("GET", "/sync/activities")
        return reply if isinstance(reply, dict) else {}

    # -- PIN sign-in (no token yet) ---------------------------------------------------
    def pin_start(self) -> dict[str, Any]:
        """``GET /oauth/pin``: a ``user_code``, the address to enter it, interval, expiry."""
        reply = self._request("GET", "/oauth/pin", params={"client_id": self._client_id})
        return reply if isinstance(reply, dict) else {}

    def pin_poll(self, user_code: str) -> dict[str, Any]:
        """``GET /oauth/pin/{user_code}``: pending (``KO``), or ``OK`` with the token."""
        path = f"/oauth/pin/{quote(user_code, safe='')}"
        reply = self._request("GET", path, params={"client_id": self._client_id})
        return reply if isinstance(reply, dict) else {}

    # -- plumbing ---------------------------------------------------------------------
    def _need_token(self) -> None:
        if not self._token:
            raise SimklAuthError(
                "Not signed in to Simkl: run `pv2simkl simkl login` "
                "(or set PV2SIMKL_SIMKL_ACCESS_TOKEN on a server without a keyring)."
            )

    def _request(
        self, method: str, path: str, *, params: dict[str, Any] | None = None,
        json_body: Any = None,
    ) -> Any:  # fmt: skip
        """One call with the limiter and bounded retries; the JSON answer (None for null)."""
        query = {**APP_PARAMS, **{k: v for k, v in (params or {}).items() if v is not None}}
        try:
            return net.retrying(
                lambda _: self._attempt(method, path, query, json_body),
                attempts=self.attempts, backoff=BACKOFF, sleep=self.sleep,
            )  # fmt: skip
        except net.Retry as exc:
            where = f"{method} {path.split('?')[0]}"
            raise SimklApiError(
                f"Simkl did not take {where} after {self.attempts} tries ({exc.reason}); "
                "nothing is lost, try again later.",
                status=exc.status,
            ) from None

    def _attempt(self, method: str, path: str, query: dict[str, Any], body: Any) -> Any:
        limiter = self.post_limiter if method == "POST" else self.get_limiter
        limiter.acquire()
        try:
            r = self._client.request(method, self.base_url + path, params=query, json=body)
        except _NOT_SENT as exc:
            raise net.Retry(f"cannot connect ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            if method == "POST":  # it may have arrived: never send it blindly again
                raise SimklApiError(
                    f"Simkl did not answer {method} {path} ({type(exc).__name__}); it may "
                    "have been received, so it is checked before anything is sent again.",
                    maybe_sent=True,
                ) from None
            raise net.Retry(f"no answer ({type(exc).__name__})") from None
        self.requests += 1
        status = r.status_code
        log.debug("simkl %s %s → %s", method, path, status)
        if status == 429:
            self.throttled += 1
            wait = net.retry_after(r.headers.get("Retry-After"))
            if wait is not None and wait > MAX_RETRY_AFTER:
                raise SimklApiError(
                    f"Simkl asked to wait {wait:.0f} s before the next request; "
                    "nothing is lost, try again later.",
                    status=429,
                )
            if wait is not None:
                limiter.penalise(wait)  # other threads on this token hold back too
            raise net.Retry("429 Too Many Requests", status=429, wait=wait)
        if status >= 500:
            raise net.Retry(f"server error {status}", status=status)
        if status == 401:
            raise SimklAuthError(
                f"Simkl refused the sign-in ({_error_name(r) or 'HTTP 401'}): {LOGIN_HINT}.",
                status=401,
            )
        if status in (403, 412):
            raise SimklApiError(
                f"Simkl refused the app id ({_error_name(r) or f'HTTP {status}'}): check "
                "[simkl] client_id (PV2SIMKL_SIMKL_CLIENT_ID).",
                status=status,
            )
        if status not in (200, 201, 204):
            raise SimklApiError(
                f"Simkl answered {method} {path} with HTTP {status}"
                + (f" ({_error_name(r)})" if _error_name(r) else "") + ".",
                status=status,
            )  # fmt: skip
        if status == 204 or not r.content.strip():
            return None
        try:
            return r.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            if method == "POST":
                raise SimklApiError(
                    f"Simkl's answer to {method} {path} was not JSON; it may have been "
                    "received, so it is checked before anything is sent again.",
                    status=status, maybe_sent=True,
                ) from None  # fmt: skip
            raise net.Retry("malformed JSON", status=status) from None


def _error_name(r: httpx.Response) -> str:
    """Simkl's ``error`` field (branch on it, not on ``message``); "" when there is none."""
    try:
        body = r.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, str) else ""


# ---------------------------------------------------------------------------------------
# The PIN sign-in
# ---------------------------------------------------------------------------------------

SLOW_DOWN_STEP = 5.0  # seconds added to the interval each time Simkl says "Slow down"


def login(
    api: SimklApi, *, show: Callable[[str, str], None],
    clock: Callable[[], float] | None = None, sleep: Callable[[float], None] | None = None,
) -> str:  # fmt: skip
    """Simkl's PIN flow (reference §2.8) to a token; the caller stores it.

    Asks for a code, hands it and the address to ``show(user_code, url)``, then polls
    every ``interval`` seconds until the token comes or ``expires_in`` has passed. "Slow
    down" widens the interval; an answer that is a fresh code (Simkl's way of saying the
    old one is unknown or used) ends the flow. Ctrl-C raises
    :class:`~pv2simkl.errors.SimklLoginCancelled` (exit 130); nothing is stored either way.
    ``clock`` and ``sleep`` default to the api's.
    """
    clock = clock or api.clock
    sleep = sleep or api.sleep
    try:
        init = api.pin_start()
        code = init.get("user_code")
        if init.get("result") != "OK" or not isinstance(code, str) or not code:
            raise SimklLoginError(
                f"Simkl did not hand out a sign-in code ({init.get('message') or 'no code'}); "
                "check [simkl] client_id."
            )
        url = str(init.get("verification_url") or init.get("verification_uri")
                  or "https://simkl.com/pin")  # fmt: skip
        interval = _seconds(init.get("interval"), 5.0)
        expires_in = _seconds(init.get("expires_in"), 900.0)
        deadline = clock() + expires_in
        show(code, url)
        while clock() + interval <= deadline:
            sleep(interval)
            reply = api.pin_poll(code)
            token = reply.get("access_token")
            if reply.get("result") == "OK" and isinstance(token, str) and token:
                return token
            if "user_code" in reply or "device_code" in reply:
                raise SimklLoginError(
                    f"Simkl no longer knows the code {code} (expired or already used); "
                    "run `pv2simkl simkl login` again."
                )
            message = str(reply.get("message") or "")
            if "slow" in message.lower():
                interval += SLOW_DOWN_STEP
                log.info("Simkl asked to poll more slowly: every %.0f s now", interval)
        raise SimklLoginError(
            f"The code {code} expired before it was entered at {url}; "
            "run `pv2simkl simkl login` again."
        )
    except KeyboardInterrupt:
        raise SimklLoginCancelled("Sign-in to Simkl stopped; nothing was stored.") from None


def _seconds(value: Any, default: float) -> float:
    """A positive number of seconds from Simkl's JSON, else ``default``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if number > 0 else default
