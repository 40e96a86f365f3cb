"""The MyAnimeList provider against its mock: anime search, MAL ids, failures, seasons by name."""

from __future__ import annotations

import logging

import pytest
from provider_support import all_records, assert_no_secret

from fixtures.services import MockServices
from pv2simkl.models import Ids
from pv2simkl.providers.base import Query
from pv2simkl.providers.errors import Unauthorized, Unavailable

# -- MyAnimeList ---------------------------------------------------------------------------


def test_mal_search_show(make, mock: MockServices) -> None:
    found = make("mal").search(Query("Berserk", "show"))
    assert [c.ids.mal for c in found] == [33]
    assert found[0].kind == "anime" and found[0].year == 1997 and found[0].status == "ended"
    assert {"Kenpuu Denki Berserk", "Berserk", "剣風伝奇ベルセルク"} <= set(found[0].titles)
    sent = mock.requests("mal")[-1]
    assert sent.headers["x-mal-client-id"] and sent.query["limit"] == "10"
    assert set(sent.query["fields"].split(",")) >= {"alternative_titles", "start_date",
                                                    "media_type", "status"}  # fmt: skip


def test_mal_movie_query_keeps_films_only(make) -> None:
    mal = make("mal")
    film = mal.search(Query("Spirited Away", "movie"))
    assert [c.ids.mal for c in film] == [199] and film[0].status == "released"
    assert mal.search(Query("Spirited Away", "show")) == []  # a film is no show
    assert mal.search(Query("Berserk", "movie")) == []
    assert [c.ids.mal for c in mal.search(Query("千と千尋の神隠し", "movie"))] == [199]


def test_mal_short_query_sends_nothing(make, mock: MockServices) -> None:
    assert make("mal").search(Query("Up", "movie")) == []
    assert make("mal").search(Query("  ab ", "show")) == []
    assert mock.count("mal") == 0


def test_mal_has_no_lookup(make, mock: MockServices) -> None:
    assert make("mal").lookup(Ids(mal=33), "anime") is None
    assert mock.count("mal") == 0


def test_mal_bad_client_id(make, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    mal = make("mal", client_id="wrong-mal-id-7")
    with pytest.raises(Unauthorized) as err:
        mal.search(Query("Berserk", "show"))
    assert "wrong-mal-id-7" not in str(err.value)
    assert mal.check() == "bad key" and make("mal").check() == "ok"
    assert all("wrong-mal-id-7" not in m for m in all_records(caplog))


def test_mal_dos_detected_is_retried_not_a_bad_key(make, catalog) -> None:
    # MyAnimeList answers "too fast" with 403 "DoS detected": a wait and a retry, not a key error.
    with MockServices(catalog, limits={"mal": [(1, 1.0)]}) as own:
        mal = make("mal", on=own, limits="")
        assert mal.search(Query("Berserk", "show"))
        assert mal.search(Query("Spirited Away", "movie"))
        assert own.count("mal", status=403) >= 1


def test_mal_faults(make, mock: MockServices) -> None:
    mal = make("mal", attempts=3, limits="")  # no limiter wait: only the faults matter
    mock.fault("mal", "502", times=2)
    assert mal.search(Query("Berserk", "show"))
    mock.fault("mal", "malformed-json", times=3)
    with pytest.raises(Unavailable):
        mal.search(Query("Spirited Away", "movie"))
    mock.fault("mal", "empty")
    assert mal.search(Query("Berserk", "show")) == []


def test_mal_cached(make, mock: MockServices) -> None:
    first = make("mal", cached=True).search(Query("Berserk", "show"))
    sent = mock.count("mal")
    assert make("mal", cached=True).search(Query("Berserk", "show")) == first
    assert mock.count("mal") == sent


def test_no_secret_in_errors_or_logs(make, mock: MockServices, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    make("mal").search(Query("Berserk", "show"))
    mock.fault("mal", "500", times=2)
    with pytest.raises(Unavailable) as err:
        make("mal", attempts=2).search(Query("Berserk", "show"))
    assert_no_secret([str(err.value), *all_records(caplog)])


# -- details (issue 10) -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["mal", "jikan"])
def test_details_find_season_entries_by_their_titles(make, mock: MockServices, name: str) -> None:
    from pv2simkl.models import Ids

    found = make(name).details(Ids(mal=16498), "anime", [1, 3])
    assert found is not None and found.released == "2013-04-07"
    assert [(e.season, e.mal, e.episodes, e.title) for e in found.anime_entries] == [
        (1, 16498, 25, "Shingeki no Kyojin"),
        (3, 35760, 12, "Shingeki no Kyojin Season 3"),
    ]
    # A long-running series: no entry is named for season 2, so none is made up.
    long = make(name).details(Ids(mal=50001), "anime", [1, 2])
    assert long is not None and [e.season for e in long.anime_entries] == [1]
    assert long.anime_entries[0].episodes is None  # still airing


def test_search_rows_carry_their_start_date(make, mock: MockServices) -> None:
    from pv2simkl.providers.base import Query

    found = make("mal").search(Query("Shingeki no Kyojin Season 2", "show"))
    assert found[0].ids.mal == 25777 and found[0].released == "2017-04-01"
