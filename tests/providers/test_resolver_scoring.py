"""Resolver scoring on a table of hard cases (pure: candidates built as providers return them)."""

from __future__ import annotations

import pytest

from pv2simkl.models import Ids
from pv2simkl.providers.base import Candidate, Query
from pv2simkl.providers.resolver import ACCEPT, decide, score


def cand(title: str, kind: str, year: int | None, tmdb: int, *alts: str, pop: float = 1.0):
    return Candidate("tmdb", title, kind, year, Ids(tmdb=tmdb), list(alts), popularity=pop)


def pick(query: Query, candidates: list[Candidate]) -> int | None:
    chosen = decide([score(query, c) for c in candidates])
    return chosen.candidate.ids.tmdb if chosen else None


DUNE = [cand("Dune", "movie", 2021, 438631, pop=90), cand("Dune", "movie", 1984, 841, pop=20)]


@pytest.mark.parametrize(
    ("query", "candidates", "expected"),
    [
        # Remakes: the year decides; without a year the match is ambiguous and left open.
        (Query("Dune", "movie", 2021), DUNE, 438631),
        (Query("Dune", "movie", 1984), DUNE, 841),
        (Query("Dune", "movie"), DUNE, None),
        # Localized titles match through the candidate's other titles.
        (Query("Der Pate", "movie", language="de"),
         [cand("The Godfather", "movie", 1972, 238, "Der Pate", "Il padrino")], 238),
        # Version tags never reach the comparison.
        (Query("Der Pate [dt./OV]", "movie"),
         [cand("The Godfather", "movie", 1972, 238, "Der Pate")], 238),
        # A show and its anime: the show query prefers the tv candidate with the right name.
        (Query("Berserk", "show", 2016),
         [cand("Berserk", "tv", 2016, 68, pop=5), cand("Berserk", "anime", 1997, 67, pop=9)], 68),
        # Type disagreement sinks a same-named candidate.
        (Query("The Boys", "show"),
         [cand("The Boys", "movie", 2011, 1), cand("The Boys", "tv", 2019, 76479)], 76479),
        # Leading article, punctuation, case.
        (Query("THE OFFICE", "show", 2005),
         [cand("The Office", "tv", 2005, 2316), cand("The Office", "tv", 2001, 2996)], 2316),
        # Non-Latin titles match on the original title.
        (Query("千と千尋の神隠し", "movie"),
         [cand("Spirited Away", "movie", 2001, 129, "千と千尋の神隠し")], 129),
        # Weak matches stay unmatched.
        (Query("Harbour Nights", "show"), [cand("Harbor Lights", "tv", 1999, 5)], None),
        (Query("Anything", "movie"), [], None),
    ],
)  # fmt: skip
def test_hard_cases(query: Query, candidates: list[Candidate], expected: int | None) -> None:
    assert pick(query, candidates) == expected


def test_same_work_from_two_results_is_not_ambiguous() -> None:
    a = cand("Cidade de Deus", "movie", 2002, 598)
    b = cand("City of God", "movie", 2002, 598, "Cidade de Deus")
    assert pick(Query("Cidade de Deus", "movie"), [a, b]) == 598


def test_year_distance_weights() -> None:
    exact = score(Query("Dune", "movie", 2021), DUNE[0]).score
    one_off = score(Query("Dune", "movie", 2020), DUNE[0]).score
    far = score(Query("Dune", "movie", 1990), DUNE[0]).score
    assert exact > one_off > ACCEPT > far
