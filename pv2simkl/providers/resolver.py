"""Which title is this? Candidates scored, a confident match accepted, ids merged.

Per work (never per event) one provider is asked at a time until one of them matches it
confidently. Which one first is the request plan's choice (:class:`Planner`): every
enabled service has a budget (its rate), and a work goes to the service that can decide
it soonest, its follow-up requests counted, so that TMDB's 50/s, TheTVDB's and
imdbapi.dev's budgets work beside Simkl's 10/s instead of idling. A work none of the
first choices decides is offered to every other provider, in the configured order, so
nothing is left unmatched that a provider could have matched.

After a match only the ids a row needs are filled (a Simkl id alone is enough for
Simkl; a show needs an id its details can be asked by; an anime its MAL id), from the
cheapest provider that can add them; other ids only where a provider has budget to
spare. Then, for shows and anime, the cheapest provider that can tell is asked for the
details (status, last aired episode, anime entries). A weak or ambiguous match is left
unresolved with its best candidates kept for ``pv2simkl unmatched``.

Scoring, as a music tagger matches albums: a title similarity (0–100, the best over
every title a candidate carries: original, localized, alternative), plus named
adjustments for year distance, type agreement and the watch date (a candidate released
after the person first watched the work cannot be it). Two thresholds decide. Each
candidate keeps the adjustments that decided (``why``) for ``pv2simkl unmatched``.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from rapidfuzz import fuzz

from pv2simkl import titles
from pv2simkl.models import Ids
from pv2simkl.providers.base import Candidate, Details, MediaKind, Provider, Query, year_of
from pv2simkl.providers.errors import ProviderError

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
# The watch date: what was watched had come out by then.
RELEASED_AFTER_WATCH = -100.0  # disqualifies: released (first aired) after the first watch
RELEASE_SLACK = timedelta(days=1)  # a release date is local, the watch instant UTC
WATCH_YEAR_FAR = -4.0  # no year asked: a candidate this old is a little less likely …
WATCH_YEAR_FAR_GAP = 30  # … when released more than this many years before the first watch
# Decisions.
ACCEPT = 85.0  # a candidate scoring this much is a match …
MARGIN = 6.0  # … when the best other work trails it by at least this much
KEEP = 5  # candidates kept for an unresolved work
ID_FIELDS = ("simkl", "tmdb", "tvdb", "imdb", "mal")
AFTER_WATCH = "released after first watch"


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
    why: dict[str, float | str] = field(default_factory=dict)  # the adjustments that decided


def score(query: Query, candidate: Candidate) -> Scored:
    """One candidate's score for a query (see the module docstring)."""
    wanted = titles.match_key(query.title)
    names = [candidate.title, *candidate.titles]
    title_score = max((similarity(wanted, titles.match_key(n)) for n in names if n), default=0.0)
    why: dict[str, float | str] = {"title": round(title_score, 1)}
    total = title_score
    if query.year and candidate.year:
        gap = abs(query.year - candidate.year)
        why["year"] = (YEAR_EXACT, YEAR_OFF_BY_ONE, YEAR_OFF_BY_TWO)[gap] if gap <= 2 else YEAR_FAR
        total += why["year"]  # type: ignore[operator]
    if candidate.kind != "anime":  # an anime candidate may be a film or a series: no verdict
        is_movie = candidate.kind == "movie"
        why["type"] = TYPE_AGREES if is_movie == (query.kind == "movie") else TYPE_DISAGREES
        total += why["type"]  # type: ignore[operator]
    total += _watch_date(query, candidate, why)
    return Scored(candidate, total, title_score, why)


def _watch_date(query: Query, candidate: Candidate, why: dict[str, float | str]) -> float:
    """The first watch's say: disqualify what came out later; weigh far-off years a little."""
    watched = query.first_watched
    if watched is None:
        return 0.0
    released = release_day(candidate)
    year = year_of(candidate.released) or candidate.year
    if released is not None and released > watched.date() + RELEASE_SLACK:
        why["date"] = AFTER_WATCH
        return RELEASED_AFTER_WATCH
    if released is None and year is not None and year > watched.year:
        why["date"] = AFTER_WATCH
        return RELEASED_AFTER_WATCH
    if query.year is None and year is not None and watched.year - year > WATCH_YEAR_FAR_GAP:
        why["watch year"] = WATCH_YEAR_FAR
        return WATCH_YEAR_FAR
    return 0.0


def release_day(candidate: Candidate) -> date | None:
    """The candidate's release (first air) date when the service gave a full ISO date."""
    text = candidate.released
    if not text or len(text) < 10:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def first_watched(value: Any) -> datetime | None:
    """A store row's ``first_watched`` (ISO instant, or a datetime) as a datetime."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


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


def candidate_dict(s: Scored) -> dict[str, Any]:
    """A scored candidate as ``unmatched`` keeps it: who, what, the score and why."""
    return {**s.candidate.as_dict(), "score": round(s.score, 1), "why": dict(s.why)}


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


# -- the request plan ------------------------------------------------------------------

Cost = dict[str, float]

# The providers a work's first search may go to, with the requests that route costs in
# all (search, the ids a row needs, a show's details), by query kind. Not listed here:
# OMDb (a free key has 1,000 requests a day), MyAnimeList and Jikan (anime only, 3/s and
# 1/s); they are asked when no first choice decides.
ROUTES: dict[str, dict[str, Cost]] = {
    "movie": {
        "simkl": {"simkl": 1},  # the search row carries the Simkl (and TMDB) id
        "tmdb": {"tmdb": 2},  # search, then external_ids for the IMDb id
        "imdbapi": {"imdbapi": 1},  # the IMDb id is a movie row's id
    },
    "show": {
        "simkl": {"simkl": 1, "tmdb": 1},  # search; details from TMDB by the row's tmdb id
        "tmdb": {"tmdb": 3},  # search, external_ids (TVDB / IMDb ids), details
        "tvdb": {"tvdb": 1, "tmdb": 1},  # the search row holds IMDb and TMDB ids; details
    },
}
# Services that know titles only by their primary / original name: offered first only for
# English (or unknown-language) titles, where a localized title cannot be what they lack.
PRIMARY_TITLES_ONLY = frozenset({"imdbapi", "omdb"})
# Id lookups: which ids a provider's ``lookup`` starts from and which it adds.
FILLS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "simkl": (frozenset(ID_FIELDS), frozenset(ID_FIELDS)),
    "tmdb": (frozenset({"tmdb", "imdb", "tvdb"}), frozenset({"tmdb", "imdb", "tvdb"})),
    "tvdb": (frozenset({"tvdb", "imdb"}), frozenset({"tvdb", "imdb", "tmdb"})),
}
# MyAnimeList and Jikan know no other service's ids: they give an anime its MAL id by a
# search of its title, the match confirmed by the resolver's scoring and the year.
SEARCH_FILLS = frozenset({"mal", "jikan"})
# Ids a row is better with, filled only from a provider with budget to spare (seconds of
# backlog at most): Simkl reads them when the row has no Simkl id it trusts.
NICE_IDS: dict[str, tuple[str, ...]] = {
    "movie": ("imdb", "tmdb"), "tv": ("tvdb", "imdb", "tmdb"), "anime": ("mal", "tmdb"),
}  # fmt: skip
SPARE_BACKLOG = 0.5
# Requests a provider's ``details`` sends for a show (Simkl: its record and episode list;
# MAL and Jikan: the entry and its sequels' search); one where not listed.
DETAILS_COST: dict[str, float] = {"simkl": 2.0, "mal": 2.0, "jikan": 2.0}
DEFAULT_RATE = 10.0  # a provider without a rate limiter (tests' fakes)


def missing_ids(kind: str, have: Iterable[str]) -> set[str]:
    """Ids of which a row still needs one (any of the set returned), by kind.

    A movie: a Simkl or an IMDb id. A show: a Simkl or TVDB id (what the CSV import
    matches on) and a TMDB or TVDB id (what its details are asked by). An anime: its MAL
    id (an anime row's id in Simkl's own example, and what its entries are found by).
    Empty when the row has what it needs.
    """
    known = set(have)
    if kind == "movie":
        return set() if known & {"simkl", "imdb"} else {"simkl", "imdb"}
    if kind == "anime":
        return set() if "mal" in known else {"mal"}
    if not known & {"simkl", "tvdb"}:
        return {"simkl", "tvdb"}
    if not known & {"tmdb", "tvdb"}:
        return {"tmdb", "tvdb"}
    return set()


class Planner:
    """Each provider's budget: its rate and the requests the works under way owe it.

    The delay of a route is the time its busiest service needs for what it already owes
    plus the route's requests (owed / rate); a work takes the route of least delay. Works
    reserve their route's cost when they start and give it back when they end, so the
    owed requests are those of works in flight: every service's queue stays about equally
    long in time, and all of them work at once. Thread-safe.
    """

    def __init__(
        self, rates: dict[str, float], backlog: dict[str, Callable[[], float]] | None = None
    ) -> None:
        self.rates = {name: max(rate, 1e-6) for name, rate in rates.items()}
        self.owed: dict[str, float] = dict.fromkeys(rates, 0.0)
        # Seconds each service's limiter is already spent for (a 60-a-minute window filled
        # by the works that have ended is a queue too, though they owe nothing any more).
        self.backlog = backlog or {}
        self._lock = threading.Lock()

    @classmethod
    def for_providers(cls, providers: list[Provider]) -> Planner:
        rates, backlog = {}, {}
        for p in providers:
            client = getattr(p, "client", None)
            limiter = getattr(client, "limiter", None)
            rates[p.name] = getattr(limiter, "rate", DEFAULT_RATE)
            if callable(getattr(limiter, "backlog", None)):
                backlog[p.name] = limiter.backlog
        return cls(rates, backlog)

    def delay(self, cost: Cost) -> float:
        """Seconds until the busiest service of ``cost`` would have served it."""
        with self._lock:
            return self._delay(cost)

    def _delay(self, cost: Cost) -> float:
        return max(
            (
                self._spent(s) + (self.owed.get(s, 0.0) + n) / self.rates.get(s, DEFAULT_RATE)
                for s, n in cost.items()
            ),
            default=0.0,
        )

    def _spent(self, service: str) -> float:
        backlog = self.backlog.get(service)
        return backlog() if backlog else 0.0

    def choose(self, options: list[tuple[str, Cost]]) -> tuple[str, Cost] | None:
        """The option of least delay (earlier options win ties), reserved; None if none."""
        with self._lock:
            best = min(options, key=lambda o: self._delay(o[1]), default=None)
            if best is not None:
                self._add(best[1], 1.0)
            return best

    def release(self, cost: Cost) -> None:
        with self._lock:
            self._add(cost, -1.0)

    def _add(self, cost: Cost, sign: float) -> None:
        for service, n in cost.items():
            if service in self.owed:
                self.owed[service] = max(0.0, self.owed[service] + sign * n)


class _Ledger:
    """What one work reserved of the plan; all of it is given back when the work ends."""

    def __init__(self, planner: Planner):
        self.planner = planner
        self.held: list[Cost] = []

    def choose(self, options: list[tuple[str, Cost]]) -> str | None:
        chosen = self.planner.choose(options)
        if chosen is None:
            return None
        self.held.append(chosen[1])
        return chosen[0]

    def close(self) -> None:
        for cost in self.held:
            self.planner.release(cost)
        self.held.clear()


class Resolver:
    """Resolves works against providers given in priority order. Thread-safe."""

    def __init__(self, providers: list[Provider], planner: Planner | None = None):
        self.providers = providers
        self.rank = {p.name: i for i, p in enumerate(providers)}
        self.by_name = {p.name: p for p in providers}
        self.planner = planner or Planner.for_providers(providers)
        # Jikan mirrors MyAnimeList's data at 60 requests a minute: with MAL's own API
        # usable it adds nothing to a MAL id or an entry but a slow queue.
        self.mirrors = {"jikan"} if "mal" in self.by_name else set()

    @contextmanager
    def _ledger(self) -> Iterator[_Ledger]:
        ledger = _Ledger(self.planner)
        try:
            yield ledger
        finally:
            ledger.close()

    def resolve(self, work_id: int, query: Query, known: Ids | None = None) -> Resolution:
        """Match one work (or, with ``known`` ids pinned by hand, only fill the rest)."""
        with self._ledger() as ledger:
            return self._resolve(work_id, query, known, ledger)

    def _resolve(self, work_id: int, query: Query, known: Ids | None, ledger: _Ledger):
        out = Resolution(work_id, matched=False)
        if known and any(getattr(known, f) for f in ID_FIELDS):
            merged = {f: (getattr(known, f), -1) for f in ID_FIELDS if getattr(known, f)}
            kind = "movie" if query.kind == "movie" else "tv"
            return self._fill(out, merged, kind, None, None, query, None, ledger)
        seen: list[Scored] = []
        tried: set[str] = set()
        while (provider := self._next_search(query, tried, ledger)) is not None:
            tried.add(provider.name)
            try:
                candidates = provider.search(query)
            except ProviderError as exc:
                out.errors.append(str(exc))
                continue
            scored = [score(query, c) for c in candidates]
            seen.extend(scored)
            chosen = decide(scored)
            if chosen is None:
                continue
            c = chosen.candidate
            merged = {f: (getattr(c.ids, f), self.rank[provider.name]) for f in ID_FIELDS
                      if getattr(c.ids, f)}  # fmt: skip
            out.score, out.provider = round(chosen.score, 1), provider.name
            return self._fill(out, merged, c.kind, c.year, c.status, query, c, ledger)
        top = sorted(seen, key=lambda s: -s.score)[:KEEP]
        out.candidates = [candidate_dict(s) for s in top]
        return out

    # -- which provider searches next ----------------------------------------------------

    def _next_search(self, query: Query, tried: set[str], ledger: _Ledger) -> Provider | None:
        """The first choice of least delay among the routes of the query's kind, then the
        others in the configured order (which reserve nothing: they are the exception)."""
        routes = ROUTES.get(query.kind, {})
        english = not query.language or query.language == "en"
        options = [
            (name, cost) for name, cost in routes.items()
            if name in self.by_name and name not in tried
            and (english or name not in PRIMARY_TITLES_ONLY)
        ]  # fmt: skip
        if options:
            # Keep the configured order among equals: it breaks delay ties.
            options.sort(key=lambda o: self.rank[o[0]])
            name = ledger.choose(options)
            return self.by_name[name] if name else None
        for provider in self.providers:
            if provider.name not in tried:
                return provider
        return None

    # -- ids -----------------------------------------------------------------------------

    def _fill(
        self, out: Resolution, merged: dict[str, tuple[Any, int]], kind: str,
        year: int | None, status: str | None, query: Query, matched: Candidate | None,
        ledger: _Ledger,
    ) -> Resolution:  # fmt: skip
        """Ask for the ids a row still needs, cheapest provider first; then, where a
        provider has budget to spare, the ids a row is better with; then the details."""
        asked: set[str] = set()
        while True:
            wanted = missing_ids(kind, merged)
            spare = False
            if not wanted:
                wanted = {f for f in NICE_IDS.get(kind, ()) if f not in merged}
                spare = True
            provider = self._next_fill(merged, wanted, asked, ledger, spare=spare)
            if provider is None:
                break
            asked.add(provider.name)
            ids = Ids(**{f: v for f, (v, _) in merged.items()})
            try:
                if provider.name in SEARCH_FILLS:
                    more = _confirmed(provider, query, year)
                else:
                    more = provider.lookup(ids, kind)  # type: ignore[arg-type]
            except ProviderError as exc:
                out.errors.append(str(exc))
                continue
            if more is None:
                continue
            rank = self.rank.get(provider.name, len(self.rank))
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
        out.details = self._details(out.ids, kind, query, matched, out, ledger)
        return out

    def _next_fill(
        self, merged: dict[str, Any], wanted: set[str], asked: set[str], ledger: _Ledger,
        *, spare: bool,
    ) -> Provider | None:  # fmt: skip
        """The cheapest provider whose lookup starts from an id we have and adds a wanted
        one; with ``spare``, only one whose backlog is short (the id is a nicety)."""
        if not wanted:
            return None
        options: list[tuple[str, Cost]] = []
        for provider in self.providers:
            name = provider.name
            if name in asked or name in self.mirrors:
                continue
            if name in SEARCH_FILLS:
                if "mal" not in wanted:
                    continue
                cost = {name: 1.0}
            elif name in FILLS:
                starts, adds = FILLS[name]
                if not (starts & merged.keys()) or not (adds & wanted):
                    continue
                cost = {name: 1.0 if name in merged else 2.0}  # by its own id: one request
            else:
                continue
            if spare and self.planner.delay(cost) > SPARE_BACKLOG:
                continue
            options.append((name, cost))
        name = ledger.choose(options)
        return self.by_name[name] if name else None

    # -- details -------------------------------------------------------------------------

    def _details(
        self, ids: Ids, kind: str, query: Query, matched: Candidate | None, out: Resolution,
        ledger: _Ledger,
    ) -> Details | None:  # fmt: skip
        """What a row needs beyond the ids: for a show its status and last aired episode,
        for an anime also the entry of each season watched, from the cheapest provider
        that can tell. A movie needs no request: its release date came with the search."""
        if kind == "movie":
            released = matched.released if matched else None
            return Details(released=released) if released else None
        found: Details | None = None
        asked: set[str] = set()
        while True:
            options = [(p.name, {p.name: DETAILS_COST.get(p.name, 1.0)})
                       for p in self.providers
                       if p.name not in asked and p.name not in self.mirrors]  # fmt: skip
            if kind == "anime":
                # Simkl alone maps an entry spanning several seasons (offsets): ask it
                # first, whatever its queue; the others fill the seasons it left open,
                # and once every season has its entry only a service that tells whether
                # the show has ended is asked (not MAL or Jikan, whose queues are slow).
                if found is not None and _anime_entries_whole(found, query.seasons):
                    options = [o for o in options if o[0] in STATUS_DETAILS]
                else:
                    options = [o for o in options if o[0] == "simkl"] or options
            name = ledger.choose(options)
            if name is None:
                break
            asked.add(name)
            provider = self.by_name[name]
            try:
                details = provider.details(ids, kind, list(query.seasons))  # type: ignore[arg-type]
            except ProviderError as exc:
                out.errors.append(str(exc))
                continue
            if details is None:
                continue
            found = _merge_details(found, details)
            if kind != "anime" or _anime_told(found, query.seasons):
                break
        if found is not None and found.released is None and matched and matched.released:
            found.released = matched.released
        return found

    def resolve_many(
        self, jobs: Iterable[tuple[int, Query, Ids | None]], *, threads: int = 32,
        on_done: Callable[[Resolution], None] | None = None,
    ) -> list[Resolution]:  # fmt: skip
        """Resolve works concurrently; each provider's limiter keeps it within its rate.

        ``on_done`` runs in the calling thread, in completion order (the store lives there).
        """
        results = []
        with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
            futures = [pool.submit(self.resolve, *job) for job in interleave(list(jobs))]
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


def _confirmed(provider: Provider, query: Query, year: int | None) -> Candidate | None:
    """The work a search of ``provider`` finds for ``query``, when the resolver's scoring
    decides it and its year is the match's (±1); else None."""
    chosen = decide([score(query, c) for c in provider.search(query)])
    if chosen is None:
        return None
    found = chosen.candidate.year
    if year is not None and found is not None and abs(year - found) > 1:
        return None
    return chosen.candidate


def interleave(jobs: list[tuple[int, Query, Ids | None]]) -> list[tuple[int, Query, Ids | None]]:
    """Jobs of each kind spread evenly over the run (a store lists its shows, then its
    movies): the services only one kind goes to first (imdbapi.dev for movies, TheTVDB for
    shows) then work from the start, not idle until their kind's turn comes."""
    kinds = Counter(q.kind for _, q, _ in jobs)
    seen: Counter[str] = Counter()
    keyed = []
    for job in jobs:
        kind = job[1].kind
        keyed.append(((seen[kind] + 0.5) / kinds[kind], job))
        seen[kind] += 1
    keyed.sort(key=lambda pair: pair[0])  # stable: each kind keeps its own order
    return [job for _, job in keyed]


# Services whose details tell whether a show has ended and its last aired episode.
STATUS_DETAILS = ("tmdb", "tvdb")


def _anime_entries_whole(found: Details, seasons: tuple[int, ...]) -> bool:
    """Whether every season watched has its anime entry."""
    held = {e.season for e in found.anime_entries}
    return bool(held) and held >= set(seasons)


def _anime_told(found: Details, seasons: tuple[int, ...]) -> bool:
    """Whether an anime's details are whole: an entry for every season watched, and the
    show's status (Simkl tells the entries, not whether the series has ended)."""
    return _anime_entries_whole(found, seasons) and found.ended is not None


def _merge_details(first: Details | None, more: Details) -> Details:
    """The first provider's facts, completed by the next one's (the anime entries of the
    seasons the first left open, say)."""
    if first is None:
        return more
    held = {e.season for e in first.anime_entries}
    return Details(
        released=first.released or more.released,
        ended=first.ended if first.ended is not None else more.ended,
        last_aired=first.last_aired or more.last_aired,
        anime_entries=[
            *first.anime_entries,
            *(e for e in more.anime_entries if e.season not in held),
        ],
    )


__all__ = [
    "ACCEPT", "Candidate", "Details", "MediaKind", "Planner", "Resolution", "Resolver",
    "Scored", "decide", "first_watched", "missing_ids", "score",
]  # fmt: skip
