"""Simkl provider against the Simkl mock: search, id lookup, records, episodes, failures."""

from __future__ import annotations

import logging

import pytest
from provider_support import all_records, assert_no_secret, own_records

from fixtures.services import MockServices
from pv2simkl.models import Ids
from pv2simkl.providers.base import Query
from pv2simkl.providers.errors import Unauthorized, Unavailable


def test_search_movie_returns_both_remakes_with_int_ids(make, mock: MockServices, hard) -> None:
    simkl = make("simkl")
    found = simkl.search(Query("Dune", "movie"))
    by_year = {c.year: c for c in found}
    assert {1984, 2021} <= by_year.keys()
    assert by_year[2021].ids.simkl == hard["movie:dune-2021"].simkl  # read from ids.simkl_id
    assert by_year[1984].ids.simkl == hard["movie:dune-1984"].simkl
    assert by_year[2021].ids.tmdb == 438631  # "tmdb": "438631" in the reply
    assert all(c.kind == "movie" and c.provider == "simkl" for c in found)
    sent = mock.requests("simkl", path_prefix="/search/movie")[-1].query
    assert "year" not in sent  # never an empty &year=
    assert sent["limit"] == "10" and sent["extended"] == "full"
    assert sent["app-name"] == "pv2simkl" and sent["app-version"]


def test_search_with_year_sends_it_and_narrows(make, mock: MockServices) -> None:
    found = make("simkl").search(Query("Dune", "movie", year=2021))
    assert [c.year for c in found] == [2021]
    assert mock.requests("simkl", path_prefix="/search/movie")[-1].query["year"] == "2021"


def test_year_hint_off_by_one_falls_back_to_no_year(make, mock: MockServices) -> None:
    found = make("simkl").search(Query("Reacher", "show", year=2021))
    assert [c.year for c in found] == [2022]


def test_search_show_asks_anime_only_without_an_exact_tv_title(
    make, mock: MockServices, hard
) -> None:
    simkl = make("simkl")
    found = simkl.search(Query("Kenpuu Denki Berserk", "show"))
    assert [r.path for r in mock.requests("simkl")] == ["/search/tv", "/search/anime"]
    anime = next(c for c in found if c.kind == "anime")
    assert anime.ids.simkl == hard["anime:berserk-1997"].simkl
    assert "Berserk" in anime.titles and "Kenpuu Denki Berserk" in anime.titles
    mock.reset_log()
    found = simkl.search(Query("Berserk", "show"))  # the tv search has it exactly
    assert [r.path for r in mock.requests("simkl")] == ["/search/tv"]
    assert found[0].ids.simkl == hard["tv:berserk-2016"].simkl


@pytest.mark.parametrize(
    "key", ["movie:alive", "movie:100-wolf", "movie:face-off", "movie:crouching-tiger"]
)
def test_punctuated_titles_are_url_encoded(make, mock: MockServices, hard, key: str) -> None:
    work = hard[key]
    found = make("simkl").search(Query(work.title, "movie"))
    assert found and found[0].ids.simkl == work.simkl
    assert mock.requests("simkl")[-1].query["q"] == work.title


def test_lookup_by_imdb_reads_search_id_then_the_record(make, mock: MockServices, hard) -> None:
    work = hard["movie:dune-2021"]
    found = make("simkl").lookup(Ids(imdb=work.imdb), "movie")
    assert found is not None
    assert found.ids.simkl == work.simkl  # /search/id answers ids.simkl
    assert (found.ids.tmdb, found.ids.imdb) == (work.tmdb, work.imdb)
    assert [r.path for r in mock.requests("simkl")] == ["/search/id", f"/movies/{work.simkl}"]


def test_lookup_show_by_tmdb_sends_type_show(make, mock: MockServices, hard) -> None:
    work = hard["tv:the-office-us"]
    found = make("simkl").lookup(Ids(tmdb=work.tmdb), "tv")
    assert found is not None and found.kind == "tv"
    assert (found.ids.simkl, found.ids.tvdb, found.ids.imdb) == (work.simkl, work.tvdb, work.imdb)
    first = mock.requests("simkl")[0]
    assert first.query["type"] == "show" and first.query["tmdb"] == str(work.tmdb)
    assert mock.requests("simkl")[1].path == f"/tv/{work.simkl}"


def test_lookup_anime_by_mal_gets_full_ids(make, mock: MockServices, hard) -> None:
    work = hard["anime:berserk-1997"]
    found = make("simkl").lookup(Ids(mal=33), "tv")
    assert found is not None and found.kind == "anime"
    assert (found.ids.simkl, found.ids.mal, found.ids.tmdb) == (work.simkl, 33, work.tmdb)
    assert mock.requests("simkl")[-1].path == f"/anime/{work.simkl}"


def test_lookup_anime_film_by_imdb(make, mock: MockServices, hard) -> None:
    work = hard["anime:spirited-away"]  # a film Simkl keeps under anime
    found = make("simkl").lookup(Ids(imdb=work.imdb), "movie")
    assert found is not None and found.kind == "anime"
    assert (found.ids.simkl, found.ids.mal, found.ids.tmdb) == (work.simkl, 199, work.tmdb)
    assert mock.requests("simkl")[-1].path == f"/anime/{work.simkl}"


def test_lookup_by_simkl_id_of_an_anime_asked_as_tv(make, mock: MockServices, hard) -> None:
    work = hard["anime:berserk-1997"]
    found = make("simkl").lookup(Ids(simkl=work.simkl), "tv")
    assert found is not None and found.ids.mal == 33 and found.kind == "anime"
    assert [r.path for r in mock.requests("simkl")] == [f"/tv/{work.simkl}", f"/anime/{work.simkl}"]
    film = hard["anime:spirited-away"]  # a pinned Simkl id of an anime film, asked as a movie
    found = make("simkl").lookup(Ids(simkl=film.simkl), "movie")
    assert found is not None and (found.kind, found.ids.mal) == ("anime", 199)


def test_lookup_not_found_is_none(make, mock: MockServices) -> None:
    simkl = make("simkl")
    assert simkl.lookup(Ids(imdb="tt9999999"), "movie") is None  # []
    mock.fault("simkl", "empty", path_prefix="/search/id")
    assert simkl.lookup(Ids(imdb="tt0068646"), "movie") is None  # null
    assert simkl.lookup(Ids(), "movie") is None
    assert mock.count("simkl") == 2


def test_season_episodes(make, hard) -> None:
    work = hard["tv:the-office-us"]
    episodes = make("simkl").season_episodes(Ids(simkl=work.simkl), 2)
    assert episodes is not None and len(episodes) == 22
    assert episodes[1] == work.seasons[2][0] and episodes[22] == work.seasons[2][21]
    assert make("simkl").season_episodes(Ids(), 1) is None


def test_empty_results(make, mock: MockServices) -> None:
    simkl = make("simkl")
    assert simkl.search(Query("The Unfindable Nobody Film", "movie")) == []
    mock.fault("simkl", "empty")
    assert simkl.search(Query("Dune", "movie", year=None)) == []


def test_bad_key_is_unauthorized_without_the_key(make, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    simkl = make("simkl", client_id="wrong-client-id-123")
    with pytest.raises(Unauthorized) as err:
        simkl.search(Query("Dune", "movie"))
    assert "wrong-client-id-123" not in str(err.value)
    assert simkl.check() == "bad key"
    assert make("simkl").check() == "ok"
    assert all("wrong-client-id-123" not in m for m in own_records(caplog))


def test_5xx_burst_is_retried(make, mock: MockServices) -> None:
    mock.fault("simkl", "503", times=2)
    found = make("simkl", attempts=3).search(Query("Dune", "movie"))
    assert len(found) == 2
    assert mock.count("simkl", status=503) == 2


def test_malformed_json_retried_then_unavailable(make, mock: MockServices) -> None:
    mock.fault("simkl", "malformed-json", times=1)
    assert len(make("simkl").search(Query("Dune", "movie"))) == 2
    mock.fault("simkl", "malformed-json", times=3)
    with pytest.raises(Unavailable):
        make("simkl", attempts=3).search(Query("Dune", "movie"))


def test_timeout_is_retried(make, mock: MockServices) -> None:
    mock.fault("simkl", "timeout", times=1)
    found = make("simkl", timeout=0.5).search(Query("Dune", "movie"))
    assert len(found) == 2


def test_429_with_and_without_retry_after_never_surfaces(make, catalog, clock) -> None:
    # The server allows 2 a second and the client has no limit of its own: the 429s
    # (Simkl's mock sends Retry-After on every other one) are what is tested here.
    with MockServices(catalog, limits={"simkl": [(2, 1.0)]}) as own:
        simkl = make("simkl", on=own, limits="", attempts=8)
        titles = ["Dune", "Face/Off", "#Alive", "100% Wolf", "The Godfather"]
        found = [simkl.search(Query(t, "movie")) for t in titles]
        throttled = own.requests("simkl", status=429)
    assert all(found)
    assert any(r.retry_after for r in throttled) and any(not r.retry_after for r in throttled)
    assert simkl.client.stats.throttled == len(throttled)
    # Every 429 held the client back on the (fake) clock: a second without Retry-After.
    assert len(clock.sleeps) == len(throttled) and all(w >= 1.0 for w in clock.sleeps)


def test_second_identical_call_is_cached(make, mock: MockServices) -> None:
    simkl = make("simkl", cached=True)
    first = simkl.search(Query("Face/Off", "movie"))
    sent = mock.count("simkl")
    again = make("simkl", cached=True).search(Query("Face/Off", "movie"))  # another client
    assert again == first and mock.count("simkl") == sent
    assert simkl.lookup(Ids(imdb="tt0119094"), "movie") is not None
    sent = mock.count("simkl")
    assert simkl.lookup(Ids(imdb="tt0119094"), "movie") is not None
    assert mock.count("simkl") == sent


def test_no_secret_in_errors_or_logs(make, mock: MockServices, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    messages = []
    make("simkl").search(Query("Dune", "movie"))
    make("simkl").lookup(Ids(imdb="tt0068646"), "movie")
    for bad in (make("simkl", client_id="x"),):
        with pytest.raises(Unauthorized) as err:
            bad.search(Query("Dune", "movie"))
        messages.append(str(err.value))
    mock.fault("simkl", "500", times=5)
    with pytest.raises(Unavailable) as err2:
        make("simkl", attempts=2).search(Query("Dune", "movie"))
    messages.append(str(err2.value))
    assert_no_secret(messages + own_records(caplog))


def test_no_secret_in_any_library_log_record(make, caplog) -> None:
    """httpx logs every request URL at INFO: the ``client_id`` query must not be in it."""
    caplog.set_level(logging.DEBUG)
    make("simkl").search(Query("Dune", "movie"))
    assert_no_secret(all_records(caplog))


# -- details (issue 10) -----------------------------------------------------------------


def test_details_of_a_two_season_anime_find_each_seasons_entry(make, mock: MockServices) -> None:
    from pv2simkl.providers.base import AnimeEntry

    found = make("simkl").details(Ids(simkl=39687), "anime", [1, 2, 3])
    assert found is not None and found.released == "2013-04-07"
    assert found.anime_entries == [
        AnimeEntry(1, 16498, 39687, "Shingeki no Kyojin", 25, 0),
        AnimeEntry(2, 25777, 512251, "Shingeki no Kyojin Season 2", 12, 0),
        AnimeEntry(3, 35760, 712461, "Shingeki no Kyojin Season 3", 12, 0),
    ]
    searched = [r.query["q"] for r in mock.requests("simkl", path_prefix="/search/anime")]
    assert searched == ["Shingeki no Kyojin Season 2", "Shingeki no Kyojin Season 3"]


def test_details_of_a_long_running_anime_give_offsets(make, mock: MockServices) -> None:
    found = make("simkl").details(Ids(simkl=41501), "anime", [2, 3])
    assert found is not None
    assert [(e.season, e.mal, e.offset, e.episodes) for e in found.anime_entries] == [
        (2, 50001, 26, None), (3, 50001, 50, None)]  # airing: no final count  # fmt: skip
    assert not mock.requests("simkl", path_prefix="/search")  # one entry holds them all


def test_details_of_ended_and_airing_shows(make, mock: MockServices) -> None:
    simkl = make("simkl")
    ended = simkl.details(Ids(simkl=12001), "tv", [1])
    assert ended is not None and (ended.ended, ended.last_aired) == (True, (2, 6))
    assert ended.released == "2001-07-09"
    airing = simkl.details(Ids(simkl=2230001), "tv", [2])
    assert airing is not None and (airing.ended, airing.last_aired) == (False, (2, 5))


def test_details_of_a_movie_and_release_dates_in_search(make, mock: MockServices) -> None:
    simkl = make("simkl")
    found = simkl.details(Ids(simkl=2270001), "movie", [])
    assert found is not None and (found.released, found.ended) == ("2027-03-12", False)
    rows = simkl.search(Query("Glass Harbor", "movie"))
    assert {c.released for c in rows} == {"2019", "2027"}  # the search tells years only
    assert simkl.details(Ids(), "tv", [1]) is None
