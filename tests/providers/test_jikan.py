"""The Jikan provider (MyAnimeList's unofficial mirror) against its mock."""

from __future__ import annotations

import pytest

from fixtures.services import MockServices
from pv2simkl.models import Ids
from pv2simkl.providers.base import Query
from pv2simkl.providers.errors import Unavailable

# -- Jikan ---------------------------------------------------------------------------------


def test_jikan_search_show_and_film(make, mock: MockServices) -> None:
    jikan = make("jikan")
    show = jikan.search(Query("Berserk", "show"))
    assert [c.ids.mal for c in show] == [33] and show[0].kind == "anime"
    assert show[0].year == 1997 and show[0].status == "ended"
    assert {"Kenpuu Denki Berserk", "Berserk", "剣風伝奇ベルセルク"} <= set(show[0].titles)
    film = jikan.search(Query("Chihiros Reise ins Zauberland", "movie"))
    assert [c.ids.mal for c in film] == [199]
    assert film[0].year == 2001  # from aired.from: Jikan's year is null for films
    assert jikan.search(Query("Spirited Away", "show")) == []
    assert mock.requests("jikan")[-1].query == {"q": "Spirited Away", "limit": "10"}


def test_jikan_lookup_by_mal_id(make, mock: MockServices) -> None:
    jikan = make("jikan")
    found = jikan.lookup(Ids(mal=199), "anime")
    assert found is not None and found.ids.mal == 199 and "Spirited Away" in found.titles
    assert mock.requests("jikan")[-1].path == "/anime/199"
    assert jikan.lookup(Ids(mal=424242), "anime") is None
    assert jikan.lookup(Ids(imdb="tt0245429"), "movie") is None
    assert mock.count("jikan") == 2


def test_jikan_rate_limit_429_is_retried(make, catalog) -> None:
    # The real limit (3/s): a client without its own limiter meets 429 + Retry-After.
    with MockServices(catalog) as own:
        jikan = make("jikan", on=own, limits="", attempts=6)
        titles = ["Berserk", "Spirited Away", "Kenpuu Denki Berserk", "千と千尋の神隠し", "Sen to"]
        found = [jikan.search(Query(t, "show")) for t in titles]
        assert own.count("jikan", status=429) >= 1
    assert all(found[i] for i in (0, 2)) and jikan.client.stats.throttled >= 1


def test_jikan_own_limiter_avoids_429(make, catalog, clock) -> None:
    with MockServices(catalog) as own:
        jikan = make("jikan", on=own)  # limits "3/1, 60/60" from the settings
        for title in ["Berserk", "Spirited Away", "Kenpuu", "Sen to Chihiro"]:
            jikan.search(Query(title, "show"))
        assert own.count("jikan", status=429) == 0 and own.count("jikan") == 4
    assert clock.sleeps == [pytest.approx(1.055)]  # the fourth waited for the window


def test_jikan_faults(make, mock: MockServices) -> None:
    jikan = make("jikan", attempts=3, limits="")  # no limiter wait: only the faults matter
    mock.fault("jikan", "500", times=2)
    assert jikan.search(Query("Berserk", "show"))
    mock.fault("jikan", "malformed-json", times=3)
    with pytest.raises(Unavailable):
        jikan.search(Query("Berserk", "show"))
    mock.fault("jikan", "empty")
    assert jikan.search(Query("Berserk", "show")) == []


def test_jikan_cached(make, mock: MockServices) -> None:
    make("jikan", cached=True).lookup(Ids(mal=33), "anime")
    sent = mock.count("jikan")
    assert make("jikan", cached=True).lookup(Ids(mal=33), "anime") is not None
    assert mock.count("jikan") == sent


def test_jikan_probe(make, mock: MockServices) -> None:
    assert make("jikan").check() == "ok"
    mock.fault("jikan", "503", times=2)
    assert make("jikan", attempts=2).check() == "unreachable"
