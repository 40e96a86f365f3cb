"""Simkl: the ids the CSV import trusts most, and anime as Simkl splits it.

Text search is ``GET /search/{movie|tv|anime}`` (ids under ``ids.simkl_id``, ``tmdb``
a string); id lookup is ``GET /search/id`` (ids under ``ids.simkl``; "not found" is
``[]`` or ``null``), then the full record at ``/movies/{id}``, ``/tv/{id}`` or
``/anime/{id}`` for the other services' ids. Every request names the app
(``app-name``, ``app-version``); the key travels as the ``simkl-api-key`` header and
the secret ``client_id`` query parameter. Earlier tools read ``ids.simkl`` from text
search, called ``/movie/{id}``, sent ``&year=`` empty and kept ids as strings: none of
that here.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, ClassVar

from pv2simkl import __version__
from pv2simkl.config import SimklSettings
from pv2simkl.models import Ids
from pv2simkl.providers import base
from pv2simkl.providers.anime import holds_season, release_date, season_queries
from pv2simkl.providers.base import AnimeEntry, Candidate, Details, MediaKind, Provider, Query
from pv2simkl.providers.base import text_or_none as _text
from pv2simkl.providers.errors import BadResponse
from pv2simkl.providers.imdb import PROBE_ID, imdb_id

if TYPE_CHECKING:
    from pv2simkl.providers.http import Response

log = logging.getLogger(__name__)


APP = {"app-name": "pv2simkl", "app-version": __version__}
SEARCH_LIMIT = 10
# Record paths by kind: plural for movies, never "/movie/" or "/show/".
ENDPOINT_KINDS: dict[str, MediaKind] = {"movie": "movie", "anime": "anime"}
RECORD_PATHS: dict[str, str] = {"movie": "/movies", "tv": "/tv", "anime": "/anime"}


def _kind(*values: Any) -> MediaKind | None:
    """``movie``/``movies`` → movie, ``anime`` → anime, ``tv``/``show`` → tv; else None."""
    for value in values:
        if not isinstance(value, str):
            continue
        value = value.lower()
        if value in ("movie", "movies"):
            return "movie"
        if value == "anime":
            return "anime"
        if value in ("tv", "show", "shows"):
            return "tv"
    return None


def parse_ids(raw: Any) -> Ids:
    """Simkl's ``ids`` object → :class:`Ids`; the Simkl id is ``simkl`` or ``simkl_id``."""
    if not isinstance(raw, dict):
        return Ids()
    return Ids(
        simkl=base.int_or_none(raw.get("simkl")) or base.int_or_none(raw.get("simkl_id")),
        tvdb=base.int_or_none(raw.get("tvdb")),
        tmdb=base.int_or_none(raw.get("tmdb")),
        imdb=imdb_id(raw.get("imdb")),
        mal=base.int_or_none(raw.get("mal")),
    )


def _titles(item: dict[str, Any]) -> list[str]:
    """Every name an item carries: title, anime's English / romaji, ``all_titles``."""
    names: list[Any] = [item.get("title"), item.get("title_en"), item.get("title_romaji"),
                        item.get("en_title")]  # fmt: skip
    extra = item.get("all_titles")
    if isinstance(extra, list):
        for entry in extra:
            names.append(entry.get("title") if isinstance(entry, dict) else entry)
    return base.unique_texts(names)


def _number(value: Any) -> int | None:
    """A season or episode number: a non-negative int (``True`` is not a number)."""
    if isinstance(value, bool):
        return None
    number = base.int_or_none(value)
    return number if number is not None and number >= 0 else None


class Simkl(Provider):
    """Simkl API: text search, id lookup, records and season episode titles."""

    name: ClassVar[str] = "simkl"
    needs: ClassVar[tuple[str, ...]] = ("client_id",)
    settings_class = SimklSettings

    @classmethod
    def auth(cls, settings: Any) -> tuple[dict[str, str], dict[str, str]]:
        """The client id as header and as the (secret) ``client_id`` query parameter."""
        return {"simkl-api-key": settings.client_id}, {"client_id": settings.client_id}

    def _get(self, path: str, params: dict[str, Any] | None = None, **kw: Any) -> Response | None:
        """GET with the app's name and version, as Simkl asks of every request."""
        return self.client.get(path, {**(params or {}), **APP}, **kw)

    # -- search ------------------------------------------------------------------------

    def search(self, query: Query) -> list[Candidate]:
        """Movies from ``/search/movie``; shows from ``/search/tv`` then ``/search/anime``.

        With the year hint first; without it when that finds nothing (a Prime year can
        be a re-release's or a later season's).
        """
        title = query.title.strip()
        if not title:
            return []
        endpoints = ("movie",) if query.kind == "movie" else ("tv", "anime")
        return self.search_year_first(
            query.year, lambda year: self._search_all(endpoints, title, year)
        )

    def _search_all(
        self, endpoints: tuple[str, ...], title: str, year: int | None
    ) -> list[Candidate]:
        """Candidates of every endpoint, in order, each Simkl id once."""
        from pv2simkl import titles  # not at import: `status` reads this module's settings

        out: list[Candidate] = []
        seen: set[int] = set()
        wanted = titles.match_key(title)
        for endpoint in endpoints:
            if out and endpoint == "anime" and any(_names_match(c, wanted) for c in out):
                break  # the tv search already has this exact title: spare the anime search
            for candidate in self._search(endpoint, title, year):
                simkl = candidate.ids.simkl
                if simkl is not None and simkl in seen:
                    continue
                if simkl is not None:
                    seen.add(simkl)
                out.append(candidate)
        return out

    def _search(self, endpoint: str, title: str, year: int | None) -> list[Candidate]:
        params: dict[str, Any] = {"q": title, "limit": SEARCH_LIMIT, "extended": "full"}
        if year is not None:
            params["year"] = year
        response = self._get(f"/search/{endpoint}", params, kind="search")
        if response is None or response.data is None:
            return []
        if not isinstance(response.data, list):
            raise BadResponse(self.name, f"/search/{endpoint} did not answer a list")
        # A movie search answers movies; an anime search anime; a tv row may say "anime".
        forced = ENDPOINT_KINDS.get(endpoint)
        return base.candidates(response.data, lambda item: self._candidate(item, forced))

    def _candidate(self, item: Any, kind: MediaKind | None = None) -> Candidate | None:
        """A search row or a record as a candidate; None without a title or a Simkl id.

        ``kind`` is the endpoint's kind when it has one; else the row's ``endpoint_type``
        or ``type`` tells (``tv`` when neither does).
        """
        if not isinstance(item, dict):
            return None
        ids = parse_ids(item.get("ids"))
        title = _text(item.get("title")) or _text(item.get("title_en"))
        if ids.simkl is None or title is None:
            return None
        kind = kind or _kind(item.get("endpoint_type"), item.get("type")) or "tv"
        rank = item.get("rank")
        popularity = 0.0
        if isinstance(rank, int | float) and not isinstance(rank, bool) and rank > 0:
            popularity = 1.0 / rank  # rank 1 is the most popular
        year = base.year_of(item.get("year"))
        released = release_date(item.get("released")) or release_date(item.get("first_aired"))
        return Candidate(
            provider=self.name, title=title, kind=kind, year=year, ids=ids,
            titles=_titles(item), popularity=popularity, status=_text(item.get("status")),
            released=released or (str(year) if year is not None else None),
        )  # fmt: skip

    # -- lookup ------------------------------------------------------------------------

    def lookup(self, ids: Ids, kind: MediaKind) -> Candidate | None:
        """The Simkl record of a work known by any id: ``/search/id``, then the record."""
        found: Candidate | None = None
        if ids.simkl is not None:
            simkl, found_kind = ids.simkl, kind
        else:
            found = self._find(ids, kind)
            if found is None or found.ids.simkl is None:
                return None
            simkl, found_kind = found.ids.simkl, found.kind
        record = self._record(simkl, found_kind)
        if record is None and found is None and found_kind != "anime":
            # Only the Simkl id was known: Simkl keeps anime (films too) under /anime.
            record = self._record(simkl, "anime")
        return record or found

    def _find(self, ids: Ids, kind: MediaKind) -> Candidate | None:
        """The work behind the first external id Simkl knows (IMDb, TMDB, TVDB, MAL)."""
        tries: list[dict[str, Any]] = []
        if imdb_id(ids.imdb):
            tries.append({"imdb": ids.imdb})
        if ids.tmdb is not None:
            tries.append({"tmdb": ids.tmdb, "type": "movie" if kind == "movie" else "show"})
        if ids.tvdb is not None:
            tries.append({"tvdb": ids.tvdb})
        if ids.mal is not None:
            tries.append({"mal": ids.mal})
        for params in tries:
            response = self._get("/search/id", params, kind="lookup")
            if response is None or response.data is None:
                continue
            data = response.data
            if isinstance(data, dict):
                data = [data]
            if not isinstance(data, list):
                raise BadResponse(self.name, "/search/id did not answer a list")
            hits = base.candidates(data, self._candidate)
            if hits:
                # An id shared by a movie and a show: the one of the kind asked for.
                same = [c for c in hits if (c.kind == "movie") == (kind == "movie")]
                return (same or hits)[0]
        return None

    def _record(self, simkl: int, kind: MediaKind) -> Candidate | None:
        """``GET /movies/{id}`` | ``/tv/{id}`` | ``/anime/{id}`` as a candidate."""
        response = self._get(f"{RECORD_PATHS[kind]}/{simkl}", kind="lookup")
        if response is None or response.data is None:
            return None
        if not isinstance(response.data, dict):
            raise BadResponse(self.name, f"{RECORD_PATHS[kind]}/{{id}} is not an object")
        item = dict(response.data)
        ids = item.get("ids")
        if isinstance(ids, dict) and not (ids.get("simkl") or ids.get("simkl_id")):
            item["ids"] = {**ids, "simkl": simkl}
        elif not isinstance(ids, dict):
            item["ids"] = {"simkl": simkl}
        return self._candidate(item, kind)

    # -- details -----------------------------------------------------------------------

    def details(self, ids: Ids, kind: MediaKind, seasons: list[int]) -> Details | None:
        """From the Simkl record and its episode list.

        A movie: its release date and whether it is out (one request). A show: its first
        air date, whether it has ended, and the last episode with ``aired`` true (two).
        An anime: each watched season's entry, mapped through Simkl's own TVDB seasons
        (``/anime/episodes/{id}?extended=full_anime_seasons``): the work's entry holds the
        seasons its episodes map to, at their offsets (a long-running series holds them
        all); a season it does not hold is the entry a ``<title> Season <n>`` search finds
        whose episodes map to that season. The show's end is left to TMDB / TVDB (an
        entry is one part of the show).
        """
        if ids.simkl is None:
            return None
        record = self._raw_record(int(ids.simkl), kind)
        if record is None:
            return None
        status = _text(record.get("status"))
        if kind == "movie":
            return Details(released=release_date(record.get("released")),
                           ended=None if status is None else status == "released")  # fmt: skip
        released = release_date(record.get("first_aired"))
        if kind == "tv":
            return Details(released=released, ended=_ended(status),
                           last_aired=self._last_aired(int(ids.simkl)))  # fmt: skip
        return Details(released=released, anime_entries=self._entries(ids, record, seasons))

    def _raw_record(self, simkl: int, kind: MediaKind) -> dict[str, Any] | None:
        """The record object of ``/movies|tv|anime/{id}``; None when Simkl has none."""
        response = self._get(f"{RECORD_PATHS[kind]}/{simkl}", kind="lookup")
        if response is None or response.data is None:
            return None
        if not isinstance(response.data, dict):
            raise BadResponse(self.name, f"{RECORD_PATHS[kind]}/{{id}} is not an object")
        return response.data

    def _episode_list(self, path: str, params: dict[str, Any] | None = None) -> list[Any]:
        response = self._get(path, params, kind="episodes")
        if response is None or response.data is None:
            return []
        if not isinstance(response.data, list):
            raise BadResponse(self.name, f"{path.rsplit('/', 1)[0]} did not answer a list")
        return response.data

    def _last_aired(self, simkl: int) -> tuple[int, int] | None:
        """(season, episode) of the last aired episode (specials and season 0 aside)."""
        aired = []
        for item in self._episode_list(f"/tv/episodes/{simkl}"):
            if not isinstance(item, dict) or item.get("type", "episode") != "episode":
                continue
            season, number = _number(item.get("season")), _number(item.get("episode"))
            if season and number and item.get("aired", True) is not False:
                aired.append((season, number))
        return max(aired) if aired else None

    def _seasons_held(self, simkl: int) -> tuple[dict[int, int], dict[int, int]]:
        """An anime entry's (offset by TVDB season, episodes by TVDB season), from its
        episodes' ``tvdb`` mapping: offset = entry episode - season episode."""
        offsets: dict[int, int] = {}
        counts: dict[int, int] = {}
        path = f"/anime/episodes/{simkl}"
        for item in self._episode_list(path, {"extended": "full_anime_seasons"}):
            tvdb = item.get("tvdb") if isinstance(item, dict) else None
            if not isinstance(tvdb, dict) or item.get("type", "episode") != "episode":
                continue
            season, number = _number(tvdb.get("season")), _number(tvdb.get("episode"))
            own = _number(item.get("episode"))
            if not season or not number or own is None:
                continue
            offsets.setdefault(season, own - number)
            counts[season] = counts.get(season, 0) + 1
        return offsets, counts

    def _entries(self, ids: Ids, record: dict[str, Any], seasons: list[int]) -> list[AnimeEntry]:
        """The entry of each watched season (see :meth:`details`)."""
        simkl = int(ids.simkl)  # type: ignore[arg-type]
        names = _titles(record)
        held, _ = self._seasons_held(simkl)
        mal = parse_ids(record.get("ids")).mal or ids.mal
        total = _final_count(record)
        out = []
        for season in sorted(set(seasons) or {1}):
            if season in held:
                out.append(AnimeEntry(season=season, mal=mal, simkl=simkl, title=names[0],
                                       episodes=total, offset=max(0, held[season])))  # fmt: skip
                continue
            found = self._season_entry(names, season, simkl)
            if found is not None:
                out.append(found)
        return out

    def _season_entry(self, names: list[str], season: int, first: int) -> AnimeEntry | None:
        """The entry of ``season`` found by its own title; its episodes must map to it."""
        for query in season_queries(names, season):
            for candidate in self._search("anime", query, None):
                simkl = candidate.ids.simkl
                if simkl in (None, first) or not holds_season(
                    names, [candidate.title, *candidate.titles], season
                ):
                    continue
                held, _ = self._seasons_held(simkl)  # type: ignore[arg-type]
                if held and season not in held:
                    continue  # named for the season, but Simkl maps it elsewhere
                record = self._raw_record(simkl, "anime") or {}  # type: ignore[arg-type]
                return AnimeEntry(
                    season=season, mal=parse_ids(record.get("ids")).mal, simkl=simkl,
                    title=candidate.title, episodes=_final_count(record),
                    offset=max(0, held.get(season, 0)),
                )  # fmt: skip
        return None

    # -- episodes ----------------------------------------------------------------------

    def season_episodes(self, ids: Ids, season: int) -> dict[int, str] | None:
        """Episode number → title of one season, from ``/tv/episodes/{simkl}``."""
        if ids.simkl is None:
            return None
        response = self._get(f"/tv/episodes/{ids.simkl}", kind="episodes")
        if response is None or response.data is None:
            return None
        if not isinstance(response.data, list):
            raise BadResponse(self.name, "/tv/episodes did not answer a list")
        out: dict[int, str] = {}
        for item in response.data:
            if not isinstance(item, dict) or item.get("type", "episode") != "episode":
                continue  # specials carry no season / episode
            number = _number(item.get("episode"))
            title = _text(item.get("title"))
            if _number(item.get("season")) == season and number is not None and title:
                out[number] = title
        return out

    def probe(self) -> None:
        """One uncached ``/search/id``: a wrong client id answers 401 / 403 / 412."""
        self._get("/search/id", {"imdb": PROBE_ID}, kind="lookup", cache=False)


def _ended(status: str | None) -> bool | None:
    """Simkl's ``ended`` → True; ``airing`` / ``tba`` → False; anything else unknown."""
    if status is None:
        return None
    return {"ended": True, "airing": False, "tba": False}.get(status.lower())


def _final_count(record: dict[str, Any]) -> int | None:
    """An anime entry's episode count once it has ended (None while it airs)."""
    if _ended(_text(record.get("status"))) is not True:
        return None
    total = record.get("total_episodes")
    if isinstance(total, bool):
        return None
    number = base.int_or_none(total)
    return number if number and number > 0 else None


def _names_match(candidate: Candidate, wanted: str) -> bool:
    """True when one of the candidate's titles normalises to ``wanted``."""
    from pv2simkl import titles

    return any(titles.match_key(n) == wanted for n in (candidate.title, *candidate.titles) if n)
