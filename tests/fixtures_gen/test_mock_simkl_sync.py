"""The mock Simkl's user side (issue 11): PIN states, sync replies, plays, all-items.

What the push tests rely on: the PIN flow answers pending, "Slow down", expiry and the
token; ``POST /sync/history`` answers Simkl's shapes, records every play (duplicates
kept), refuses bad or revoked tokens with 401 and a second POST within a second of the
same token with 429; ``GET /sync/all-items`` answers from what it received. The mock
counts seconds on a fake clock, so nothing here depends on the machine's speed.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from fixtures.generator import build_history
from fixtures.services import DEFAULT_KEYS, MockServices, SimklPlay
from fixtures.services.catalog import Catalog, catalog_from_history
from tests.fake_clock import FakeClock, patch_mock_services

UA = {"User-Agent": "pv2simkl-tests/1.0", "simkl-api-key": DEFAULT_KEYS["simkl"]}
AUTH = {"Authorization": f"Bearer {DEFAULT_KEYS['simkl_token']}"}
GODFATHER = {"title": "Der Pate", "ids": {"imdb": "tt0068646"}}


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    patch_mock_services(monkeypatch, fake)
    return fake


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return catalog_from_history(build_history(3, 400))


@pytest.fixture
def svc(catalog: Catalog) -> Iterator[MockServices]:
    with MockServices(catalog) as services:
        yield services


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(headers=UA) as client:
        yield client


def a_show(catalog: Catalog) -> object:
    """A finished TV show with at least two seasons of two or more episodes."""
    return next(w for w in catalog.works if w.kind == "tv" and w.status == "ended"
                and len(w.seasons) >= 2 and all(len(e) >= 2 for e in w.seasons.values())
                and "simkl" in w.on)  # fmt: skip


def test_pin_states_slow_down_pending_token_then_fresh_code(
    svc: MockServices, http: httpx.Client
) -> None:
    base = svc.base_urls["simkl"]
    svc.simkl_pin_slow_down, svc.simkl_pin_pending, svc.simkl_pin_interval = 1, 2, 3
    init = http.get(f"{base}/oauth/pin").json()
    assert (init["interval"], init["expires_in"], init["device_code"]) == (3, 900, "DEVICE_CODE")
    code = init["user_code"]
    answers = [http.get(f"{base}/oauth/pin/{code}").json() for _ in range(4)]
    assert [a.get("message") for a in answers[:3]] == [
        "Slow down", "Authorization pending", "Authorization pending"]  # fmt: skip
    assert answers[3] == {"result": "OK", "access_token": DEFAULT_KEYS["simkl_token"]}
    assert "device_code" in http.get(f"{base}/oauth/pin/{code}").json()  # used: a fresh code


def test_pin_polled_faster_than_the_interval_is_told_to_slow_down(
    svc: MockServices, http: httpx.Client, clock: FakeClock
) -> None:
    base = svc.base_urls["simkl"]
    svc.simkl_pin_enforce_interval = True
    code = http.get(f"{base}/oauth/pin").json()["user_code"]
    clock.advance(4.9)
    assert http.get(f"{base}/oauth/pin/{code}").json()["message"] == "Slow down"
    clock.advance(5)
    assert http.get(f"{base}/oauth/pin/{code}").json()["message"] == "Authorization pending"
    clock.advance(5)
    assert http.get(f"{base}/oauth/pin/{code}").json()["result"] == "OK"


def test_pin_code_expires(svc: MockServices, http: httpx.Client, clock: FakeClock) -> None:
    base = svc.base_urls["simkl"]
    svc.simkl_pin_expires_in = 60
    code = http.get(f"{base}/oauth/pin").json()["user_code"]
    clock.advance(60)
    reply = http.get(f"{base}/oauth/pin/{code}").json()
    assert reply["user_code"] != code and "access_token" not in reply


def test_bearer_checked_and_revoked_token_refused(svc: MockServices, http: httpx.Client,
                                                  clock: FakeClock) -> None:  # fmt: skip
    base = svc.base_urls["simkl"]
    body = {"movies": [GODFATHER]}
    r = http.post(f"{base}/sync/history", json=body)
    assert (r.status_code, r.json()["error"]) == (401, "user_token_failed")
    assert http.get(f"{base}/sync/all-items/movies", headers=AUTH).status_code == 200
    new = svc.revoke_simkl_token()
    assert http.get(f"{base}/sync/all-items/movies", headers=AUTH).status_code == 401
    clock.advance(2)
    assert http.post(f"{base}/sync/history", json=body, headers=AUTH).status_code == 401
    assert new != DEFAULT_KEYS["simkl_token"] and svc.simkl_plays == []


def test_one_post_per_second_per_token(svc: MockServices, http: httpx.Client,
                                       clock: FakeClock) -> None:  # fmt: skip
    base = svc.base_urls["simkl"]
    body = {"movies": [GODFATHER]}
    assert http.post(f"{base}/sync/history", json=body, headers=AUTH).status_code == 201
    clock.advance(0.5)
    r = http.post(f"{base}/sync/history", json=body, headers=AUTH)
    assert r.status_code == 429 and r.headers["Retry-After"] == "1"
    other = http.post(f"{base}/sync/history", json=body,
                      headers={"Authorization": "Bearer someone-else"})  # fmt: skip
    assert other.status_code == 401  # another token has a window of its own
    clock.advance(0.5)
    assert http.post(f"{base}/sync/history", json=body, headers=AUTH).status_code == 201
    assert len(svc.simkl_plays) == 2  # the refused POST added nothing


def test_history_reply_shapes_plays_and_duplicates(
    svc: MockServices, http: httpx.Client, clock: FakeClock, catalog: Catalog
) -> None:
    base = svc.base_urls["simkl"]
    show = a_show(catalog)
    body = {
        "movies": [{**GODFATHER, "watched_at": "2026-05-14T20:00:00Z"},
                   {"title": "No Such Film", "year": 1901}],
        "shows": [{"title": show.title, "ids": {"simkl": show.simkl}, "seasons": [
            {"number": 1, "episodes": [{"number": 1, "watched_at": "2026-05-13T19:00:00Z"},
                                       {"number": 2, "watched_at": "2026-05-13T20:00:00Z"}]}]}],
    }  # fmt: skip
    r = http.post(f"{base}/sync/history", json=body, headers=AUTH)
    assert r.status_code == 201
    reply = r.json()
    assert {k: reply["added"][k] for k in ("movies", "shows", "episodes")} == {
        "movies": 1, "shows": 1, "episodes": 2}  # fmt: skip
    statuses = reply["added"]["statuses"]
    assert statuses[0]["request"] == body["movies"][0]
    assert statuses[0]["response"] == {"status": "completed", "simkl_type": "movie",
                                       "anime_type": None}  # fmt: skip
    assert statuses[1]["response"]["status"] == "watching"
    assert reply["not_found"] == {"movies": [body["movies"][1]], "shows": [], "episodes": []}
    clock.advance(1)
    assert http.post(f"{base}/sync/history", json={"shows": body["shows"]},
                     headers=AUTH).status_code == 201  # fmt: skip
    episode = SimklPlay("tv", show.simkl, show.title, 1, 1, "2026-05-13T19:00:00Z")
    assert svc.simkl_plays.count(episode) == 2  # sent twice, kept twice
    assert [p for p in svc.simkl_plays if p.season is None] == [
        SimklPlay("movie", catalog.lookup("imdb", "tt0068646").simkl, "The Godfather", None,
                  None, "2026-05-14T20:00:00Z")]  # fmt: skip


def test_a_show_without_episodes_marks_every_aired_episode(
    svc: MockServices, http: httpx.Client, catalog: Catalog
) -> None:
    show = a_show(catalog)
    body = {"shows": [{"ids": {"simkl": show.simkl}, "watched_at": "2026-01-01T00:00:00Z"}]}
    reply = http.post(f"{svc.base_urls['simkl']}/sync/history", json=body, headers=AUTH).json()
    assert reply["added"]["episodes"] == show.episode_count == len(svc.simkl_plays)
    assert reply["added"]["statuses"][0]["response"]["status"] == "completed"


def test_configured_not_found(svc: MockServices, http: httpx.Client, clock: FakeClock,
                              catalog: Catalog) -> None:  # fmt: skip
    base = svc.base_urls["simkl"]
    show = a_show(catalog)
    svc.simkl_not_found = {"imdb:tt0068646", show.title.upper()}
    body = {"movies": [GODFATHER], "shows": [{"title": show.title, "year": show.year,
                                              "episodes": [{"number": 1}]}]}  # fmt: skip
    reply = http.post(f"{base}/sync/history", json=body, headers=AUTH).json()
    assert reply["not_found"]["movies"] == [GODFATHER]
    assert reply["not_found"]["shows"] == body["shows"]
    assert reply["added"]["movies"] == reply["added"]["shows"] == 0 and svc.simkl_plays == []


def test_all_items_answers_from_the_plays_with_date_from(
    svc: MockServices, http: httpx.Client, clock: FakeClock, catalog: Catalog
) -> None:
    base = svc.base_urls["simkl"]
    show = a_show(catalog)
    assert http.get(f"{base}/sync/all-items/shows", headers=AUTH).json() is None
    svc.simkl_now = lambda: datetime(2026, 6, 1, 12, tzinfo=UTC)
    episodes = [{"number": 1, "watched_at": "2026-05-13T19:00:00Z"},
                {"number": 2, "watched_at": "2026-05-13T20:00:00Z"}]  # fmt: skip
    body = {"movies": [{**GODFATHER, "watched_at": "2026-05-14T20:00:00Z"}],
            "shows": [{"ids": {"simkl": show.simkl},
                       "seasons": [{"number": 1, "episodes": episodes}]}]}  # fmt: skip
    assert http.post(f"{base}/sync/history", json=body, headers=AUTH).status_code == 201
    shows = http.get(f"{base}/sync/all-items/shows/watching", headers=AUTH,
                     params={"extended": "full"}).json()["shows"]  # fmt: skip
    assert len(shows) == 1
    row = shows[0]
    assert row["show"]["ids"]["simkl"] == show.simkl and row["show"]["title"] == show.title
    assert (row["last_watched"], row["watched_episodes_count"]) == ("S01E02", 2)
    assert row["last_watched_at"] == "2026-05-13T20:00:00Z"
    assert row["seasons"] == [{"number": 1, "episodes": episodes}]
    movies = http.get(f"{base}/sync/all-items/movies", headers=AUTH).json()["movies"]
    assert movies[0]["last_watched_at"] == "2026-05-14T20:00:00Z"
    assert movies[0]["movie"]["ids"]["imdb"] == "tt0068646" and movies[0]["status"] == "completed"
    assert "seasons" not in http.get(f"{base}/sync/all-items/shows",
                                     headers=AUTH).json()["shows"][0]  # fmt: skip
    assert http.get(f"{base}/sync/all-items/shows/completed", headers=AUTH).json() is None
    later = {"date_from": "2026-06-01T12:00:01Z"}
    assert http.get(f"{base}/sync/all-items/shows", headers=AUTH, params=later).json() is None
    since = {"date_from": "2026-06-01T11:59:00Z"}
    both = http.get(f"{base}/sync/all-items", headers=AUTH, params=since).json()
    assert set(both) == {"movies", "shows"}
    assert http.get(f"{base}/sync/activities", headers=AUTH).json()["all"] == (
        "2026-06-01T12:00:00Z")  # fmt: skip
