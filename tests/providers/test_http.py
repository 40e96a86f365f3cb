"""The shared HTTP layer against a real local server: limits, retries, cache, breaker.

Limits and waits are counted on a fake clock shared by the client and the server's
window, so every check is exact and none depends on how loaded the machine is.
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from pv2simkl.config import parse_limits
from pv2simkl.net import RateLimiter, tls_context
from pv2simkl.providers.errors import Offline, RateLimited, Unauthorized, Unavailable
from pv2simkl.providers.http import MAX_RETRY_AFTER, HttpClient, ResponseCache
from pv2simkl.store import Store
from tests.fake_clock import FakeClock


@pytest.fixture
def cache(tmp_path: Path) -> ResponseCache:
    Store(tmp_path / "s.sqlite3").close()  # creates the http_cache table
    c = ResponseCache(tmp_path / "s.sqlite3")
    yield c
    c.close()


def client(server: HTTPServer, **kw) -> HttpClient:
    kw.setdefault("limits", [(100, 1.0)])
    kw.setdefault("attempts", 4)
    return HttpClient("svc", server.url_for("/"), **kw)


class Window:
    """A handler that answers 429 when more than ``calls`` requests arrive in ``seconds``.

    It counts on ``clock``, the client's own fake clock: the server sees each request at
    the instant the client's limiter let it go, so a refusal means the limiter was wrong.
    """

    def __init__(self, clock: FakeClock, calls: int, seconds: float, retry_after: str | None):
        self.clock, self.calls, self.seconds, self.retry_after = clock, calls, seconds, retry_after
        self.accepted: list[float] = []
        self.refused = 0
        self.lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        now = self.clock()
        with self.lock:
            recent = [t for t in self.accepted if now - t < self.seconds]
            if len(recent) >= self.calls:
                self.refused += 1
                headers = {"Retry-After": self.retry_after} if self.retry_after else {}
                return Response('{"error":"slow down"}', 429, headers)
            self.accepted.append(now)
        return Response(json.dumps({"q": request.args.get("q")}), 200,
                        content_type="application/json")  # fmt: skip


def test_parse_limits() -> None:
    assert parse_limits("3/1, 60/60") == [(3, 1.0), (60, 60.0)]
    assert parse_limits("10/1s") == [(10, 1.0)]
    with pytest.raises(ValueError):
        parse_limits("ten per second")


def test_limiter_keeps_to_every_rate_and_waits_no_longer(clock: FakeClock) -> None:
    limiter = RateLimiter([(5, 0.5), (8, 2.0)], clock=clock, sleep=clock.sleep)
    stamps = [limiter.acquire() for _ in range(20)]
    assert stamps[:5] == [1000.0] * 5 and clock.sleeps[0] == pytest.approx(0.53)
    # Each call goes at the first instant every window (widened 5 % + 5 ms) allows.
    for i in range(5, len(stamps)):
        earliest = max(stamps[i - 5] + 0.53, stamps[i - 8] + 2.105 if i >= 8 else 0.0)
        assert stamps[i] == pytest.approx(earliest)


@pytest.mark.parametrize(("margin", "third"), [(0.0, 1.005), (0.05, 1.055), (0.2, 1.205)])
def test_margin_widens_the_window(clock: FakeClock, margin: float, third: float) -> None:
    limiter = RateLimiter([(2, 1.0)], margin, clock=clock, sleep=clock.sleep)
    stamps = [limiter.acquire() - 1000.0 for _ in range(3)]
    assert stamps == [0.0, 0.0, pytest.approx(third)]


def test_penalise_holds_every_caller_back_and_never_shortens(clock: FakeClock) -> None:
    limiter = RateLimiter([(100, 1.0)], clock=clock, sleep=clock.sleep)
    limiter.acquire()
    limiter.penalise(5.0)
    limiter.penalise(1.0)  # a shorter hold asked later does not cut the first one short
    assert limiter.acquire() == pytest.approx(1005.0)
    assert limiter.acquire() == pytest.approx(1005.0)  # the hold is over: no more waiting
    assert clock.sleeps == [pytest.approx(5.0)] and limiter.waited == pytest.approx(5.0)


def test_limiter_shared_by_threads_never_lets_a_burst_through(clock: FakeClock) -> None:
    limiter = RateLimiter([(10, 1.0), (25, 5.0)], clock=clock, sleep=clock.sleep)
    with ThreadPoolExecutor(16) as pool:
        stamps = sorted(pool.map(lambda _: limiter.acquire(), range(80)))
    assert len(stamps) == 80
    assert min(b - a for a, b in zip(stamps, stamps[10:], strict=False)) == pytest.approx(1.055)
    assert min(b - a for a, b in zip(stamps, stamps[25:], strict=False)) >= 5.255 - 1e-9


def test_requests_never_trip_the_servers_limit(httpserver: HTTPServer, clock) -> None:
    window = Window(clock, 10, 1.0, "1")
    httpserver.expect_request("/search").respond_with_handler(window)
    c = client(httpserver, limits=[(10, 1.0)], clock=clock, sleep=clock.sleep)
    results = [c.get("/search", {"q": str(i)}, cache=False) for i in range(35)]
    assert [r.data["q"] for r in results] == [str(i) for i in range(35)]
    assert window.refused == 0 and len(clock.sleeps) == 3  # 35 calls: three full windows
    assert c.stats.throttled == 0 and c.stats.requests == 35


@pytest.mark.parametrize(("retry_after", "wait"), [("2", 2.0), (None, 1.0)])
def test_429_is_retried_after_the_servers_wait(
    httpserver: HTTPServer, clock, no_backoff, retry_after: str | None, wait: float
) -> None:
    window = Window(clock, 3, 1.0, retry_after)
    httpserver.expect_request("/search").respond_with_handler(window)
    c = client(httpserver, limits=[(50, 1.0)], attempts=8, clock=clock, sleep=clock.sleep)
    results = [c.get("/search", {"q": str(i)}, cache=False) for i in range(8)]
    assert [r.status for r in results] == [200] * 8
    assert window.refused == 2 and c.stats.throttled == 2  # calls 4 and 7
    assert clock.sleeps == [pytest.approx(wait)] * 2  # Retry-After, else one second


def test_retry_after_as_an_http_date_is_honoured(httpserver: HTTPServer, clock, no_backoff):
    answers = iter([
        Response("", 429, {"Retry-After": "Sun, 29 Nov 2026 12:00:30 GMT"}),
        Response('{"ok":1}', 200, content_type="application/json"),
    ])  # fmt: skip
    httpserver.expect_request("/x").respond_with_handler(lambda r: next(answers))
    c = client(httpserver, clock=clock, sleep=clock.sleep)
    with time_machine.travel(datetime(2026, 11, 29, 12, 0, tzinfo=UTC), tick=False):
        assert c.get("/x", cache=False).data == {"ok": 1}
    assert clock.sleeps == [pytest.approx(30.0)]


def test_a_retry_after_up_to_the_cap_is_slept_through(httpserver: HTTPServer, clock, no_backoff):
    answers = iter([Response("", 429, {"Retry-After": str(int(MAX_RETRY_AFTER))}),
                    Response('{"ok":1}', 200, content_type="application/json")])  # fmt: skip
    httpserver.expect_request("/x").respond_with_handler(lambda r: next(answers))
    c = client(httpserver, clock=clock, sleep=clock.sleep)
    assert c.get("/x", cache=False).data == {"ok": 1}
    assert clock.sleeps == [pytest.approx(MAX_RETRY_AFTER)]


def test_a_long_retry_after_defers_instead_of_sleeping(httpserver: HTTPServer, clock) -> None:
    httpserver.expect_request("/x").respond_with_response(
        Response("", 429, {"Retry-After": "2852"})
    )
    c = client(httpserver, clock=clock, sleep=clock.sleep)
    with pytest.raises(RateLimited, match="2852"):
        c.get("/x", cache=False)
    assert len(httpserver.log) == 1  # no retry, and no backoff wait either
    c.limiter.acquire()
    assert clock.sleeps == [] and c.limiter.waited == 0  # and no hold left on the limiter


def test_5xx_burst_then_success(httpserver: HTTPServer, no_backoff) -> None:
    answers = iter([Response("", 503), Response("", 502), Response('{"ok":1}', 200)])
    httpserver.expect_request("/x").respond_with_handler(lambda r: next(answers))
    c = client(httpserver)
    assert c.get("/x", cache=False).data == {"ok": 1}
    assert c.stats.retries == 2


def test_malformed_json_is_retried_then_unavailable(httpserver: HTTPServer, no_backoff) -> None:
    httpserver.expect_request("/x").respond_with_data(
        '{"titles": [', content_type="application/json"
    )
    c = client(httpserver, attempts=2)
    with pytest.raises(Unavailable, match="malformed JSON"):
        c.get("/x", cache=False)


def test_timeout_is_bounded(httpserver: HTTPServer, no_backoff) -> None:
    answer = threading.Event()

    def slow(request: Request) -> Response:
        answer.wait(30)  # far beyond the client's timeout: only a timeout ends the wait
        return Response("{}", 200)

    httpserver.expect_request("/x").respond_with_handler(slow)
    c = client(httpserver, attempts=2, timeout=0.3)
    try:
        with pytest.raises(Unavailable, match="timed out"):
            c.get("/x", cache=False)
    finally:
        answer.set()
    assert c.stats.requests == 2 and c.stats.retries == 1


def test_bad_key_is_unauthorized_with_the_services_words_and_no_secret(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    body = '{"status_code":7,"status_message":"Invalid API key: You must be granted a valid key."}'
    httpserver.expect_request("/x").respond_with_data(body, status=401)
    c = client(httpserver, secret_params={"api_key": "SECRET-123"}, headers={"X-Key": "HDR-456"})
    caplog.set_level(logging.DEBUG)
    with pytest.raises(Unauthorized) as err:
        c.get("/x", cache=False)
    assert "Invalid API key" in str(err.value)
    ours = [r.getMessage() for r in caplog.records if not r.name.startswith("werkzeug")]
    text = str(err.value) + "\n".join(ours)
    assert "SECRET-123" not in text and "HDR-456" not in text
    sent = [req.args.get("api_key") for req, _ in httpserver.log]
    assert "SECRET-123" in sent  # it was sent, just never shown


def test_cache_serves_the_second_call_and_keys_stay_out(httpserver: HTTPServer, cache) -> None:
    httpserver.expect_request("/search").respond_with_json([{"id": 1}])
    httpserver.expect_request("/missing").respond_with_data("", status=404)
    c = client(httpserver, cache=cache, secret_params={"api_key": "SECRET-123"})
    assert c.get("/search", {"q": "Dune"}).data == [{"id": 1}]
    assert c.get("/search", {"q": "Dune"}).data == [{"id": 1}]
    assert c.get("/missing") is None and c.get("/missing") is None  # "not found" cached too
    assert len(httpserver.log) == 2 and c.stats.cache_hits == 2
    rows = cache._conn.execute("SELECT key, body FROM http_cache").fetchall()
    assert rows and not any("SECRET-123" in k + b for k, b in rows)


def test_not_found_is_cached_three_days_an_answer_two_weeks(httpserver: HTTPServer, cache):
    httpserver.expect_request("/missing").respond_with_data("", status=404)
    httpserver.expect_request("/search").respond_with_json([{"id": 1}])
    c = client(httpserver, cache=cache)
    with time_machine.travel(datetime(2026, 1, 1, 12, tzinfo=UTC), tick=False) as traveller:
        assert c.get("/missing") is None and c.get("/search", {"q": "Dune"}) is not None
        traveller.shift(timedelta(days=2, hours=23))
        assert c.get("/missing") is None and c.get("/search", {"q": "Dune"}) is not None
        assert len(httpserver.log) == 2  # both still cached
        traveller.shift(timedelta(hours=2))
        assert c.get("/missing") is None and len(httpserver.log) == 3  # asked again
        traveller.shift(timedelta(days=11))
        c.get("/search", {"q": "Dune"})
        assert len(httpserver.log) == 4  # fourteen days on: asked again


def test_offline_sends_nothing(httpserver: HTTPServer, cache) -> None:
    httpserver.expect_request("/search").respond_with_json([])
    c = client(httpserver, cache=cache, offline=True)
    with pytest.raises(Offline):
        c.get("/search", {"q": "x"})
    assert httpserver.log == []


def test_breaker_pauses_a_failing_provider(httpserver: HTTPServer, no_backoff) -> None:
    httpserver.expect_request("/x").respond_with_data("", status=500)
    c = client(httpserver, attempts=1)
    for _ in range(4):
        with pytest.raises(Unavailable):
            c.get("/x", cache=False)
    sent = len(httpserver.log)
    with pytest.raises(Unavailable, match="paused"):
        c.get("/x", cache=False)
    assert len(httpserver.log) == sent


def test_redirect_is_not_followed(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/redirect").respond_with_response(
        Response("", 301, {"Location": "https://simkl.com/movies/53536/the-godfather"})
    )
    r = client(httpserver).get("/redirect", {"imdb": "tt0068646"}, ok=(301,), cache=False)
    assert r.status == 301 and r.headers["Location"].endswith("/53536/the-godfather")


def test_every_client_shares_one_tls_context_that_verifies() -> None:
    # Loading the CA bundle costs tens of milliseconds; a sync builds a client per provider.
    context = tls_context()
    assert context is tls_context()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
