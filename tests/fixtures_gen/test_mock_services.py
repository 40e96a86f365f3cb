"""Tests of the mock metadata services (fixtures/services/) and their catalog.

They check what client tests will rely on: the catalog is deterministic and holds the
hard cases; every service checks its key and answers refusals with the exact bodies of
the reference; searches find remakes, localized and URL-hostile titles; the limiter
answers 429 (or MAL's 403) and never lets more through than the window allows; every
fault mode works; latency is honoured without serializing requests; shutdown is clean.

The services' rate windows count seconds on a fake clock (time stands still until a test
moves it), so what a window admits never depends on how loaded the machine is.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from fixtures.generator import build_history
from fixtures.services import DEFAULT_KEYS, DEFAULT_LIMITS, SERVICES, MockServices
from fixtures.services.catalog import (
    PROVIDERS,
    Catalog,
    catalog_from_history,
    catalog_from_titles,
    fold,
    hard_cases,
)
from tests.fake_clock import FakeClock, patch_mock_services

UA = {"User-Agent": "pv2simkl-tests/1.0"}
SIMKL = {"client_id": DEFAULT_KEYS["simkl"]}
TMDB = {"Authorization": f"Bearer {DEFAULT_KEYS['tmdb']}"}
MAL = {"X-MAL-CLIENT-ID": DEFAULT_KEYS["mal"]}
OMDB = {"apikey": DEFAULT_KEYS["omdb"]}


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The services' clock: it stands still unless the test moves it."""
    fake = FakeClock()
    patch_mock_services(monkeypatch, fake)
    return fake


def wait_for(condition: Callable[[], bool]) -> bool:
    """Whether ``condition`` became true; gives up after 20 s, a guard against a hang."""
    done = threading.Event()
    for _ in range(2000):
        if condition():
            return True
        done.wait(0.01)
    return condition()


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return catalog_from_history(build_history(3, 400))


@pytest.fixture(scope="module")
def svc(catalog: Catalog) -> Iterator[MockServices]:
    """Shared servers without limits, for behaviour that is not about limits."""
    with MockServices(catalog, enforce_limits=False) as services:
        yield services
    assert not services.errors


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    limits = httpx.Limits(max_connections=120, max_keepalive_connections=120)
    with httpx.Client(headers=UA, timeout=10.0, limits=limits) as client:
        yield client


@pytest.fixture(scope="module")
def tvdb_token(svc: MockServices, http: httpx.Client) -> str:
    r = http.post(f"{svc.base_urls['tvdb']}/login", json={"apikey": DEFAULT_KEYS["tvdb"]})
    assert r.status_code == 200
    return r.json()["data"]["token"]


def _max_in_window(times: list[float], width: float) -> int:
    """The most timestamps inside any half-open window ``[t, t + width)``."""
    times = sorted(times)
    best, j = 0, 0
    for i, t in enumerate(times):
        while t - times[j] >= width:
            j += 1
        best = max(best, i - j + 1)
    return best


def _burst(n: int, call: Callable[[], httpx.Response]) -> list[httpx.Response]:
    """``n`` calls released together from ``n`` threads."""
    barrier = threading.Barrier(n)

    def one() -> httpx.Response:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(lambda _: one(), range(n)))


# ---------------------------------------------------------------------------------------
# Catalog
# ---------------------------------------------------------------------------------------


def test_catalog_is_deterministic_and_ids_unique() -> None:
    history = build_history(11, 300)
    a, b = catalog_from_history(history), catalog_from_history(history)
    assert [(w.key, w.simkl, w.tmdb, w.tvdb, w.imdb, w.mal, w.year) for w in a] == [
        (w.key, w.simkl, w.tmdb, w.tvdb, w.imdb, w.mal, w.year) for w in b
    ]
    for name in ("simkl", "tmdb", "tvdb", "imdb", "mal"):
        values = [getattr(w, name) for w in a if getattr(w, name) is not None]
        assert len(values) == len(set(values)), name
    assert all(w.on <= PROVIDERS for w in a)
    other = catalog_from_history(build_history(12, 300))
    assert [w.imdb for w in other] != [w.imdb for w in a]


def test_catalog_covers_every_history_title(catalog: Catalog) -> None:
    history = build_history(3, 400)
    for leaf in history.events:
        hits = catalog.search(leaf.title, exact=True)
        assert hits, leaf.title
        assert any(h.is_movie == (leaf.kind == "movie") for h in hits), leaf.title
    shows = {leaf.title for leaf in history.events if leaf.kind == "episode"}
    assert sum(w.kind == "anime" for w in catalog) >= 1
    assert len(shows) > 5


def test_catalog_anime_share_and_shapes() -> None:
    shows = [(f"Show Number {i}", {1: ["", ""]}) for i in range(400)]
    cat = catalog_from_titles(5, [f"Movie Number {i}" for i in range(50)], shows)
    made = [w for w in cat if w.key.startswith(("tv:show", "anime:show"))]
    anime = [w for w in made if w.kind == "anime"]
    assert 0.04 < len(anime) / len(made) < 0.13
    for w in anime:
        assert w.mal and w.tvdb is None and w.romaji and w.alt_titles["ja"] == w.original_title
        assert w.on == {"mal", "jikan", "simkl", "tmdb"}
    movies = [w for w in cat if w.key.startswith("movie:movie number")]
    assert all((w.tvdb is None) == ("tvdb" not in w.on) for w in movies)
    assert all(len(w.seasons[1]) == 2 and all(w.seasons[1]) for w in made)


def test_hard_cases() -> None:
    cases = {w.key: w for w in hard_cases()}
    dunes = sorted((w.year, w.kind) for w in cases.values() if w.title == "Dune")
    assert dunes == [(1984, "movie"), (2021, "movie")]
    offices = sorted(w.year for w in cases.values() if w.title == "The Office")
    assert offices == [2001, 2005] and all(
        w.kind == "tv" for w in cases.values() if w.title == "The Office"
    )
    pate = cases["movie:der-pate"]
    assert (pate.title, pate.year, pate.alt_titles["de"]) == ("The Godfather", 1972, "Der Pate")
    berserk = {w.kind: w for w in cases.values() if w.title == "Berserk"}
    assert (berserk["tv"].year, berserk["anime"].year, berserk["anime"].mal) == (2016, 1997, 33)
    assert berserk["tv"].mal is None
    assert cases["movie:only-tmdb"].on == {"tmdb"} and cases["movie:nowhere"].on == set()
    titles = {w.title for w in cases.values()}
    assert {"Crouching Tiger, Hidden Dragon", "#Alive", "100% Wolf", "Face/Off"} <= titles
    chihiro = cases["anime:spirited-away"]
    assert (chihiro.original_title, chihiro.mal, chihiro.anime_type) == (
        "千と千尋の神隠し", 199, "movie")  # fmt: skip
    assert fold("DER PATE") == fold("der pate")


# ---------------------------------------------------------------------------------------
# Auth and exact error bodies
# ---------------------------------------------------------------------------------------


def test_base_urls(svc: MockServices) -> None:
    assert set(svc.base_urls) == set(SERVICES)
    for name, suffix in {"tmdb": "/3", "tvdb": "/v4", "mal": "/v2", "jikan": "/v4"}.items():
        assert svc.base_urls[name].startswith("http://127.0.0.1:")
        assert svc.base_urls[name].endswith(suffix)


def test_simkl_auth(svc: MockServices, http: httpx.Client) -> None:
    url = f"{svc.base_urls['simkl']}/search/movie"
    r = http.get(url, params={"q": "Dune", "client_id": "wrong"})
    assert r.status_code == 412
    assert r.json() == {"error": "client_id_failed", "code": 412,
                        "message": "Your client_id is wrong. Try another one"}  # fmt: skip
    assert http.get(url, params={"q": "Dune"}).status_code == 412
    r = http.get(url, params={"q": "Dune"}, headers={"simkl-api-key": DEFAULT_KEYS["simkl"]})
    assert r.status_code == 200
    with httpx.Client() as bare:
        bare.headers.pop("User-Agent")
        r = bare.get(url, params={"q": "Dune", **SIMKL})
    assert r.status_code == 400 and r.json()["error"] == "empty_field"


def test_tmdb_auth(svc: MockServices, http: httpx.Client) -> None:
    url = f"{svc.base_urls['tmdb']}/search/movie"
    body = {"status_code": 7, "success": False,
            "status_message": "Invalid API key: You must be granted a valid key."}  # fmt: skip
    r = http.get(url, params={"query": "Dune"})
    assert (r.status_code, r.json()) == (401, body)
    r = http.get(url, params={"query": "Dune"}, headers={"Authorization": "Bearer nope"})
    assert (r.status_code, r.json()) == (401, body)
    assert http.get(url, params={"query": "Dune"}, headers=TMDB).status_code == 200
    key = DEFAULT_KEYS["tmdb_api_key"]
    assert http.get(url, params={"query": "Dune", "api_key": key}).status_code == 200
    r = http.get(f"{svc.base_urls['tmdb']}/movie/999999999", headers=TMDB)
    assert r.status_code == 404 and r.json()["status_code"] == 34


def test_tvdb_auth(svc: MockServices, http: httpx.Client) -> None:
    base = svc.base_urls["tvdb"]
    r = http.get(f"{base}/search", params={"query": "The Office"})
    assert r.status_code == 401
    r = http.post(f"{base}/login", json={"apikey": "wrong"})
    assert r.status_code == 401 and r.json()["status"] == "failure"
    r = http.get(f"{base}/search", params={"query": "x"}, headers={"Authorization": "Bearer x"})
    assert r.status_code == 401


def test_mal_auth_and_q(svc: MockServices, http: httpx.Client) -> None:
    url = f"{svc.base_urls['mal']}/anime"
    r = http.get(url, params={"q": "Berserk"})
    assert (r.status_code, r.json()) == (401, {"error": "invalid_token",
                                               "message": "token is invalid"})  # fmt: skip
    r = http.get(url, params={"q": "Berserk"}, headers={"X-MAL-CLIENT-ID": "wrong"})
    assert r.status_code == 401
    r = http.get(url, params={"q": "Be"}, headers=MAL)
    assert r.status_code == 400 and r.json()["message"] == "invalid q"


def test_omdb_auth(svc: MockServices, http: httpx.Client) -> None:
    url = f"{svc.base_urls['omdb']}/"
    r = http.get(url, params={"apikey": "wrong", "t": "Dune"})
    assert (r.status_code, r.json()) == (401, {"Response": "False", "Error": "Invalid API key!"})
    assert http.get(url, params={"t": "Dune"}).status_code == 401
    r = http.get(url, params={**OMDB, "t": "No Such Film Anywhere"})
    assert (r.status_code, r.json()) == (200, {"Response": "False", "Error": "Movie not found!"})


def test_keyless_services(svc: MockServices, http: httpx.Client) -> None:
    r = http.get(f"{svc.base_urls['jikan']}/anime", params={"q": "Berserk"})
    assert r.status_code == 200 and r.json()["data"][0]["mal_id"] == 33
    r = http.get(f"{svc.base_urls['imdbapi']}/search/titles", params={"query": "Dune"})
    assert r.status_code == 200 and len(r.json()["titles"]) == 2


# ---------------------------------------------------------------------------------------
# Search and lookups
# ---------------------------------------------------------------------------------------


def test_remakes_come_back_together(svc: MockServices, http: httpx.Client) -> None:
    url = f"{svc.base_urls['simkl']}/search/movie"
    rows = http.get(url, params={"q": "Dune", **SIMKL}).json()
    assert [r["year"] for r in rows] == [2021, 1984]
    assert all(isinstance(r["ids"]["simkl_id"], int) and isinstance(r["ids"]["tmdb"], str)
               for r in rows)  # fmt: skip
    rows = http.get(url, params={"q": "Dune", "year": "1984", **SIMKL}).json()
    assert [(r["year"], r["ids"]["tmdb"]) for r in rows] == [(1984, "841")]
    tmdb = f"{svc.base_urls['tmdb']}/search/movie"
    body = http.get(tmdb, params={"query": "dune"}, headers=TMDB).json()
    assert [r["release_date"][:4] for r in body["results"]] == ["2021", "1984"]
    assert body["total_results"] == 2 and body["page"] == 1
    body = http.get(tmdb, params={"query": "Dune", "year": 1984}, headers=TMDB).json()
    assert [r["id"] for r in body["results"]] == [841]
    tv = f"{svc.base_urls['tmdb']}/search/tv"
    body = http.get(tv, params={"query": "The Office", "first_air_date_year": 2001},
                    headers=TMDB).json()  # fmt: skip
    assert [(r["name"], r["first_air_date"][:4]) for r in body["results"]] == [
        ("The Office", "2001")]  # fmt: skip
    token = http.post(f"{svc.base_urls['tvdb']}/login", json={"apikey": DEFAULT_KEYS["tvdb"]})
    auth = {"Authorization": f"Bearer {token.json()['data']['token']}"}
    data = http.get(f"{svc.base_urls['tvdb']}/search", params={"query": "The Office",
                    "type": "series"}, headers=auth).json()["data"]  # fmt: skip
    assert sorted(d["year"] for d in data) == ["2001", "2005"]
    assert all(isinstance(d["tvdb_id"], str) for d in data)


def test_localized_title(svc: MockServices, http: httpx.Client) -> None:
    url = f"{svc.base_urls['tmdb']}/search/movie"
    body = http.get(url, params={"query": "Der Pate", "language": "de-DE"}, headers=TMDB).json()
    hit = body["results"][0]
    assert (hit["id"], hit["title"], hit["original_title"], hit["release_date"][:4]) == (
        238, "Der Pate", "The Godfather", "1972")  # fmt: skip
    hit = http.get(url, params={"query": "Der Pate"}, headers=TMDB).json()["results"][0]
    assert hit["title"] == "The Godfather"
    rows = http.get(f"{svc.base_urls['simkl']}/search/movie",
                    params={"q": "Der Pate", **SIMKL}).json()  # fmt: skip
    assert rows[0]["title"] == "The Godfather" and rows[0]["year"] == 1972


@pytest.mark.parametrize("title", ["#Alive", "100% Wolf", "Face/Off",
                                   "Crouching Tiger, Hidden Dragon"])  # fmt: skip
def test_url_hostile_titles(svc: MockServices, http: httpx.Client, title: str) -> None:
    r = http.get(f"{svc.base_urls['tmdb']}/search/movie", params={"query": title}, headers=TMDB)
    assert "%" in str(r.request.url) or "," in title
    assert r.json()["results"][0]["title"] == title
    rows = http.get(f"{svc.base_urls['simkl']}/search/movie", params={"q": title, **SIMKL})
    assert rows.json()[0]["title"] == title
    assert svc.requests("simkl", path_prefix="/search/movie")[-1].query["q"] == title
    r = http.get(f"{svc.base_urls['imdbapi']}/search/titles", params={"query": title})
    assert r.json()["titles"][0]["primaryTitle"] == title
    r = http.get(f"{svc.base_urls['omdb']}/", params={**OMDB, "t": title, "type": "movie"})
    assert r.json()["Title"] == title


def test_alive_raw_encoding(svc: MockServices, http: httpx.Client) -> None:
    url = f"{svc.base_urls['tmdb']}/search/movie?query=%23Alive&year=2020"
    hit = http.get(url, headers=TMDB).json()["results"][0]
    assert (hit["title"], hit["id"]) == ("#Alive", 614696)


def test_anime_and_show_twins(svc: MockServices, http: httpx.Client) -> None:
    base = svc.base_urls["simkl"]
    tv = http.get(f"{base}/search/tv", params={"q": "Berserk", **SIMKL}).json()
    assert [(r["year"], r["endpoint_type"]) for r in tv] == [(2016, "tv")]
    anime = http.get(f"{base}/search/anime", params={"q": "Berserk", **SIMKL}).json()
    assert [(r["year"], r["endpoint_type"], r["title_en"]) for r in anime] == [
        (1997, "anime", "Berserk")]  # fmt: skip
    assert anime[0]["title_romaji"] == "Kenpuu Denki Berserk"
    fields = "alternative_titles,start_date,media_type"
    r = http.get(f"{svc.base_urls['mal']}/anime", headers=MAL,
                 params={"q": "Berserk", "fields": fields})  # fmt: skip
    node = r.json()["data"][0]["node"]
    assert (node["id"], node["alternative_titles"]["en"], node["start_date"][:4]) == (
        33, "Berserk", "1997")  # fmt: skip
    assert r.json()["paging"] == {}
    chihiro = http.get(f"{base}/search/anime", params={"q": "千と千尋の神隠し", **SIMKL}).json()
    assert chihiro[0]["type"] == "movie" and chihiro[0]["title_en"] == "Spirited Away"
    assert http.get(f"{base}/search/movie", params={"q": "千と千尋の神隠し", **SIMKL}).json() == []
    jikan = http.get(f"{svc.base_urls['jikan']}/anime", params={"q": "千と千尋の神隠し"}).json()
    assert jikan["data"][0]["mal_id"] == 199 and jikan["data"][0]["type"] == "Movie"
    assert jikan["pagination"]["items"]["total"] == 1


def test_one_provider_and_nowhere(svc: MockServices, http: httpx.Client) -> None:
    q = "Quiet Harbour Lights"
    hits = http.get(f"{svc.base_urls['tmdb']}/search/movie", params={"query": q}, headers=TMDB)
    assert [r["id"] for r in hits.json()["results"]] == [612345]
    assert http.get(f"{svc.base_urls['simkl']}/search/movie", params={"q": q, **SIMKL}).json() == []
    r = http.get(f"{svc.base_urls['omdb']}/", params={**OMDB, "t": q})
    assert r.json()["Response"] == "False"
    q = "The Unfindable Nobody Film"
    assert http.get(f"{svc.base_urls['tmdb']}/search/movie", params={"query": q},
                    headers=TMDB).json()["results"] == []  # fmt: skip
    assert http.get(f"{svc.base_urls['imdbapi']}/search/titles",
                    params={"query": q}).json() == {"titles": []}  # fmt: skip


def test_simkl_id_lookups_and_records(svc: MockServices, http: httpx.Client) -> None:
    base = svc.base_urls["simkl"]
    rows = http.get(f"{base}/search/id", params={"imdb": "tt0068646", **SIMKL}).json()
    assert rows[0]["ids"] == {"simkl": 53532, "slug": "the-godfather"}
    assert rows[0]["type"] == "movie" and rows[0]["status"] == "released"
    url = "https://www.imdb.com/title/tt0068646/"
    assert http.get(f"{base}/search/id", params={"imdb": url, **SIMKL}).json()[0]["ids"][
        "simkl"] == 53532  # fmt: skip
    assert http.get(f"{base}/search/id", params={"imdb": "tt0000001", **SIMKL}).json() == []
    # TMDB ids of shows need type=show.
    assert http.get(f"{base}/search/id", params={"tmdb": "2316", **SIMKL}).json() == []
    rows = http.get(f"{base}/search/id", params={"tmdb": "2316", "type": "show", **SIMKL}).json()
    assert rows[0]["ids"]["simkl"] == 12002 and rows[0]["total_episodes"] == 201
    assert http.get(f"{base}/search/id", params={"mal": "33", **SIMKL}).json()[0]["type"] == "anime"
    # A title matching two works is null.
    r = http.get(f"{base}/search/id", params={"title": "Dune", "type": "movie", **SIMKL})
    assert r.json() is None
    record = http.get(f"{base}/tv/12002", params=SIMKL).json()
    assert record["ids"]["tvdb"] == "73244" and record["ids"]["tmdb"] == "2316"
    assert record["ids"]["imdb"] == "tt0386676"
    assert http.get(f"{base}/movies/tt0068646", params=SIMKL).json()["ids"]["simkl"] == 53532
    assert http.get(f"{base}/movies/12002", params=SIMKL).status_code == 404
    eps = http.get(f"{base}/tv/episodes/12001", params=SIMKL).json()
    assert len(eps) == 12 and eps[0]["type"] == "episode" and eps[0]["aired"] is True
    assert (eps[6]["season"], eps[6]["episode"]) == (2, 1)
    assert isinstance(eps[0]["ids"]["simkl_id"], int) and eps[0]["title"]
    anime = http.get(f"{base}/anime/episodes/38447", params=SIMKL).json()
    assert [e["episode"] for e in anime] == list(range(1, 26)) and "season" not in anime[0]


def test_simkl_redirect(svc: MockServices, http: httpx.Client) -> None:
    base = svc.base_urls["simkl"]
    r = http.get(f"{base}/redirect", params={"to": "simkl", "imdb": "tt0068646", **SIMKL})
    assert r.status_code == 301
    assert r.headers["Location"] == "https://simkl.com/movies/53532/the-godfather"
    assert r.headers["Cache-Control"] == "no-store"
    r = http.get(f"{base}/redirect", params={"to": "simkl", "mal": "33", **SIMKL})
    assert r.headers["Location"].startswith("https://simkl.com/anime/38447/")
    r = http.get(f"{base}/redirect", params={"to": "simkl", "imdb": "tt0000001", **SIMKL})
    assert r.status_code == 301 and r.headers["Location"] == "https://simkl.com/"


def test_tmdb_lookups(svc: MockServices, http: httpx.Client) -> None:
    base = svc.base_urls["tmdb"]
    found = http.get(f"{base}/find/tt0386676", params={"external_source": "imdb_id"},
                     headers=TMDB).json()  # fmt: skip
    assert [r["id"] for r in found["tv_results"]] == [2316] and found["movie_results"] == []
    found = http.get(f"{base}/find/73244", params={"external_source": "tvdb_id"}, headers=TMDB)
    assert found.json()["tv_results"][0]["media_type"] == "tv"
    ext = http.get(f"{base}/tv/2316/external_ids", headers=TMDB).json()
    assert (ext["imdb_id"], ext["tvdb_id"]) == ("tt0386676", 73244)
    ext = http.get(f"{base}/movie/238/external_ids", headers=TMDB).json()
    assert ext["imdb_id"] == "tt0068646" and "tvdb_id" not in ext
    season = http.get(f"{base}/tv/2996/season/2", headers=TMDB).json()
    assert [e["episode_number"] for e in season["episodes"]] == [1, 2, 3, 4, 5, 6]
    assert {e["season_number"] for e in season["episodes"]} == {2} and season["episodes"][0]["name"]
    assert http.get(f"{base}/tv/2996/season/9", headers=TMDB).status_code == 404
    detail = http.get(f"{base}/tv/2316", params={"append_to_response": "external_ids"},
                      headers=TMDB).json()  # fmt: skip
    assert detail["number_of_seasons"] == 9 and detail["external_ids"]["tvdb_id"] == 73244
    assert http.get(f"{base}/movie/2316", headers=TMDB).status_code == 404


def test_tvdb_lookups(svc: MockServices, http: httpx.Client, tvdb_token: str) -> None:
    base, auth = svc.base_urls["tvdb"], {"Authorization": f"Bearer {tvdb_token}"}
    data = http.get(f"{base}/search/remoteid/tt0386676", headers=auth).json()["data"]
    assert data[0]["series"]["id"] == 73244
    ext = http.get(f"{base}/series/73244/extended", headers=auth).json()["data"]
    assert {"id": "tt0386676", "type": 2, "sourceName": "IMDB"} in ext["remoteIds"]
    assert any(r["sourceName"] == "TheMovieDB.com" and r["id"] == "2316" for r in ext["remoteIds"])
    assert [s["number"] for s in ext["seasons"]] == list(range(1, 10))
    assert http.get(f"{base}/series/99999999/extended", headers=auth).status_code == 404
    assert http.get(f"{base}/series/abc/extended", headers=auth).status_code == 400
    # TheTVDB names records in the original language; the English one is a translation.
    hit = http.get(f"{base}/search", params={"query": "Money Heist"}, headers=auth).json()
    assert hit["data"][0]["name"] == "La casa de papel"
    assert hit["data"][0]["translations"]["eng"] == "Money Heist"


def test_imdbapi_and_omdb_lookups(svc: MockServices, http: httpx.Client) -> None:
    title = http.get(f"{svc.base_urls['imdbapi']}/titles/tt0386676").json()
    assert (title["type"], title["startYear"], title["endYear"]) == ("tvSeries", 2005, 2013)
    assert http.get(f"{svc.base_urls['imdbapi']}/titles/tt0000001").status_code == 404
    omdb = f"{svc.base_urls['omdb']}/"
    rec = http.get(omdb, params={**OMDB, "i": "tt0068646"}).json()
    assert (rec["Title"], rec["Year"], rec["Type"], rec["Response"]) == (
        "The Godfather", "1972", "movie", "True")  # fmt: skip
    rec = http.get(omdb, params={**OMDB, "t": "The Office", "y": 2001, "type": "series"}).json()
    assert (rec["imdbID"], rec["totalSeasons"]) == ("tt0290978", "2")
    found = http.get(omdb, params={**OMDB, "s": "Dune"}).json()
    assert found["totalResults"] == "2" and found["Search"][0]["imdbID"] == "tt1160419"


# ---------------------------------------------------------------------------------------
# TheTVDB token expiry
# ---------------------------------------------------------------------------------------


def test_tvdb_expired_token_needs_one_relogin(catalog: Catalog) -> None:
    with MockServices(catalog) as svc, httpx.Client(headers=UA) as http:
        base = svc.base_urls["tvdb"]
        login = {"apikey": DEFAULT_KEYS["tvdb"], "pin": "ignored"}
        old = http.post(f"{base}/login", json=login).json()["data"]["token"]
        auth = {"Authorization": f"Bearer {old}"}
        assert http.get(f"{base}/series/73244", headers=auth).status_code == 200
        svc.fault("tvdb", "expired-token")
        assert http.get(f"{base}/series/73244", headers=auth).status_code == 401
        assert http.get(f"{base}/series/73244", headers=auth).status_code == 401
        new = http.post(f"{base}/login", json={"apikey": DEFAULT_KEYS["tvdb"]})
        auth = {"Authorization": f"Bearer {new.json()['data']['token']}"}
        assert http.get(f"{base}/series/73244", headers=auth).status_code == 200
        assert svc.count("tvdb", path_prefix="/login") == 2
        assert svc.count("tvdb", status=401) == 2


# ---------------------------------------------------------------------------------------
# Rate limits
# ---------------------------------------------------------------------------------------


def test_simkl_limiter_under_a_burst(catalog: Catalog, clock: FakeClock) -> None:
    with MockServices(catalog) as svc, httpx.Client(headers=UA, limits=httpx.Limits(
            max_connections=40)) as http:  # fmt: skip
        url = f"{svc.base_urls['simkl']}/search/movie"
        replies = _burst(30, lambda: http.get(url, params={"q": "Dune", **SIMKL}))
        statuses = [r.status_code for r in replies]
        assert statuses.count(200) == 10 and statuses.count(429) == 20  # 10 a second
        too_many = [r for r in replies if r.status_code == 429]
        assert too_many[0].json()["code"] == 429
        with_header = [r for r in too_many if "Retry-After" in r.headers]
        assert 0 < len(with_header) < len(too_many)  # only every other one
        assert all(int(r.headers["Retry-After"]) >= 1 for r in with_header)
        accepted = [r.t for r in svc.requests("simkl") if r.status != 429]
        assert _max_in_window(accepted, 1.0) <= 10
        assert http.get(url, params={"q": "Dune", **SIMKL}).status_code == 429
        clock.advance(1.0)  # a client that waits is served again
        assert http.get(url, params={"q": "Dune", **SIMKL}).status_code == 200


def test_tmdb_429_body_and_retry_after(catalog: Catalog) -> None:
    with MockServices(catalog, limits={"tmdb": [(5, 1.0)]}) as svc, httpx.Client() as http:
        url = f"{svc.base_urls['tmdb']}/search/movie"
        replies = [http.get(url, params={"query": "Dune"}, headers=TMDB) for _ in range(7)]
        assert [r.status_code for r in replies] == [200] * 5 + [429] * 2
        message = "Your request count (#) is over the allowed limit of (40)."
        assert replies[-1].json() == {"status_code": 25, "success": False,
                                      "status_message": message}  # fmt: skip
        assert replies[-1].headers["Retry-After"] == "1"


def test_jikan_three_per_second(catalog: Catalog) -> None:
    assert DEFAULT_LIMITS["jikan"] == [(3, 1.0), (60, 60.0)]
    with MockServices(catalog) as svc, httpx.Client() as http:
        url = f"{svc.base_urls['jikan']}/anime"
        replies = _burst(5, lambda: http.get(url, params={"q": "Berserk"}))
        assert sorted(r.status_code for r in replies) == [200, 200, 200, 429, 429]
        r = next(r for r in replies if r.status_code == 429)
        assert r.json() == {"status": 429, "type": "RateLimitException",
                            "message": "You are being rate-limited.", "error": None,
                            "report_url": ""}  # fmt: skip
        assert int(r.headers["Retry-After"]) >= 1


def test_jikan_sixty_per_minute(catalog: Catalog, clock: FakeClock) -> None:
    # The per-second window shrunk to 3 per 50 ms so that 60 calls fit in a second.
    limits = {"jikan": [(3, 0.05), (60, 60.0)]}
    with MockServices(catalog, limits=limits) as svc, httpx.Client() as http:
        url = f"{svc.base_urls['jikan']}/anime/199"
        accepted = 0
        for _ in range(100):
            if http.get(url).status_code == 200:
                accepted += 1
                if accepted == 60:
                    break
            else:
                clock.advance(0.05)
        assert accepted == 60
        clock.advance(0.06)  # the short window is clear again; the minute is not
        r = http.get(url)
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 55
        times = [q.t for q in svc.requests("jikan") if q.status == 200]
        assert _max_in_window(times, 60.0) == 60


def test_mal_answers_403_when_pushed(catalog: Catalog) -> None:
    with MockServices(catalog) as svc, httpx.Client() as http:
        url = f"{svc.base_urls['mal']}/anime"
        codes = [http.get(url, params={"q": "Berserk"}, headers=MAL) for _ in range(7)]
        assert [r.status_code for r in codes] == [200] * 5 + [403] * 2
        assert codes[-1].json()["message"] == "DoS detected etc."
    with MockServices(catalog, over_limit_status={"mal": 429}, limits={"mal": [(1, 1.0)]}
                      ) as svc, httpx.Client() as http:  # fmt: skip
        url = f"{svc.base_urls['mal']}/anime"
        codes = [http.get(url, params={"q": "Berserk"}, headers=MAL).status_code for _ in "ab"]
        assert codes == [200, 429]


# ---------------------------------------------------------------------------------------
# Faults
# ---------------------------------------------------------------------------------------


def test_5xx_bursts(svc: MockServices, http: httpx.Client) -> None:
    url = f"{svc.base_urls['tmdb']}/search/movie"
    svc.fault("tmdb", "500", times=3)
    codes = [http.get(url, params={"query": "Dune"}, headers=TMDB) for _ in range(4)]
    assert [r.status_code for r in codes] == [500, 500, 500, 200]
    assert codes[0].json()["status_code"] == 11
    for mode in ("502", "503"):
        svc.fault("imdbapi", mode, times=2)
        url = f"{svc.base_urls['imdbapi']}/search/titles"
        codes = [http.get(url, params={"query": "Dune"}) for _ in range(3)]
        assert [r.status_code for r in codes] == [int(mode)] * 2 + [200]
        assert codes[0].headers["Content-Type"].startswith("text/html")


def test_fault_path_prefix(svc: MockServices, http: httpx.Client) -> None:
    base = svc.base_urls["tmdb"]
    svc.fault("tmdb", "503", path_prefix="/search/tv")
    assert http.get(f"{base}/search/movie", params={"query": "x"}, headers=TMDB).status_code == 200
    assert http.get(f"{base}/search/tv", params={"query": "x"}, headers=TMDB).status_code == 503
    assert http.get(f"{base}/search/tv", params={"query": "x"}, headers=TMDB).status_code == 200
    assert svc.requests("tmdb", status=503)[-1].fault == "503"
    with pytest.raises(ValueError):
        svc.fault("tmdb", "quota")
    with pytest.raises(ValueError):
        svc.fault("simkl", "explode")


def test_malformed_json(svc: MockServices, http: httpx.Client) -> None:
    svc.fault("jikan", "malformed-json")
    r = http.get(f"{svc.base_urls['jikan']}/anime", params={"q": "Berserk"})
    assert r.status_code == 200 and r.text.startswith('{"data":')
    with pytest.raises(json.JSONDecodeError):
        json.loads(r.text)
    svc.fault("simkl", "malformed-json")
    r = http.get(f"{svc.base_urls['simkl']}/search/movie", params={"q": "x", **SIMKL})
    with pytest.raises(json.JSONDecodeError):
        json.loads(r.text)


def test_empty_results(svc: MockServices, http: httpx.Client) -> None:
    simkl = svc.base_urls["simkl"]
    svc.fault("simkl", "empty", times=2)
    assert http.get(f"{simkl}/search/movie", params={"q": "Dune", **SIMKL}).json() == []
    r = http.get(f"{simkl}/search/id", params={"imdb": "tt0068646", **SIMKL})
    assert r.status_code == 200 and r.json() is None
    svc.fault("tmdb", "empty")
    body = http.get(f"{svc.base_urls['tmdb']}/search/movie", params={"query": "Dune"},
                    headers=TMDB).json()  # fmt: skip
    assert body["results"] == [] and body["total_results"] == 0
    svc.fault("mal", "empty")
    assert http.get(f"{svc.base_urls['mal']}/anime", params={"q": "Berserk"},
                    headers=MAL).json() == {"data": [], "paging": {}}  # fmt: skip
    svc.fault("imdbapi", "empty")
    r = http.get(f"{svc.base_urls['imdbapi']}/search/titles", params={"query": "Dune"})
    assert r.json() == {"titles": []}
    svc.fault("omdb", "empty")
    r = http.get(f"{svc.base_urls['omdb']}/", params={**OMDB, "t": "Dune"})
    assert r.json() == {"Response": "False", "Error": "Movie not found!"}
    # The fault is used up: the next answer is full again.
    assert http.get(f"{simkl}/search/movie", params={"q": "Dune", **SIMKL}).json() != []


def test_quota_and_forced_429(svc: MockServices, http: httpx.Client, tvdb_token: str) -> None:
    svc.fault("omdb", "quota")
    r = http.get(f"{svc.base_urls['omdb']}/", params={**OMDB, "t": "Dune"})
    assert (r.status_code, r.json()) == (401, {"Response": "False",
                                               "Error": "Request limit reached!"})  # fmt: skip
    for name in ("simkl", "tvdb"):
        svc.fault(name, "429")
    r = http.get(f"{svc.base_urls['simkl']}/search/movie", params={"q": "x", **SIMKL})
    assert (r.status_code, r.headers["Retry-After"]) == (429, "1")
    r = http.get(f"{svc.base_urls['tvdb']}/series/73244",
                 headers={"Authorization": f"Bearer {tvdb_token}"})  # fmt: skip
    assert (r.status_code, r.headers["Retry-After"]) == (429, "1")


def test_timeout_fault_and_shutdown_does_not_hang(catalog: Catalog) -> None:
    svc = MockServices(catalog)
    try:
        with httpx.Client(headers=UA, timeout=0.3) as http:
            svc.fault("omdb", "timeout")
            url = f"{svc.base_urls['omdb']}/"
            with pytest.raises(httpx.ReadTimeout):
                http.get(url, params={**OMDB, "t": "Dune"})
            assert http.get(url, params={**OMDB, "t": "Dune"}).status_code == 200
            # Another request left hanging in the server while it shuts down.
            svc.fault("imdbapi", "timeout")
            outcome: list[str] = []

            def hang() -> None:
                try:
                    httpx.get(f"{svc.base_urls['imdbapi']}/titles/tt0068646", timeout=10)
                    outcome.append("answered")
                except httpx.HTTPError:
                    outcome.append("cut")

            hanging = threading.Thread(target=hang)
            hanging.start()
            assert wait_for(lambda: svc.pending_faults("imdbapi") == 0)
    finally:
        svc.close()
    # Close woke the handler that hung for the fault's 30 s: it ended (and was logged as
    # unanswered) before close returned, rather than being left behind by close's guard.
    assert svc._inflight == 0 and svc.count("imdbapi", status=0) == 1
    hanging.join(timeout=25)
    assert not hanging.is_alive() and outcome == ["cut"]
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{svc.base_urls['jikan']}/anime", timeout=1)
    svc.close()  # idempotent


# ---------------------------------------------------------------------------------------
# Latency, concurrency, log
# ---------------------------------------------------------------------------------------


def test_latency_is_honoured_and_concurrent(catalog: Catalog) -> None:
    svc = MockServices(catalog, latency=30.0, enforce_limits=False)
    url = f"{svc.base_urls['imdbapi']}/titles/tt0068646"
    outcomes: list[int | str] = []
    limits = httpx.Limits(max_connections=50)
    with httpx.Client(timeout=60, limits=limits) as http:

        def call() -> None:
            try:
                outcomes.append(http.get(url).status_code)
            except httpx.HTTPError:
                outcomes.append("cut")

        callers = [threading.Thread(target=call) for _ in range(40)]
        try:
            with pytest.raises(httpx.ReadTimeout):  # nothing comes back before the latency
                http.get(url, timeout=0.5)
            for caller in callers:
                caller.start()
            # Every request waits out its latency inside the server at the same time: a
            # server that answered one at a time would hold one, never 41.
            assert wait_for(lambda: svc._inflight == 41)
        finally:
            svc.close()  # wakes the waiting handlers
        for caller in callers:
            caller.join(timeout=25)
    assert len(outcomes) == 40


def test_log_and_count(catalog: Catalog) -> None:
    with MockServices(catalog, enforce_limits=False) as svc, httpx.Client(headers=UA) as http:
        http.get(f"{svc.base_urls['tmdb']}/search/movie", params={"query": "Dune"}, headers=TMDB)
        http.get(f"{svc.base_urls['tmdb']}/movie/238", headers=TMDB)
        http.get(f"{svc.base_urls['tmdb']}/movie/238")
        entry = svc.log[0]
        assert (entry.service, entry.method, entry.path, entry.full_path) == (
            "tmdb", "GET", "/search/movie", "/3/search/movie")  # fmt: skip
        assert entry.query == {"query": "Dune"} and entry.status == 200
        assert entry.headers["authorization"].startswith("Bearer ")
        assert svc.count("tmdb") == 3 and svc.count("tmdb", status=401) == 1
        assert svc.count("tmdb", path_prefix="/movie/") == 2 and svc.count("simkl") == 0
        svc.reset_log()
        assert svc.count("tmdb") == 0


def test_simkl_pin_flow_and_sync(catalog: Catalog) -> None:
    with MockServices(catalog, enforce_limits=False) as svc, httpx.Client(headers=UA) as http:
        base = svc.base_urls["simkl"]
        init = http.get(f"{base}/oauth/pin", params=SIMKL).json()
        assert init["result"] == "OK" and init["interval"] == 5
        code = init["user_code"]
        assert http.get(f"{base}/oauth/pin/{code}", params=SIMKL).json()["result"] == "KO"
        done = http.get(f"{base}/oauth/pin/{code}", params=SIMKL).json()
        assert done == {"result": "OK", "access_token": DEFAULT_KEYS["simkl_token"]}
        assert "device_code" in http.get(f"{base}/oauth/pin/{code}", params=SIMKL).json()
        body = {"movies": [{"title": "Der Pate", "ids": {"imdb": "tt0068646"}},
                           {"title": "Nope", "ids": {"imdb": "tt0000001"}}],
                "shows": [{"ids": {"tvdb": 78107}, "seasons": [{"number": 1}]}]}  # fmt: skip
        assert http.post(f"{base}/sync/history", params=SIMKL, json=body).status_code == 401
        r = http.post(f"{base}/sync/history", params=SIMKL, json=body,
                      headers={"Authorization": f"Bearer {done['access_token']}"})  # fmt: skip
        assert r.status_code == 201
        added = r.json()["added"]
        assert (added["movies"], added["shows"], added["episodes"]) == (1, 1, 6)
        assert len(r.json()["not_found"]["movies"]) == 1 and svc.synced[-1] == body


# -- issue 10: anime entries, show status and episode lists, release dates ---------------


def test_anime_season_entries_at_mal_jikan_and_simkl(svc: MockServices, http: httpx.Client) -> None:
    fields = "num_episodes,media_type,start_date,related_anime"
    mal = svc.base_urls["mal"]
    base = http.get(f"{mal}/anime/16498", headers=MAL, params={"fields": fields}).json()
    assert (base["title"], base["num_episodes"]) == ("Shingeki no Kyojin", 25)  # season 1 only
    assert [(r["relation_type"], r["node"]["id"]) for r in base["related_anime"]] == [
        ("sequel", 25777)]  # fmt: skip
    params = {"q": "Shingeki no Kyojin Season 3", "fields": fields}
    found = http.get(f"{mal}/anime", headers=MAL, params=params).json()
    node = found["data"][0]["node"]
    assert (node["id"], node["num_episodes"], node["start_date"]) == (35760, 12, "2018-07-23")
    assert "related_anime" not in node  # a detail-only field, as at MAL
    full = http.get(f"{svc.base_urls['jikan']}/anime/25777/full").json()["data"]
    assert full["episodes"] == 12
    assert [(r["relation"], r["entry"][0]["mal_id"]) for r in full["relations"]] == [
        ("Prequel", 16498), ("Sequel", 35760)]  # fmt: skip
    assert "relations" not in http.get(f"{svc.base_urls['jikan']}/anime/25777").json()["data"]
    simkl = svc.base_urls["simkl"]
    params = {"q": "Shingeki no Kyojin Season 2", "extended": "full", **SIMKL}
    rows = http.get(f"{simkl}/search/anime", params=params).json()
    assert rows[0]["ids"]["simkl_id"] == 512251 and rows[0]["ep_count"] == 12
    eps = http.get(f"{simkl}/anime/episodes/512251",
                   params={"extended": "full_anime_seasons", **SIMKL}).json()  # fmt: skip
    assert [(e["episode"], e["tvdb"]) for e in eps][:2] == [
        (1, {"season": 2, "episode": 1}), (2, {"season": 2, "episode": 2})]  # fmt: skip
    assert "tvdb" not in http.get(f"{simkl}/anime/episodes/512251", params=SIMKL).json()[0]
    # TMDB knows one show of three seasons.
    show = http.get(f"{svc.base_urls['tmdb']}/tv/1429", headers=TMDB).json()
    assert show["number_of_seasons"] == 3 and show["number_of_episodes"] == 49


def test_a_long_running_anime_is_one_entry(svc: MockServices, http: httpx.Client) -> None:
    simkl = svc.base_urls["simkl"]
    eps = http.get(f"{simkl}/anime/episodes/41501",
                   params={"extended": "full_anime_seasons", **SIMKL}).json()  # fmt: skip
    by_tvdb = {(e["tvdb"]["season"], e["tvdb"]["episode"]): e["episode"] for e in eps}
    assert by_tvdb[(2, 1)] == 27 and by_tvdb[(3, 20)] == 70
    node = http.get(f"{svc.base_urls['mal']}/anime/50001", headers=MAL,
                    params={"fields": "num_episodes,status"}).json()  # fmt: skip
    assert (node["num_episodes"], node["status"]) == (70, "currently_airing")


def test_ended_and_airing_shows_tell_their_last_aired_episode(
    svc: MockServices, http: httpx.Client, tvdb_token: str
) -> None:
    tmdb = svc.base_urls["tmdb"]
    ended = http.get(f"{tmdb}/tv/2996", headers=TMDB).json()
    assert ended["status"] == "Ended" and ended["next_episode_to_air"] is None
    last = ended["last_episode_to_air"]
    assert (last["season_number"], last["episode_number"]) == (2, 6)
    airing = http.get(f"{tmdb}/tv/230001", headers=TMDB).json()
    assert airing["status"] == "Returning Series"
    last, nxt = airing["last_episode_to_air"], airing["next_episode_to_air"]
    assert (last["season_number"], last["episode_number"]) == (2, 5)
    assert (nxt["season_number"], nxt["episode_number"], nxt["air_date"][:4]) == (2, 6, "2031")
    eps = http.get(f"{svc.base_urls['simkl']}/tv/episodes/2230001", params=SIMKL).json()
    assert [(e["episode"], e["aired"]) for e in eps if e["season"] == 2][-4:] == [
        (5, True), (6, False), (7, False), (8, False)]  # fmt: skip
    record = http.get(f"{svc.base_urls['tvdb']}/series/430001/extended",
                      params={"meta": "episodes"},
                      headers={"Authorization": f"Bearer {tvdb_token}"}).json()["data"]  # fmt: skip
    assert record["status"]["name"] == "Continuing" and record["nextAired"].startswith("2031")
    assert max(e["aired"] for e in record["episodes"]).startswith("2031")


def test_a_decoy_announced_after_the_watch(svc: MockServices, http: httpx.Client) -> None:
    rows = http.get(f"{svc.base_urls['tmdb']}/search/movie", params={"query": "Glass Harbor"},
                    headers=TMDB).json()["results"]  # fmt: skip
    assert [(r["id"], r["release_date"]) for r in rows] == [
        (1270001, "2027-03-12"),
        (619001, "2019-10-11"),
    ]  # the decoy is the more popular
    assert http.get(f"{svc.base_urls['tmdb']}/movie/1270001", headers=TMDB).json()[
        "status"] == "Planned"  # fmt: skip
    simkl = http.get(f"{svc.base_urls['simkl']}/search/movie",
                     params={"q": "Glass Harbor", "extended": "full", **SIMKL}).json()  # fmt: skip
    assert [(r["year"], r["status"]) for r in simkl] == [(2027, "upcoming"), (2019, "released")]
