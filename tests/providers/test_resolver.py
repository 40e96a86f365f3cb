"""The resolver beyond scoring (issue 10): watch dates, the request plan, ids, details.

Pure: providers are in-memory fakes that count their calls, so what the plan asks of
each service is checked exactly. Against the mock services: tests/test_enrich.py.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import ClassVar

from pv2simkl.models import Ids
from pv2simkl.providers.base import AnimeEntry, Candidate, Details, MediaKind, Provider, Query
from pv2simkl.providers.resolver import (
    AFTER_WATCH,
    RELEASED_AFTER_WATCH,
    WATCH_YEAR_FAR,
    Planner,
    Resolver,
    decide,
    missing_ids,
    score,
)

WATCHED_2025 = datetime(2025, 5, 1, 20, 0, tzinfo=UTC)


def movie(title: str, year: int, tmdb: int, released: str | None = None, pop: float = 1.0):
    return Candidate("tmdb", title, "movie", year, Ids(tmdb=tmdb), popularity=pop,
                     released=released)  # fmt: skip


def pick(query: Query, candidates: list[Candidate]) -> int | None:
    chosen = decide([score(query, c) for c in candidates])
    return chosen.candidate.ids.tmdb if chosen else None


# -- watch dates -------------------------------------------------------------------------

GLASS = [movie("Glass Harbor", 2027, 1270001, "2027-03-12", pop=300),
         movie("Glass Harbor", 2019, 619001, "2019-10-11", pop=12)]  # fmt: skip


def test_a_not_yet_released_decoy_no_longer_keeps_the_right_one_from_matching() -> None:
    assert pick(Query("Glass Harbor", "movie"), GLASS) is None  # without the date: ambiguous
    assert pick(Query("Glass Harbor", "movie", first_watched=WATCHED_2025), GLASS) == 619001


def test_released_after_the_first_watch_is_named_in_why() -> None:
    decoy = score(Query("Glass Harbor", "movie", first_watched=WATCHED_2025), GLASS[0])
    assert decoy.why == {"title": 100.0, "type": 5.0, "date": AFTER_WATCH}
    assert decoy.score == 100.0 + 5.0 + RELEASED_AFTER_WATCH


def test_a_release_date_decides_within_the_year_and_a_bare_year_only_after_it() -> None:
    query = Query("Spring Film", "movie", first_watched=WATCHED_2025)
    later_that_year = movie("Spring Film", 2025, 1, "2025-09-01")
    same_day = movie("Spring Film", 2025, 2, "2025-05-02")  # a local date one day ahead
    year_only = movie("Spring Film", 2025, 3)
    next_year = movie("Spring Film", 2026, 4)
    assert score(query, later_that_year).why.get("date") == AFTER_WATCH
    assert "date" not in score(query, same_day).why
    assert "date" not in score(query, year_only).why
    assert score(query, next_year).why.get("date") == AFTER_WATCH


def test_the_first_watch_year_weighs_against_far_off_years_only_without_a_year() -> None:
    old = movie("Ocean's Eleven", 1960, 299)
    recent = movie("Ocean's Eleven", 2001, 161)
    no_year = Query("Ocean's Eleven", "movie", first_watched=WATCHED_2025)
    assert score(no_year, old).why["watch year"] == WATCH_YEAR_FAR
    assert "watch year" not in score(no_year, recent).why
    with_year = Query("Ocean's Eleven", "movie", 1960, first_watched=WATCHED_2025)
    assert "watch year" not in score(with_year, old).why
    # Evidence, not a verdict: a remake's two films stay for the user to choose.
    assert pick(no_year, [old, recent]) is None


# -- fakes -------------------------------------------------------------------------------


class Fake(Provider):
    """A provider answering from a table; counts every call by kind."""

    name: ClassVar[str] = "fake"

    def __init__(self, name: str, found: list[Candidate], looked: Candidate | None = None,
                 details: Details | None = None) -> None:  # fmt: skip
        self.name = name  # type: ignore[misc]
        self.found, self.looked, self.given = found, looked, details
        self.calls: Counter[str] = Counter()
        self.seasons: list[list[int]] = []

    def search(self, query: Query) -> list[Candidate]:
        self.calls["search"] += 1
        return list(self.found)

    def lookup(self, ids: Ids, kind: MediaKind) -> Candidate | None:
        self.calls["lookup"] += 1
        return self.looked

    def details(self, ids: Ids, kind: MediaKind, seasons: list[int]) -> Details | None:
        self.calls["details"] += 1
        self.seasons.append(seasons)
        return self.given


def resolver(*providers: Fake, rates: dict[str, float] | None = None) -> Resolver:
    rates = rates or {p.name: 10.0 for p in providers}
    return Resolver(list(providers), Planner(rates))


def cand(provider: str, kind: MediaKind, **ids: object) -> Candidate:
    return Candidate(provider, "Night Harbour", kind, 2011, Ids(**ids))  # type: ignore[arg-type]


# -- ids a row needs ---------------------------------------------------------------------


def test_missing_ids_by_kind() -> None:
    assert missing_ids("movie", {"simkl"}) == set()
    assert missing_ids("movie", {"imdb"}) == set()
    assert missing_ids("movie", {"tmdb"}) == {"simkl", "imdb"}
    assert missing_ids("tv", {"simkl", "tmdb"}) == set()
    assert missing_ids("tv", {"simkl"}) == {"tmdb", "tvdb"}
    assert missing_ids("tv", {"tvdb"}) == set()
    assert missing_ids("anime", {"simkl", "tmdb"}) == {"mal"}


def test_a_simkl_id_alone_is_enough_for_a_movie_row() -> None:
    simkl = Fake("simkl", [cand("simkl", "movie", simkl=5, tmdb=7)])
    tmdb = Fake("tmdb", [], looked=cand("tmdb", "movie", tmdb=7, imdb="tt0000007"))
    # TMDB's backlog is long: the IMDb id is a nicety, not asked for.
    plan = Planner({"simkl": 10.0, "tmdb": 1.0})
    plan.owed["tmdb"] = 50.0
    result = Resolver([simkl, tmdb], plan).resolve(1, Query("Night Harbour", "movie", 2011))
    assert result.matched and result.ids.simkl == 5 and result.ids.imdb is None
    assert tmdb.calls == Counter()  # neither searched nor looked up


def test_spare_budget_fills_the_ids_a_row_is_better_with() -> None:
    simkl = Fake("simkl", [cand("simkl", "movie", simkl=5, tmdb=7)])
    tmdb = Fake("tmdb", [], looked=cand("tmdb", "movie", tmdb=7, imdb="tt0000007"))
    result = resolver(simkl, tmdb).resolve(1, Query("Night Harbour", "movie", 2011))
    assert result.provider == "simkl" and result.ids.imdb == "tt0000007"
    assert tmdb.calls["lookup"] == 1  # TMDB has nothing in flight: the IMDb id is cheap


def test_a_tmdb_match_gets_its_imdb_id_from_tmdb_and_asks_simkl_nothing() -> None:
    simkl = Fake("simkl", [cand("simkl", "movie", simkl=5)])
    tmdb = Fake("tmdb", [cand("tmdb", "movie", tmdb=7)],
                looked=cand("tmdb", "movie", tmdb=7, imdb="tt0000007"))  # fmt: skip
    plan = Planner({"simkl": 10.0, "tmdb": 50.0})
    plan.owed["simkl"] = 100.0  # Simkl's queue is ten seconds long
    result = Resolver([simkl, tmdb], plan).resolve(1, Query("Night Harbour", "movie", 2011))
    assert result.provider == "tmdb" and result.ids.imdb == "tt0000007"
    assert simkl.calls == Counter() and tmdb.calls == Counter(search=1, lookup=1)


def test_an_anime_needs_its_mal_id_and_gets_entries_for_the_seasons_watched() -> None:
    entries = [AnimeEntry(1, 16498, 40, "Attack on Titan", 25), AnimeEntry(2, 25777)]
    simkl = Fake("simkl", [cand("simkl", "anime", simkl=40, tmdb=1429)],
                 looked=cand("simkl", "anime", simkl=40, tmdb=1429, mal=16498),
                 details=Details(anime_entries=entries))  # fmt: skip
    tmdb = Fake("tmdb", [], details=Details(ended=True, last_aired=(4, 30)))
    query = Query("Night Harbour", "show", 2011, seasons=(1, 2))
    result = resolver(simkl, tmdb, rates={"simkl": 10.0, "tmdb": 50.0}).resolve(1, query)
    assert result.media_type == "anime" and result.ids.mal == 16498
    assert result.details is not None
    assert result.details.ended is True and result.details.last_aired == (4, 30)  # TMDB's
    assert result.details.anime_entries == entries  # Simkl's: TMDB could not tell them
    assert tmdb.seasons == [[1, 2]] and simkl.seasons == [[1, 2]]


def test_a_show_asks_details_of_the_cheapest_provider_only() -> None:
    simkl = Fake("simkl", [cand("simkl", "tv", simkl=9, tmdb=3)], details=Details(ended=False))
    tmdb = Fake("tmdb", [], details=Details(ended=True, last_aired=(2, 8)))
    result = resolver(simkl, tmdb, rates={"simkl": 10.0, "tmdb": 50.0}).resolve(
        1, Query("Night Harbour", "show", 2011, seasons=(2,))
    )
    assert result.details == Details(ended=True, last_aired=(2, 8))
    assert simkl.calls["details"] == 0 and tmdb.calls["details"] == 1


def test_a_movie_needs_no_details_request() -> None:
    found = Candidate("tmdb", "Night Harbour", "movie", 2011, Ids(tmdb=7, imdb="tt0000007"),
                      released="2011-04-02")  # fmt: skip
    tmdb = Fake("tmdb", [found], details=Details(ended=True))
    result = resolver(tmdb).resolve(1, Query("Night Harbour", "movie", 2011))
    assert result.details == Details(released="2011-04-02") and tmdb.calls["details"] == 0


def test_unmatched_candidates_keep_why() -> None:
    tmdb = Fake("tmdb", list(GLASS))
    result = resolver(tmdb).resolve(1, Query("Glass Harbor", "movie"))
    assert not result.matched
    assert [c["why"] for c in result.candidates] == [{"title": 100.0, "type": 5.0}] * 2


# -- the plan ----------------------------------------------------------------------------


def test_first_searches_spread_over_every_budget() -> None:
    """Works in flight: each service gets a share of first searches by its rate."""
    plan = Planner({"simkl": 10.0, "tmdb": 50.0, "imdbapi": 10.0})
    routes = [("simkl", {"simkl": 1.0}), ("tmdb", {"tmdb": 2.0}), ("imdbapi", {"imdbapi": 1.0})]
    chosen = Counter(plan.choose(routes)[0] for _ in range(450))  # type: ignore[index]
    # 450 works: Simkl and imdbapi.dev ~10 s of requests each, TMDB ~10 s of 2 requests each.
    assert chosen == Counter(tmdb=250, simkl=100, imdbapi=100)
    assert max(plan.owed[s] / plan.rates[s] for s in plan.rates) <= 10.1


def test_a_work_no_first_choice_decides_is_offered_to_every_provider() -> None:
    empty = [Fake(name, []) for name in ("simkl", "tmdb", "tvdb", "mal", "jikan", "omdb")]
    result = resolver(*empty).resolve(1, Query("Night Harbour", "movie"))
    assert not result.matched and all(p.calls["search"] == 1 for p in empty)


def test_localized_titles_go_first_to_services_that_know_them() -> None:
    imdbapi = Fake("imdbapi", [])
    tmdb = Fake("tmdb", [cand("tmdb", "movie", tmdb=7, imdb="tt0000007")])
    plan = Planner({"imdbapi": 1000.0, "tmdb": 1.0})  # imdbapi.dev idle, TMDB slow
    result = Resolver([tmdb, imdbapi], plan).resolve(
        1, Query("Night Harbour", "movie", 2011, language="de")
    )
    assert result.provider == "tmdb" and imdbapi.calls == Counter()


def test_reservations_are_given_back() -> None:
    tmdb = Fake("tmdb", [cand("tmdb", "tv", tmdb=3, tvdb=4)], details=Details(ended=True))
    res = resolver(tmdb)
    res.resolve_many([(i, Query("Night Harbour", "show", 2011), None) for i in range(20)],
                     threads=4)  # fmt: skip
    assert res.planner.owed == {"tmdb": 0.0}


def test_jobs_of_each_kind_are_spread_over_the_run() -> None:
    from pv2simkl.providers.resolver import interleave

    jobs = [(i, Query(f"S{i}", "show"), None) for i in range(6)]
    jobs += [(10 + i, Query(f"M{i}", "movie"), None) for i in range(3)]
    kinds = "".join(q.kind[0] for _, q, _ in interleave(jobs))
    assert kinds == "smssmssms"  # a movie every third job, not all three at the end
    assert [w for w, q, _ in interleave(jobs) if q.kind == "show"] == list(range(6))


def test_an_anime_gets_its_mal_id_by_a_confirmed_search_when_simkl_is_busy() -> None:
    tmdb = Fake("tmdb", [cand("tmdb", "anime", tmdb=1429)], details=Details(ended=True))
    simkl = Fake("simkl", [], looked=cand("simkl", "anime", simkl=40, tmdb=1429, mal=16498))
    wrong_year = Candidate("mal", "Night Harbour", "anime", 1999, Ids(mal=7))
    mal = Fake("mal", [Candidate("mal", "Night Harbour", "anime", 2011, Ids(mal=16498))])
    plan = Planner({"tmdb": 50.0, "simkl": 10.0, "mal": 3.0})
    plan.owed["simkl"] = 100.0  # ten seconds of Simkl requests in flight
    result = Resolver([simkl, tmdb, mal], plan).resolve(1, Query("Night Harbour", "show", 2011))
    assert result.ids.mal == 16498 and result.media_type == "anime"
    assert simkl.calls["search"] == simkl.calls["lookup"] == 0 and mal.calls["search"] == 1
    other = Fake("mal", [wrong_year])
    plan = Planner({"tmdb": 50.0, "mal": 3.0})
    result = Resolver([Fake("tmdb", tmdb.found), other], plan).resolve(
        1, Query("Night Harbour", "show", 2011)
    )
    assert result.ids.mal is None  # 1999 is not the 2011 show: no MAL id rather than a wrong one


def test_a_service_whose_window_is_spent_is_not_chosen_though_it_owes_nothing() -> None:
    # Jikan's 60-a-minute window filled by works that have ended: it owes nothing, but the
    # next request waits 40 s there; MAL, slower per second, serves it now.
    plan = Planner({"jikan": 1.0, "mal": 0.5}, backlog={"jikan": lambda: 40.0})
    chosen = plan.choose([("jikan", {"jikan": 1.0}), ("mal", {"mal": 1.0})])
    assert chosen is not None and chosen[0] == "mal"
    free = Planner({"jikan": 1.0, "mal": 0.5}, backlog={"jikan": lambda: 0.0})
    assert free.choose([("jikan", {"jikan": 1.0}), ("mal", {"mal": 1.0})])[0] == "jikan"
