"""TheTVDB provider against the TheTVDB mock: login and token reuse, search, remote ids."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

import pytest
from provider_support import all_records, assert_no_secret, own_records

from fixtures.services import MockServices
from pv2simkl.models import Ids
from pv2simkl.providers.base import Query
from pv2simkl.providers.errors import Unauthorized, Unavailable
from pv2simkl.providers.tvdb import LEGACY_TOKEN_KEY


def logins(mock: MockServices) -> int:
    return mock.count("tvdb", path_prefix="/login")


def test_search_series_with_remote_ids_and_translations(make, mock: MockServices, hard) -> None:
    work = hard["tv:money-heist"]
    found = make("tvdb").search(Query("Haus des Geldes", "show"))
    assert found and found[0].ids.tvdb == work.tvdb
    assert (found[0].ids.imdb, found[0].ids.tmdb) == (work.imdb, work.tmdb)  # by sourceName
    assert found[0].kind == "tv" and found[0].year == 2017
    assert {"Money Heist", "La casa de papel", "Haus des Geldes"} <= set(found[0].titles)
    sent = mock.requests("tvdb", path_prefix="/search")[-1]
    assert sent.query["type"] == "series" and sent.query["query"] == "Haus des Geldes"
    assert "year" not in sent.query
    assert logins(mock) == 1


def test_search_movies_finds_both_dunes(make, mock: MockServices, hard) -> None:
    found = make("tvdb").search(Query("Dune", "movie"))
    assert {c.ids.tvdb for c in found} == {hard["movie:dune-1984"].tvdb, 1102}
    assert all(c.kind == "movie" for c in found)
    assert mock.requests("tvdb")[-1].query["type"] == "movie"


def test_search_year_is_sent_and_falls_back(make, mock: MockServices) -> None:
    tvdb = make("tvdb")
    assert [c.year for c in tvdb.search(Query("The Office", "show", year=2001))] == [2001]
    assert mock.requests("tvdb")[-1].query["year"] == "2001"
    assert [c.year for c in tvdb.search(Query("Reacher", "show", year=2020))] == [2022]


def test_original_name_first_english_among_titles(make, hard) -> None:
    found = make("tvdb").search(Query("Berserk", "show"))
    assert [c.ids.tvdb for c in found] == [hard["tv:berserk-2016"].tvdb]
    assert found[0].title == "ベルセルク" and "Berserk" in found[0].titles


@pytest.mark.parametrize("key", ["movie:dune-2021", "tv:the-office-us"])
def test_token_is_kept_and_reused(make, mock: MockServices, key: str, hard) -> None:
    tvdb = make("tvdb")
    work = hard[key]
    kind = "movie" if key.startswith("movie") else "show"
    for _ in range(3):
        assert tvdb.search(Query(work.title, kind, year=work.year))  # type: ignore[arg-type]
    assert logins(mock) == 1
    tokens = {r.headers["authorization"] for r in mock.requests("tvdb", path_prefix="/search")}
    assert len(tokens) == 1


def cache_rows(provider) -> list[str]:
    """Every key and body of the response cache the provider's client writes to."""
    rows = provider.client.cache._conn.execute("SELECT key, body FROM http_cache").fetchall()
    return [text for row in rows for text in row]


def test_token_stays_in_memory_never_in_the_cache(make, mock: MockServices) -> None:
    first = make("tvdb", cached=True)
    first.search(Query("Reacher", "show"))
    token = mock.requests("tvdb")[-1].headers["authorization"].removeprefix("Bearer ")
    assert "mock-tvdb." in token
    rows = cache_rows(first)
    assert rows and not any(token in text or "mock-tvdb." in text for text in rows)
    second = make("tvdb", cached=True)  # the next run: same store, new client
    assert second.search(Query("Landman", "show"))
    assert logins(mock) == 2  # the next run logs in once on its own
    assert not any("mock-tvdb." in text for text in cache_rows(second))


def test_token_cached_by_an_earlier_build_is_deleted_unused(make, mock: MockServices) -> None:
    old = make("tvdb", cached=True)
    old.client.cache.put(LEGACY_TOKEN_KEY, "tvdb", "mock-tvdb.left-behind", 25.0)  # type: ignore[union-attr]
    tvdb = make("tvdb", cached=True)
    assert tvdb.client.cache.get(LEGACY_TOKEN_KEY) == (False, None)  # type: ignore[union-attr]
    assert tvdb.search(Query("Reacher", "show"))
    assert logins(mock) == 1
    assert "left-behind" not in mock.requests("tvdb")[-1].headers["authorization"]


def test_threads_share_one_login(make, mock: MockServices) -> None:
    tvdb = make("tvdb")
    titles = ["Reacher", "Landman", "Das Boot", "The Mentalist", "Money Heist", "The Office"]
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda t: tvdb.search(Query(t, "show")), titles))
    assert all(results) and logins(mock) == 1


def test_expired_token_logs_in_once_more(make, mock: MockServices) -> None:
    tvdb = make("tvdb")
    tvdb.search(Query("Reacher", "show"))
    mock.fault("tvdb", "expired-token")
    assert tvdb.search(Query("Landman", "show"))
    assert logins(mock) == 2
    assert mock.count("tvdb", status=401) == 1


def test_bad_key_is_one_login_per_call_never_a_retry(make, mock: MockServices) -> None:
    tvdb = make("tvdb", api_key="wrong-tvdb-key-9")
    with pytest.raises(Unauthorized):
        tvdb.search(Query("Reacher", "show"))
    assert logins(mock) == 1 and mock.count("tvdb", path_prefix="/search") == 0


def test_refused_again_after_relogin_never_loops(make, mock: MockServices) -> None:
    tvdb = make("tvdb")
    mock.fault("tvdb", "expired-token", times=5)
    with pytest.raises(Unauthorized):
        tvdb.search(Query("Reacher", "show"))
    assert logins(mock) == 2  # the first login and one more, never a third
    assert mock.count("tvdb", path_prefix="/search") == 2


def test_bad_key_is_unauthorized(make, mock: MockServices, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    tvdb = make("tvdb", api_key="wrong-tvdb-key-9")
    with pytest.raises(Unauthorized) as err:
        tvdb.search(Query("Reacher", "show"))
    assert "wrong-tvdb-key-9" not in str(err.value)
    assert tvdb.check() == "bad key"
    assert make("tvdb").check() == "ok"
    assert all("wrong-tvdb-key-9" not in m for m in all_records(caplog))


def test_pin_is_sent_when_set(make, catalog) -> None:
    with MockServices(catalog, keys={"tvdb_pin": "4321"}) as own:
        assert make("tvdb", on=own, pin="4321").search(Query("Reacher", "show"))
        assert make("tvdb", on=own).check() == "bad key"
        assert b'"pin"' in own.requests("tvdb", path_prefix="/login")[0].body


def test_lookup_series_by_tvdb_id(make, mock: MockServices, hard) -> None:
    work = hard["tv:the-mentalist"]
    found = make("tvdb").lookup(Ids(tvdb=work.tvdb), "tv")
    assert found is not None
    assert (found.ids.tvdb, found.ids.imdb, found.ids.tmdb) == (work.tvdb, work.imdb, work.tmdb)
    assert found.status == "ended" and found.year == 2008
    assert mock.requests("tvdb")[-1].path == f"/series/{work.tvdb}/extended"


def test_lookup_movie_by_tvdb_id(make, mock: MockServices, hard) -> None:
    work = hard["movie:der-pate"]
    found = make("tvdb").lookup(Ids(tvdb=work.tvdb), "movie")
    assert found is not None and found.kind == "movie" and found.ids.imdb == work.imdb
    assert mock.requests("tvdb")[-1].path == f"/movies/{work.tvdb}/extended"


def test_lookup_by_imdb_via_remote_id(make, mock: MockServices, hard) -> None:
    work = hard["tv:landman"]
    found = make("tvdb").lookup(Ids(imdb=work.imdb), "tv")
    assert found is not None
    assert (found.ids.tvdb, found.ids.tmdb, found.ids.imdb) == (work.tvdb, work.tmdb, work.imdb)
    paths = [r.path for r in mock.requests("tvdb") if r.path != "/login"]
    assert paths == [f"/search/remoteid/{work.imdb}", f"/series/{work.tvdb}/extended"]


def test_lookup_unknown_is_none(make, mock: MockServices) -> None:
    tvdb = make("tvdb")
    assert tvdb.lookup(Ids(tvdb=1), "tv") is None  # 404
    assert tvdb.lookup(Ids(imdb="tt0000001"), "tv") is None  # empty data
    assert tvdb.lookup(Ids(tmdb=238), "movie") is None  # nothing to ask by


def test_empty_results(make, mock: MockServices) -> None:
    tvdb = make("tvdb")
    assert tvdb.search(Query("The Unfindable Nobody Film", "movie")) == []
    mock.fault("tvdb", "empty", path_prefix="/search")
    assert tvdb.search(Query("Reacher", "show")) == []


def test_5xx_and_malformed_json(make, mock: MockServices) -> None:
    tvdb = make("tvdb", attempts=3)
    mock.fault("tvdb", "500", times=2, path_prefix="/search")
    assert tvdb.search(Query("Reacher", "show"))
    mock.fault("tvdb", "malformed-json", times=3, path_prefix="/search")
    with pytest.raises(Unavailable):
        tvdb.search(Query("Landman", "show"))
    assert logins(mock) == 1


def test_429_on_login_and_search_is_retried(make, mock: MockServices) -> None:
    mock.fault("tvdb", "429", times=1, path_prefix="/login")
    mock.fault("tvdb", "429", times=1, path_prefix="/search")
    tvdb = make("tvdb")
    assert tvdb.search(Query("Reacher", "show"))
    assert mock.count("tvdb", status=429) == 2


def test_second_identical_call_is_cached(make, mock: MockServices) -> None:
    first = make("tvdb", cached=True).search(Query("Das Boot", "show"))
    sent = mock.count("tvdb")
    again = make("tvdb", cached=True).search(Query("Das Boot", "show"))
    assert again == first and mock.count("tvdb") == sent  # no login, no search


def test_offline_uses_the_cache_without_logging_in(make, mock: MockServices) -> None:
    online = make("tvdb", cached=True)
    online.search(Query("Das Boot", "show"))
    sent = mock.count("tvdb")
    assert make("tvdb", cached=True, offline=True).search(Query("Das Boot", "show"))
    assert mock.count("tvdb") == sent


def test_no_secret_in_errors_or_logs(make, mock: MockServices, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    messages = []
    tvdb = make("tvdb", cached=True)
    tvdb.search(Query("Reacher", "show"))
    mock.fault("tvdb", "expired-token", times=2)
    with pytest.raises(Unauthorized) as err:
        tvdb.search(Query("Landman", "show"))
    messages.append(str(err.value))
    with pytest.raises(Unauthorized) as err:
        make("tvdb", api_key="x").probe()
    messages.append(str(err.value))
    assert_no_secret(messages + own_records(caplog) + all_records(caplog))


# -- details (issue 10) -----------------------------------------------------------------


def test_details_of_ended_and_airing_series(make, mock: MockServices) -> None:
    from pv2simkl.models import Ids

    tvdb = make("tvdb")
    ended = tvdb.details(Ids(tvdb=78107), "tv", [1])
    assert ended is not None
    assert (ended.released, ended.ended, ended.last_aired) == ("2001-07-09", True, (2, 6))
    airing = tvdb.details(Ids(tvdb=430001), "tv", [2])
    assert airing is not None and (airing.ended, airing.last_aired) == (False, (2, 5))
    assert tvdb.details(Ids(tmdb=5), "tv", [1]) is None
