"""The imdbapi.dev provider against its mock: IMDb ids by title and by id."""

from __future__ import annotations

import pytest

from fixtures.services import MockServices
from pv2simkl.models import Ids
from pv2simkl.providers.base import Query
from pv2simkl.providers.errors import Unavailable

HARD_TITLES = ["movie:alive", "movie:100-wolf", "movie:face-off", "movie:crouching-tiger"]


def test_imdbapi_search_by_kind(make, mock: MockServices, hard) -> None:
    imdbapi = make("imdbapi")
    dunes = imdbapi.search(Query("Dune", "movie"))
    assert {(c.year, c.ids.imdb) for c in dunes} == {(1984, "tt0087182"), (2021, "tt1160419")}
    assert mock.requests("imdbapi")[-1].query == {"query": "Dune", "limit": "10"}
    offices = imdbapi.search(Query("The Office", "show"))
    assert {c.ids.imdb for c in offices} == {"tt0290978", "tt0386676"}
    assert all(c.kind == "tv" for c in offices)
    assert imdbapi.search(Query("The Office", "movie")) == []  # series are no movies


@pytest.mark.parametrize("key", HARD_TITLES)
def test_imdbapi_punctuated_titles(make, mock: MockServices, hard, key: str) -> None:
    work = hard[key]
    found = make("imdbapi").search(Query(work.title, "movie"))
    assert found and found[0].ids.imdb == work.imdb
    assert mock.requests("imdbapi")[-1].query["query"] == work.title


def test_imdbapi_lookup(make, mock: MockServices, hard) -> None:
    imdbapi = make("imdbapi")
    work = hard["tv:reacher"]
    found = imdbapi.lookup(Ids(imdb=work.imdb), "tv")
    assert found is not None and (found.ids.imdb, found.kind, found.year) == (work.imdb, "tv", 2022)
    assert mock.requests("imdbapi")[-1].path == f"/titles/{work.imdb}"
    assert imdbapi.lookup(Ids(imdb="tt0000001"), "movie") is None  # 404
    assert imdbapi.lookup(Ids(imdb="nm0000001"), "movie") is None  # not a title id
    assert imdbapi.lookup(Ids(tmdb=238), "movie") is None
    assert mock.count("imdbapi") == 2


def test_imdbapi_faults(make, mock: MockServices) -> None:
    imdbapi = make("imdbapi", attempts=3)
    mock.fault("imdbapi", "503", times=2)
    assert imdbapi.search(Query("Dune", "movie"))
    mock.fault("imdbapi", "malformed-json", times=3)
    with pytest.raises(Unavailable):
        imdbapi.search(Query("Face/Off", "movie"))
    mock.fault("imdbapi", "empty")
    assert imdbapi.search(Query("Dune", "movie")) == []
    mock.fault("imdbapi", "429")
    assert imdbapi.search(Query("Reacher", "show"))
    assert imdbapi.client.stats.throttled == 1


def test_imdbapi_probe(make, mock: MockServices) -> None:
    assert make("imdbapi").check() == "ok"
    mock.fault("imdbapi", "500", times=2)
    assert make("imdbapi", attempts=2).check() == "unreachable"


def test_imdbapi_cached(make, mock: MockServices) -> None:
    first = make("imdbapi", cached=True).search(Query("Dune", "movie"))
    sent = mock.count("imdbapi")
    assert make("imdbapi", cached=True).search(Query("Dune", "movie")) == first
    assert mock.count("imdbapi") == sent


# -- OMDb ----------------------------------------------------------------------------------
