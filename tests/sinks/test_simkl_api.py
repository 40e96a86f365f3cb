"""The Simkl user API client (pv2simkl/sinks/simkl_api.py) against the mock Simkl.

The client and the mock count the same fake seconds (tests/fake_clock.py), so "1 POST
per second", Retry-After and backoff waits are checked exactly, never against the
machine's speed. Transport failures the mock cannot stage come from httpx's
MockTransport.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from fixtures.generator import build_history
from fixtures.services import DEFAULT_KEYS, MockServices
from fixtures.services.catalog import Catalog, catalog_from_history
from pv2simkl.errors import SimklApiError, SimklAuthError
from pv2simkl.sinks.simkl_api import SimklApi
from tests.fake_clock import FakeClock, patch_mock_services

TOKEN = DEFAULT_KEYS["simkl_token"]
CLIENT_ID = DEFAULT_KEYS["simkl"]
MOVIE = {"title": "Der Pate", "ids": {"imdb": "tt0068646"}, "watched_at": "2026-05-14T20:00:00Z"}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return catalog_from_history(build_history(3, 200))


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    patch_mock_services(monkeypatch, fake)
    return fake


@pytest.fixture
def mock(catalog: Catalog, clock: FakeClock) -> Iterator[MockServices]:
    with MockServices(catalog) as services:
        yield services


def client(mock: MockServices, clock: FakeClock, token: str | None = TOKEN) -> SimklApi:
    return SimklApi(mock.base_urls["simkl"], CLIENT_ID, token, clock=clock, sleep=clock.sleep)


def test_one_post_per_second_and_what_each_request_carries(
    mock: MockServices, clock: FakeClock
) -> None:
    with client(mock, clock) as api:
        replies = [api.add_history({"movies": [MOVIE]}) for _ in range(4)]
    assert all(r["added"]["movies"] == 1 for r in replies)
    posts = mock.requests("simkl", path_prefix="/sync/history")
    assert [p.status for p in posts] == [201] * 4  # never over the limit: no 429
    gaps = [b.t - a.t for a, b in zip(posts, posts[1:], strict=False)]
    assert all(1.0 <= gap < 1.1 for gap in gaps), gaps
    first = posts[0]
    assert first.headers["authorization"] == f"Bearer {TOKEN}"
    assert first.headers["simkl-api-key"] == CLIENT_ID
    assert first.headers["user-agent"].startswith("pv2simkl/")
    assert first.query["app-name"] == "pv2simkl" and "app-version" in first.query
    assert len(mock.simkl_plays) == 4  # each watch sent once per call, duplicates kept


def test_429_is_retried_after_retry_after(mock: MockServices, clock: FakeClock) -> None:
    mock.fault("simkl", "429", path_prefix="/sync/history")
    with client(mock, clock) as api:
        reply = api.add_history({"movies": [MOVIE]})
        assert reply["added"]["movies"] == 1 and api.throttled == 1
    assert [p.status for p in mock.requests("simkl", path_prefix="/sync")] == [429, 201]
    assert 1.0 in clock.sleeps  # the Retry-After: 1 it was told
    assert len(mock.simkl_plays) == 1


def test_a_second_client_on_the_same_token_meets_the_servers_limit(
    mock: MockServices, clock: FakeClock
) -> None:
    with client(mock, clock) as one, client(mock, clock) as two:
        one.add_history({"movies": [MOVIE]})
        two.add_history({"movies": [MOVIE]})  # its own limiter knew nothing: the mock 429s
        assert two.throttled == 1
    statuses = [p.status for p in mock.requests("simkl", path_prefix="/sync")]
    assert statuses == [201, 429, 201] and len(mock.simkl_plays) == 2


def test_5xx_retried_with_backoff_then_given_up(mock: MockServices, clock: FakeClock) -> None:
    mock.fault("simkl", "502", times=2, path_prefix="/sync/history")
    with client(mock, clock) as api:
        assert api.add_history({"movies": [MOVIE]})["added"]["movies"] == 1
        backoff = [s for s in clock.sleeps if s >= 2]
        assert len(backoff) == 2 and 2 <= backoff[0] <= 3 and 4 <= backoff[1] <= 5
        mock.fault("simkl", "503", times=10, path_prefix="/sync/history")
        with pytest.raises(SimklApiError) as err:
            api.add_history({"movies": [MOVIE]})
    assert "after 6 tries (server error 503)" in str(err.value)
    assert err.value.exit_code == 17 and not err.value.maybe_sent
    assert mock.count("simkl", path_prefix="/sync/history") == 3 + 6


def test_401_says_log_in_again_without_the_token(mock: MockServices, clock: FakeClock) -> None:
    secret = "revoked-token-0123456789"
    with client(mock, clock, token=secret) as api, pytest.raises(SimklAuthError) as err:
        api.add_history({"movies": [MOVIE]})
    message = str(err.value)
    assert message == (
        "Simkl refused the sign-in (user_token_failed): log in again with `pv2simkl simkl login`."
    )
    assert secret not in message + repr(api) and err.value.exit_code == 18
    assert mock.count("simkl") == 1  # a 401 is not retried


def test_no_token_sends_nothing(mock: MockServices, clock: FakeClock) -> None:
    with client(mock, clock, token=None) as api, pytest.raises(SimklAuthError) as err:
        api.all_items("shows")
    assert "run `pv2simkl simkl login`" in str(err.value) and mock.count("simkl") == 0


def test_all_items_asks_for_full_since_a_date(mock: MockServices, clock: FakeClock) -> None:
    with client(mock, clock) as api:
        assert api.all_items("movies") is None
        api.add_history({"movies": [MOVIE]})
        held = api.all_items("movies", "completed", date_from="2000-01-01T00:00:00Z")
        assert held["movies"][0]["last_watched_at"] == MOVIE["watched_at"]
        with pytest.raises(ValueError):
            api.all_items("episodes")
    asked = mock.requests("simkl", path_prefix="/sync/all-items")[-1]
    assert asked.path == "/sync/all-items/movies/completed"
    assert asked.query["extended"] == "full" and asked.query["date_from"].startswith("2000")


def transport_api(handler, clock: FakeClock) -> SimklApi:
    return SimklApi("http://simkl.invalid", CLIENT_ID, TOKEN, clock=clock, sleep=clock.sleep,
                    transport=httpx.MockTransport(handler))  # fmt: skip


def test_a_post_that_may_have_arrived_is_not_resent(clock: FakeClock) -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ReadTimeout("no answer", request=request)

    with transport_api(handler, clock) as api, pytest.raises(SimklApiError) as err:
        api.add_history({"movies": [MOVIE]})
    assert err.value.maybe_sent and len(calls) == 1
    assert "checked before anything is sent again" in str(err.value)


def test_a_post_that_never_left_is_retried(clock: FakeClock) -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(201, json={"added": {"movies": 1}, "not_found": {}})

    with transport_api(handler, clock) as api:
        assert api.add_history({"movies": [MOVIE]})["added"] == {"movies": 1}
    assert len(calls) == 2


def test_a_long_retry_after_is_not_slept_through(clock: FakeClock) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "3600"}, json={"error": "rate"})

    with transport_api(handler, clock) as api, pytest.raises(SimklApiError) as err:
        api.add_history({"movies": [MOVIE]})
    assert "asked to wait 3600 s" in str(err.value) and max(clock.sleeps, default=0) < 2
