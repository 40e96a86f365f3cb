"""Which title is this? Candidates scored, a confident match accepted, ids merged.

Per work (never per event) the providers are asked in the configured priority order;
the first confident match wins, then the ids it lacks are filled from the others (a
conflict goes to the provider higher in the order). A weak or ambiguous match is left
unresolved with its best candidates kept for ``pv2simkl unmatched``.

Scoring, as a music tagger matches albums: a title similarity (0–100, the best over
every title a candidate carries: original, localized, alternative), plus named
adjustments for year distance and type agreement. Two thresholds decide.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz

from pv2simkl import titles
from pv2simkl.models import Ids
from pv2simkl.providers.base import Candidate, Details, Provider, Query
from pv2simkl.providers.http import ProviderError

log = logging.getLogger(__name__)

# Title similarity.
SAME_WORDS = 96.0
NEAR_IDENTICAL = 95.0
DIFFERENT_SCALE = 0.85
CONTAINED_SCALE = 0.75
# Adjustments added to the title similarity (0–100).
YEAR_EXACT = 15.0
YEAR_OFF_BY_ONE = 8.0
YEAR_OFF_BY_TWO = 0.0
YEAR_FAR = -40.0
TYPE_AGREES = 5.0
TYPE_DISAGREES = -35.0  # a movie offered for a show, or the other way round
# Decisions.
ACCEPT = 85.0  # a candidate scoring this much is a match …
MARGIN = 6.0  # … when the best other work trails it by at least this much
KEEP = 5  # candidates kept for an unresolved work
ID_FIELDS = ("simkl", "tmdb", "tvdb", "imdb", "mal")


def similarity(a: str, b: str) -> float:
    """Title similarity of two normalised titles, 0–100.

    No rapidfuzz processor: both sides are already :func:`titles.match_key` forms.
    Equal → 100; the same words in another order → 96; a near-identical spelling keeps
    its ratio; anything else is scaled down (a different word, or one title containing
    the other as a sequel's name contains the original's, must not pass alone).
    """
    if not a or not b:
        return 0.0
    if a == b:
        return 100.0
    if sorted(a.split()) == sorted(b.split()):
        return SAME_WORDS
    ratio = fuzz.ratio(a, b)
    if ratio >= NEAR_IDENTICAL:
        return ratio
    return max(DIFFERENT_SCALE * ratio, CONTAINED_SCALE * fuzz.token_set_ratio(a, b))


@dataclass
class Scored:
    candidate: Candidate
    score: float
    title_score: float


def score(query: Query, candidate: Candidate) -> Scored:
    """One candidate's score for a query (see the module docstring)."""
    wanted = titles.match_key(query.title)
    names = [candidate.title, *candidate.titles]
    title_score = max((similarity(wanted, titles.match_key(n)) for n in names if n), default=0.0)
    total = title_score
    if query.year and candidate.year:
        gap = abs(query.year - candidate.year)
        total += (YEAR_EXACT, YEAR_OFF_BY_ONE, YEAR_OFF_BY_TWO)[gap] if gap <= 2 else YEAR_FAR
    if candidate.kind != "anime":  # an anime candidate may be a film or a series: no verdict
        is_movie = candidate.kind == "movie"
        total += TYPE_AGREES if is_movie == (query.kind == "movie") else TYPE_DISAGREES
    return Scored(candidate, total, title_score)


def _same_work(a: Candidate, b: Candidate) -> bool:
    shared = [f for f in ID_FIELDS if getattr(a.ids, f) and getattr(a.ids, f) == getattr(b.ids, f)]
    return bool(shared)


def decide(scored: list[Scored]) -> Scored | None:
    """The confident match among one provider's candidates, or None."""
    ranked = sorted(scored, key=lambda s: (-s.score, -s.candidate.popularity))
    if not ranked or ranked[0].score < ACCEPT:
        return None
    best = ranked[0]
    for other in ranked[1:]:
        if _same_work(best.candidate, other.candidate):
            continue
        if best.score - other.score < MARGIN:
            return None  # two works fit equally well: a remake, or the same name twice
        break
    return best


@dataclass
class Resolution:
    """The outcome for one work."""

    work_id: int
    matched: bool
    ids: Ids = field(default_factory=Ids)
    media_type: str | None = None
    year: int | None = None
    score: float | None = None
    provider: str | None = None
    status: str | None = None
    candidates: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # Issue 10: what a row needs beyond the ids (providers' ``details``), when asked for.
    details: Details | None = None


class Resolver:
    """Resolves works against providers given in priority order. Thread-safe."""

    def __init__(self, providers: list[Provider]):
        self.providers = providers
        self.rank = {p.name: i for i, p in enumerate(providers)}

    def resolve(self, work_id: int, query: Query, known: Ids | None = None) -> Resolution:
        """Match one work (or, with ``known`` ids pinned by hand, only fill the rest)."""
        out = Resolution(work_id, matched=False)
        seen: list[Scored] = []
        best: tuple[Provider, Scored] | None = None
        if known and any(getattr(known, f) for f in ID_FIELDS):
            merged = {f: (getattr(known, f), -1) for f in ID_FIELDS if getattr(known, f)}
            kind = "movie" if query.kind == "movie" else "tv"
            return self._fill(out, merged, kind, None, None)
        for provider in self.providers:
            try:
                candidates = provider.search(query)
            except ProviderError as exc:
                out.errors.append(str(exc))
                continue
            scored = [score(query, c) for c in candidates]
            seen.extend(scored)
            chosen = decide(scored)
            if chosen:
                best = (provider, chosen)
                break
        if best is None:
            top = sorted(seen, key=lambda s: -s.score)[:KEEP]
            out.candidates = [{**s.candidate.as_dict(), "score": round(s.score, 1)} for s in top]
            return out
        provider, chosen = best
        c = chosen.candidate
        merged = {f: (getattr(c.ids, f), self.rank[provider.name]) for f in ID_FIELDS
                  if getattr(c.ids, f)}  # fmt: skip
        out.score, out.provider = round(chosen.score, 1), provider.name
        return self._fill(out, merged, c.kind, c.year, c.status)

    def _fill(
        self, out: Resolution, merged: dict[str, tuple[Any, int]], kind: str,
        year: int | None, status: str | None,
    ) -> Resolution:  # fmt: skip
        """Ask the other providers for the ids still missing; higher priority wins."""
        for provider in self.providers:
            if self._complete(merged, kind):
                break
            ids = Ids(**{f: v for f, (v, _) in merged.items()})
            try:
                more = provider.lookup(ids, kind)  # type: ignore[arg-type]
            except ProviderError as exc:
                out.errors.append(str(exc))
                continue
            if more is None:
                continue
            rank = self.rank[provider.name]
            for f in ID_FIELDS:
                value = getattr(more.ids, f)
                if value and (f not in merged or rank < merged[f][1] >= 0):
                    merged[f] = (value, rank)
            year = year or more.year
            status = status or more.status
            if more.kind == "anime":
                kind = "anime"
        if kind == "tv" and "mal" in merged:
            kind = "anime"
        out.matched = True
        out.ids = Ids(**{f: v for f, (v, _) in merged.items()})
        out.media_type, out.year, out.status = kind, year, status
        return out

    @staticmethod
    def _complete(merged: dict[str, Any], kind: str) -> bool:
        need = {"simkl", "tmdb", "imdb"}
        if kind != "movie":
            need.add("tvdb")
        if kind == "anime":
            need.add("mal")
        return need <= merged.keys()

    def resolve_many(
        self, jobs: Iterable[tuple[int, Query, Ids | None]], *, threads: int = 32,
        on_done: Callable[[Resolution], None] | None = None,
    ) -> list[Resolution]:  # fmt: skip
        """Resolve works concurrently; each provider's limiter keeps it within its rate.

        ``on_done`` runs in the calling thread, in completion order (the store lives there).
        """
        results = []
        with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
            futures = [pool.submit(self.resolve, wid, q, known) for wid, q, known in jobs]
            for future in as_completed(futures):
                result = future.result()
                results.append(result)
                if on_done:
                    on_done(result)
        return results

    def episode_numbers(self, ids: Ids, season: int) -> dict[str, int] | None:
        """Normalised episode title → number for one season, from the first provider that knows."""
        for provider in self.providers:
            try:
                episodes = provider.season_episodes(ids, season)
            except ProviderError as exc:
                log.info("%s", exc)
                continue
            if episodes:
                return {titles.match_key(t): n for n, t in episodes.items() if t}
        return None
