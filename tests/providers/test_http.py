"""The shared HTTP layer against a real local server: limits, retries, cache, breaker."""

from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from pv2simkl.providers.http import (
    HttpClient,
    Offline,
    RateLimited,
    RateLimiter,
    ResponseCache,
    Unauthorized,
    Unavailable,
    parse_limits,
)
from pv2simkl.store import Store


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
    """A handler that answers 429 when more than ``calls`` requests arrive in ``seconds``."""

    def __init__(self, calls: int, seconds: float, retry_after: str | None = "1"):
        self.calls, self.seconds, self.retry_after = calls, seconds, retry_after
        self.accepted: list[float] = []
        self.refused = 0
        self.lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        now = time.monotonic()
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


def test_limiter_keeps_to_every_rate() -> None:
    limiter = RateLimiter([(5, 0.5), (8, 2.0)])
    stamps = []
    start = time.monotonic()
    for _ in range(12):
        limiter.acquire()
        stamps.append(time.monotonic() - start)
    for i in range(len(stamps) - 5):
        assert stamps[i + 5] - stamps[i] >= 0.5
    for i in range(len(stamps) - 8):
        assert stamps[i + 8] - stamps[i] >= 2.0


def test_concurrent_requests_never_trip_the_servers_limit(httpserver: HTTPServer) -> None:
    window = Window(10, 1.0)
    httpserver.expect_request("/search").respond_with_handler(window)
    c = client(httpserver, limits=[(10, 1.0)])
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda i: c.get("/search", {"q": str(i)}, cache=False), range(35)))
    assert [r.data["q"] for r in results] == [str(i) for i in range(35)]
    assert window.refused == 0
    assert c.stats.throttled == 0 and c.stats.requests == 35


@pytest.mark.parametrize("retry_after", ["1", None])
def test_429_is_retried_and_never_surfaces(httpserver: HTTPServer, retry_after: str | None) -> None:
    window = Window(3, 1.0, retry_after)
    httpserver.expect_request("/search").respond_with_handler(window)
    c = client(httpserver, limits=[(50, 1.0)], attempts=8)  # a limiter set too high
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: c.get("/search", {"q": str(i)}, cache=False), range(8)))
    assert len(results) == 8 and all(r.status == 200 for r in results)
    assert window.refused > 0 and c.stats.throttled == window.refused


def test_a_long_retry_after_defers_instead_of_sleeping(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/x").respond_with_response(
        Response("", 429, {"Retry-After": "2852"})
    )
    c = client(httpserver)
    start = time.monotonic()
    with pytest.raises(RateLimited, match="2852"):
        c.get("/x", cache=False)
    assert time.monotonic() - start < 5


def test_5xx_burst_then_success(httpserver: HTTPServer) -> None:
    answers = iter([Response("", 503), Response("", 502), Response('{"ok":1}', 200)])
    httpserver.expect_request("/x").respond_with_handler(lambda r: next(answers))
    c = client(httpserver)
    assert c.get("/x", cache=False).data == {"ok": 1}
    assert c.stats.retries == 2


def test_malformed_json_is_retried_then_unavailable(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/x").respond_with_data(
        '{"titles": [', content_type="application/json"
    )
    c = client(httpserver, attempts=2)
    with pytest.raises(Unavailable, match="malformed JSON"):
        c.get("/x", cache=False)


def test_timeout_is_bounded(httpserver: HTTPServer) -> None:
    def slow(request: Request) -> Response:
        time.sleep(1.5)
        return Response("{}", 200)

    httpserver.expect_request("/x").respond_with_handler(slow)
    c = client(httpserver, attempts=2, timeout=0.3)
    start = time.monotonic()
    with pytest.raises(Unavailable, match="timed out"):
        c.get("/x", cache=False)
    assert time.monotonic() - start < 5


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


def test_offline_sends_nothing(httpserver: HTTPServer, cache) -> None:
    httpserver.expect_request("/search").respond_with_json([])
    c = client(httpserver, cache=cache, offline=True)
    with pytest.raises(Offline):
        c.get("/search", {"q": "x"})
    assert httpserver.log == []


def test_breaker_pauses_a_failing_provider(httpserver: HTTPServer) -> None:
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
