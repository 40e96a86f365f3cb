"""The OMDb provider against its mock: IMDb ids by title and by id, the key in the query."""

from __future__ import annotations

import logging

import pytest
from provider_support import all_records, assert_no_secret

from fixtures.services import DEFAULT_KEYS, MockServices
from pv2simkl.models import Ids
from pv2simkl.providers.base import Query
from pv2simkl.providers.errors import Unauthorized, Unavailable
from pv2simkl.providers.omdb import Omdb, OmdbSettings

HARD_TITLES = ["movie:alive", "movie:100-wolf", "movie:face-off", "movie:crouching-tiger"]


def test_omdb_auth_is_the_apikey_param() -> None:
    assert Omdb.auth(OmdbSettings(api_key="k")) == ({}, {"apikey": "k"})
    assert Omdb.missing(OmdbSettings()) == ["api_key"]


def test_omdb_search(make, mock: MockServices) -> None:
    omdb = make("omdb")
    dunes = omdb.search(Query("Dune", "movie"))
    assert {(c.year, c.ids.imdb) for c in dunes} == {(1984, "tt0087182"), (2021, "tt1160419")}
    sent = mock.requests("omdb")[-1].query
    assert (sent["s"], sent["type"]) == ("Dune", "movie") and "y" not in sent
    assert sent["apikey"] == DEFAULT_KEYS["omdb"]
    dune = omdb.search(Query("Dune", "movie", year=2021))
    assert [c.ids.imdb for c in dune] == ["tt1160419"]
    assert mock.requests("omdb")[-1].query["y"] == "2021"
    offices = omdb.search(Query("The Office", "show"))
    assert {(c.year, c.kind) for c in offices} == {(2001, "tv"), (2005, "tv")}  # "2001–2002"
    assert mock.requests("omdb")[-1].query["type"] == "series"


@pytest.mark.parametrize("key", HARD_TITLES)
def test_omdb_punctuated_titles(make, mock: MockServices, hard, key: str) -> None:
    work = hard[key]
    found = make("omdb").search(Query(work.title, "movie", year=work.year))
    assert [c.ids.imdb for c in found] == [work.imdb]
    assert mock.requests("omdb")[-1].query["s"] == work.title


def test_omdb_not_found_is_empty_and_year_falls_back(make, mock: MockServices) -> None:
    omdb = make("omdb")
    assert omdb.search(Query("The Unfindable Nobody Film", "movie")) == []  # "Movie not found!"
    assert mock.count("omdb") == 1
    found = omdb.search(Query("Reacher", "show", year=2021))
    assert [c.year for c in found] == [2022] and mock.count("omdb") == 3


def test_omdb_lookup(make, mock: MockServices, hard) -> None:
    omdb = make("omdb")
    work = hard["movie:der-pate"]
    found = omdb.lookup(Ids(imdb=work.imdb), "movie")
    assert found is not None and (found.title, found.year) == ("The Godfather", 1972)
    assert mock.requests("omdb")[-1].query["i"] == work.imdb
    assert omdb.lookup(Ids(imdb="tt0000001"), "movie") is None  # "Error getting data."
    assert omdb.lookup(Ids(simkl=1), "movie") is None
    assert mock.count("omdb") == 2


def test_omdb_bad_key_and_quota_are_unauthorized(make, mock: MockServices, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    bad = make("omdb", api_key="wrong-omdb-key-5")
    with pytest.raises(Unauthorized) as err:
        bad.search(Query("Dune", "movie"))
    assert "Invalid API key!" in str(err.value) and "wrong-omdb-key-5" not in str(err.value)
    assert bad.check() == "bad key"
    mock.fault("omdb", "quota")
    with pytest.raises(Unauthorized) as err:
        make("omdb").search(Query("Dune", "movie"))
    assert "Request limit reached!" in str(err.value)
    assert make("omdb").check() == "ok"
    assert_no_secret([str(err.value), *all_records(caplog)])
    assert all("wrong-omdb-key-5" not in m for m in all_records(caplog))


def test_omdb_faults(make, mock: MockServices) -> None:
    omdb = make("omdb", attempts=3)
    mock.fault("omdb", "500", times=2)
    assert omdb.search(Query("Dune", "movie"))
    mock.fault("omdb", "malformed-json", times=3)
    with pytest.raises(Unavailable):
        omdb.search(Query("Face/Off", "movie"))
    mock.fault("omdb", "empty")
    assert omdb.search(Query("Dune", "movie")) == []


def test_omdb_cached_and_key_not_in_the_cache(make, mock: MockServices, cache_path) -> None:
    first = make("omdb", cached=True).search(Query("Face/Off", "movie"))
    sent = mock.count("omdb")
    assert make("omdb", cached=True).search(Query("Face/Off", "movie")) == first
    assert mock.count("omdb") == sent
    stored = b"".join(p.read_bytes() for p in cache_path.parent.glob(cache_path.name + "*"))
    assert b'"Face/Off"' in stored  # the answer is there (database or its WAL) …
    assert DEFAULT_KEYS["omdb"].encode() not in stored  # … the key is not
