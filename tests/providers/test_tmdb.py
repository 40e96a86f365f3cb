"""TMDB provider against the TMDB mock: localized search, external ids, seasons, failures."""

from __future__ import annotations

import logging

import pytest
from provider_support import all_records, assert_no_secret, own_records

from fixtures.services import DEFAULT_KEYS, MockServices
from pv2simkl.models import Ids
from pv2simkl.providers.base import Query
from pv2simkl.providers.errors import RateLimited, Unauthorized, Unavailable
from pv2simkl.providers.tmdb import Tmdb, TmdbSettings


def test_der_pate_found_by_its_german_title(make, mock: MockServices, hard) -> None:
    found = make("tmdb").search(Query("Der Pate", "movie", language="de"))
    assert found and found[0].ids.tmdb == hard["movie:der-pate"].tmdb
    assert found[0].title == "Der Pate" and "The Godfather" in found[0].titles
    assert found[0].year == 1972 and found[0].kind == "movie"
    sent = mock.requests("tmdb")[-1]
    assert sent.path == "/search/movie" and sent.query["language"] == "de"
    assert sent.headers["authorization"].startswith("Bearer ")
    assert "api_key" not in sent.query


def test_dune_gives_two_candidates_with_popularity(make, mock: MockServices, hard) -> None:
    found = make("tmdb").search(Query("Dune", "movie"))
    assert {(c.year, c.ids.tmdb) for c in found} >= {(1984, 841), (2021, 438631)}
    assert found[0].popularity > found[1].popularity > 0
    assert "year" not in mock.requests("tmdb")[-1].query
    assert "language" not in mock.requests("tmdb")[-1].query


def test_tv_search_sends_first_air_date_year(make, mock: MockServices, hard) -> None:
    found = make("tmdb").search(Query("The Office", "show", year=2005))
    assert [c.ids.tmdb for c in found] == [hard["tv:the-office-us"].tmdb]
    assert found[0].kind == "tv" and found[0].title == "The Office"
    sent = mock.requests("tmdb")[-1]
    assert sent.path == "/search/tv" and sent.query["first_air_date_year"] == "2005"


def test_year_hint_off_by_one_falls_back(make, mock: MockServices) -> None:
    found = make("tmdb").search(Query("Reacher", "show", year=2023))
    assert [c.year for c in found] == [2022]
    assert mock.count("tmdb") == 2


def test_japanese_animation_show_is_anime(make, hard) -> None:
    found = make("tmdb").search(Query("Berserk", "show"))
    kinds = {c.ids.tmdb: c.kind for c in found}
    assert kinds[hard["anime:berserk-1997"].tmdb] == "anime"  # ja + genre 16
    assert kinds[hard["tv:berserk-2016"].tmdb] == "tv"  # ja, not animation


@pytest.mark.parametrize(
    "key", ["movie:alive", "movie:100-wolf", "movie:face-off", "movie:crouching-tiger"]
)
def test_punctuated_titles_are_url_encoded(make, mock: MockServices, hard, key: str) -> None:
    work = hard[key]
    found = make("tmdb").search(Query(work.title, "movie"))
    assert found and found[0].ids.tmdb == work.tmdb
    assert mock.requests("tmdb")[-1].query["query"] == work.title


def test_api_key_in_the_query_when_no_token(make, mock: MockServices) -> None:
    tmdb = make("tmdb", token="", api_key=DEFAULT_KEYS["tmdb_api_key"])
    assert tmdb.search(Query("Dune", "movie"))
    sent = mock.requests("tmdb")[-1]
    assert sent.query["api_key"] == DEFAULT_KEYS["tmdb_api_key"]
    assert "authorization" not in sent.headers


def test_missing_and_auth() -> None:
    assert Tmdb.missing(TmdbSettings()) == ["token or api_key"]
    assert Tmdb.missing(TmdbSettings(token="t")) == []
    assert Tmdb.missing(TmdbSettings(api_key="k")) == []
    assert Tmdb.auth(TmdbSettings(token="t", api_key="k")) == ({"Authorization": "Bearer t"}, {})
    assert Tmdb.auth(TmdbSettings(api_key="k")) == ({}, {"api_key": "k"})


@pytest.mark.parametrize("setting", [{"token": "bad-token-1"}, {"token": "", "api_key": "bad-k"}])
def test_bad_key_is_unauthorized(make, caplog, setting: dict[str, str]) -> None:
    caplog.set_level(logging.DEBUG)
    tmdb = make("tmdb", **setting)
    with pytest.raises(Unauthorized) as err:
        tmdb.search(Query("Dune", "movie"))
    assert "Invalid API key" in str(err.value)
    secret = setting.get("api_key") or setting["token"]
    assert all(secret not in m for m in [str(err.value), *own_records(caplog)])
    assert tmdb.check() == "bad key"


def test_lookup_movie_external_ids(make, mock: MockServices, hard) -> None:
    work = hard["movie:face-off"]
    found = make("tmdb").lookup(Ids(tmdb=work.tmdb), "movie")
    assert found is not None and found.ids.imdb == work.imdb and found.ids.tmdb == work.tmdb
    assert mock.requests("tmdb")[-1].path == f"/movie/{work.tmdb}/external_ids"


def test_lookup_show_external_ids_has_tvdb(make, mock: MockServices, hard) -> None:
    work = hard["tv:the-office-uk"]
    found = make("tmdb").lookup(Ids(tmdb=work.tmdb), "tv")
    assert found is not None and (found.ids.tvdb, found.ids.imdb) == (work.tvdb, work.imdb)
    assert mock.requests("tmdb")[-1].path == f"/tv/{work.tmdb}/external_ids"


def test_lookup_by_imdb_uses_find(make, mock: MockServices, hard) -> None:
    tmdb = make("tmdb")
    movie = hard["movie:dune-1984"]
    found = tmdb.lookup(Ids(imdb=movie.imdb), "movie")
    assert found is not None and (found.ids.tmdb, found.year) == (movie.tmdb, 1984)
    sent = mock.requests("tmdb")[-1]
    assert sent.path == f"/find/{movie.imdb}" and sent.query["external_source"] == "imdb_id"
    show = hard["tv:money-heist"]
    found = tmdb.lookup(Ids(imdb=show.imdb), "tv")
    assert found is not None
    assert (found.ids.tmdb, found.ids.tvdb, found.ids.imdb) == (show.tmdb, show.tvdb, show.imdb)
    anime = hard["anime:berserk-1997"]
    found = tmdb.lookup(Ids(imdb=anime.imdb), "tv")
    assert found is not None and found.kind == "anime" and found.ids.tmdb == anime.tmdb


def test_lookup_anime_film_or_series(make, mock: MockServices, hard) -> None:
    tmdb = make("tmdb")
    film = hard["anime:spirited-away"]  # "anime" may be a film: found by its IMDb id
    found = tmdb.lookup(Ids(tmdb=film.tmdb, imdb=film.imdb), "anime")
    assert found is not None and (found.ids.tmdb, found.kind, found.year) == (129, "movie", 2001)
    assert mock.requests("tmdb")[-1].path == f"/find/{film.imdb}"
    series = hard["anime:berserk-1997"]
    found = tmdb.lookup(Ids(tmdb=series.tmdb), "anime")
    assert found is not None and found.ids.imdb == series.imdb
    assert mock.requests("tmdb")[-1].path == f"/tv/{series.tmdb}/external_ids"


def test_lookup_by_tvdb_uses_find(make, hard) -> None:
    work = hard["tv:reacher"]
    found = make("tmdb").lookup(Ids(tvdb=work.tvdb), "tv")
    assert found is not None and (found.ids.tmdb, found.ids.imdb) == (work.tmdb, work.imdb)


def test_lookup_unknown_is_none(make, mock: MockServices) -> None:
    tmdb = make("tmdb")
    assert tmdb.lookup(Ids(tmdb=1), "movie") is None  # 404
    assert tmdb.lookup(Ids(imdb="tt0000001"), "movie") is None  # empty /find buckets
    assert tmdb.lookup(Ids(mal=33), "anime") is None  # nothing TMDB can look up by
    assert mock.count("tmdb") == 2


def test_season_episodes(make, mock: MockServices, hard) -> None:
    work = hard["tv:the-mentalist"]
    tmdb = make("tmdb")
    episodes = tmdb.season_episodes(Ids(tmdb=work.tmdb), 7)
    assert episodes == {i: t for i, t in enumerate(work.seasons[7], start=1)}
    assert mock.requests("tmdb")[-1].path == f"/tv/{work.tmdb}/season/7"
    assert tmdb.season_episodes(Ids(tmdb=work.tmdb), 99) is None
    assert tmdb.season_episodes(Ids(), 1) is None


def test_empty_results(make, mock: MockServices) -> None:
    tmdb = make("tmdb")
    assert tmdb.search(Query("The Unfindable Nobody Film", "movie")) == []
    mock.fault("tmdb", "empty")
    assert tmdb.search(Query("Dune", "movie")) == []


def test_html_5xx_burst_is_retried(make, mock: MockServices) -> None:
    mock.fault("tmdb", "502", times=1)
    mock.fault("tmdb", "503", times=1)
    assert make("tmdb", attempts=3).search(Query("Dune", "movie"))
    assert mock.count("tmdb", status=502) == 1 and mock.count("tmdb", status=503) == 1


def test_malformed_json_retried_then_unavailable(make, mock: MockServices) -> None:
    mock.fault("tmdb", "malformed-json", times=1)
    assert make("tmdb").search(Query("Dune", "movie"))
    mock.fault("tmdb", "malformed-json", times=2)
    with pytest.raises(Unavailable):
        make("tmdb", attempts=2).search(Query("Dune", "movie"))


def test_429_is_retried_never_surfaces(make, mock: MockServices) -> None:
    mock.fault("tmdb", "429", times=1)
    tmdb = make("tmdb", attempts=3)
    assert tmdb.search(Query("Dune", "movie"))
    assert tmdb.client.stats.throttled == 1
    mock.fault("tmdb", "429", times=5)
    with pytest.raises(RateLimited):  # after every attempt: typed, not a raw 429
        make("tmdb", attempts=2).search(Query("Dune", "movie"))


def test_second_identical_call_is_cached(make, mock: MockServices, hard) -> None:
    work = hard["tv:das-boot"]
    first = make("tmdb", cached=True).search(Query("Das Boot", "show", language="de"))
    episodes = make("tmdb", cached=True).season_episodes(Ids(tmdb=work.tmdb), 1)
    sent = mock.count("tmdb")
    tmdb = make("tmdb", cached=True)
    assert tmdb.search(Query("Das Boot", "show", language="de")) == first
    assert tmdb.season_episodes(Ids(tmdb=work.tmdb), 1) == episodes
    assert mock.count("tmdb") == sent and tmdb.client.stats.cache_hits == 2


def test_no_secret_in_errors_or_logs(make, mock: MockServices, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    make("tmdb").search(Query("Der Pate", "movie", language="de"))
    make("tmdb", token="", api_key=DEFAULT_KEYS["tmdb_api_key"]).lookup(Ids(tmdb=238), "movie")
    mock.fault("tmdb", "500", times=3)
    with pytest.raises(Unavailable) as err:
        make("tmdb", attempts=2).search(Query("Dune", "movie"))
    assert_no_secret([str(err.value), *own_records(caplog)])


def test_no_secret_in_any_library_log_record(make, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    make("tmdb", token="", api_key=DEFAULT_KEYS["tmdb_api_key"]).search(Query("Dune", "movie"))
    assert_no_secret(all_records(caplog))


# -- details (issue 10) -----------------------------------------------------------------


def test_details_of_shows_in_one_request(make, mock: MockServices) -> None:
    from pv2simkl.models import Ids

    tmdb = make("tmdb")
    ended = tmdb.details(Ids(tmdb=2996), "tv", [1, 2])
    assert ended is not None
    assert (ended.released, ended.ended, ended.last_aired) == ("2001-07-09", True, (2, 6))
    airing = tmdb.details(Ids(tmdb=230001), "tv", [2])
    assert airing is not None and (airing.ended, airing.last_aired) == (False, (2, 5))
    anime = tmdb.details(Ids(tmdb=1429), "anime", [1, 2])
    assert anime is not None and anime.anime_entries == [] and anime.last_aired == (3, 12)
    assert [r.path for r in mock.requests("tmdb")] == ["/tv/2996", "/tv/230001", "/tv/1429"]


def test_details_of_movies_and_release_dates_in_search(make, mock: MockServices) -> None:
    from pv2simkl.models import Ids
    from pv2simkl.providers.base import Query

    tmdb = make("tmdb")
    decoy = tmdb.details(Ids(tmdb=1270001), "movie", [])
    assert decoy is not None and (decoy.released, decoy.ended) == ("2027-03-12", False)
    found = tmdb.search(Query("Glass Harbor", "movie"))
    assert [c.released for c in found] == ["2027-03-12", "2019-10-11"]
    assert tmdb.details(Ids(imdb="tt0068646"), "movie", []) is None  # no TMDB id: no request
