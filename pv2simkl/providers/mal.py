"""MyAnimeList ids from two services: MyAnimeList API v2 (client id) and Jikan v4 (no key).

Both search anime only and know no other service's ids; what they add is the MAL id
and the anime's many names (English, Japanese, romaji, synonyms), which let a
localized Prime title match. MAL reads need only the ``X-MAL-CLIENT-ID`` header (an
earlier tool tried an unsupported ``client_credentials`` grant). Jikan allows 3
requests a second and 60 a minute; its limiter comes from config.

Every candidate is of kind ``anime``; a movie query keeps anime films (and items of
unknown type), a show query everything else but music videos and ads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from pv2simkl.config import ProviderSettings, setting
from pv2simkl.models import Ids
from pv2simkl.providers import base
from pv2simkl.providers.base import AnimeEntry, Candidate, Details, MediaKind, Provider, Query
from pv2simkl.providers.base import text_or_none as _text
from pv2simkl.providers.base import unique_texts as _dedup
from pv2simkl.providers.errors import BadResponse

if TYPE_CHECKING:
    from pv2simkl.providers.http import Response

log = logging.getLogger(__name__)

SEARCH_LIMIT = 10
MAL_FIELDS = "alternative_titles,start_date,media_type,num_episodes,status"
MIN_QUERY = 3  # MAL refuses shorter ``q`` with 400
NEVER = {"music", "cm", "pv"}  # music videos, commercials, promo videos
STATUSES = {
    "finished_airing": "ended", "finished airing": "ended",
    "currently_airing": "airing", "currently airing": "airing",
    "not_yet_aired": "tba", "not yet aired": "tba",
}  # fmt: skip
PROBE_TITLE = "Cowboy Bebop"


@dataclass
class MalSettings(ProviderSettings):
    """MyAnimeList API v2 (needs a client id)."""

    base_url: str = "https://api.myanimelist.net/v2"
    limits: str = "3/1"  # undocumented; MAL answers 403 "DoS detected" when pushed
    client_id: str = setting("", "The API client id.", secret=True)


@dataclass
class JikanSettings(ProviderSettings):
    """Jikan, the unofficial MyAnimeList API (no key)."""

    base_url: str = "https://api.jikan.moe/v4"
    limits: str = "3/1, 60/60"


def season_queries(names: list[str], season: int) -> list[str]:
    """The searches that find a season's own entry: ``<title> Season <n>`` for the
    entry's first two names (romaji, English), as MAL and Simkl title sequels."""
    return [f"{name} Season {season}" for name in names[:2]]


def holds_season(base_names: list[str], names: list[str], season: int) -> bool:
    """Whether an entry named ``names`` is season ``season`` of the work named
    ``base_names``: one of its names is a base name plus that season's number
    (``Shingeki no Kyojin Season 3``, ``Attack on Titan 3rd Season``), never a part of
    a season (``… Season 3 Part 2``) nor a film or a spin-off of the same name."""
    from pv2simkl import titles as _titles  # not at import: the settings are read at start

    bases = {_titles.match_key(n) for n in base_names if n}
    for name in names:
        found = _titles.season_suffix(name)
        if found and found[1] == season and _titles.match_key(found[0]) in bases:
            return True
    return False


def release_date(value: Any) -> str | None:
    """``"2017"``, ``"2017-10"``, ``"2017-10-23"`` or an ISO instant → its date part."""
    if isinstance(value, str) and base.year_of(value) is not None:
        return value.strip()[:10]
    return None


@dataclass
class Entry:
    """One MAL entry as a season's holder: its id, names, episodes and airing state."""

    mal: int
    names: list[str]
    episodes: int | None  # None while it airs (the count is not final) or unknown
    released: str | None
    movie: bool = False


def _count(value: Any, status: str | None) -> int | None:
    """An entry's final episode count: a positive int of an entry no longer airing."""
    if isinstance(value, bool) or status in ("airing", "tba"):
        return None
    number = base.int_or_none(value)
    return number if number and number > 0 else None


def mal_entry(node: Any) -> Entry | None:
    """A MAL v2 node (``id``, ``title``, ``alternative_titles``, ``num_episodes`` …)."""
    if not isinstance(node, dict) or isinstance(node.get("id"), bool):
        return None
    mal = base.int_or_none(node.get("id"))
    alt = node.get("alternative_titles")
    alt = alt if isinstance(alt, dict) else {}
    synonyms = alt.get("synonyms") if isinstance(alt.get("synonyms"), list) else []
    names = _dedup([node.get("title"), alt.get("en"), *synonyms, alt.get("ja")])
    if mal is None or not names:
        return None
    movie = _is_movie(node.get("media_type"))
    return Entry(mal, names, _count(node.get("num_episodes"), _status(node.get("status"), movie)),
                 release_date(node.get("start_date")), movie)  # fmt: skip


def jikan_entry(item: Any) -> Entry | None:
    """A Jikan anime object (``mal_id``, ``titles``, ``episodes``, ``aired``, ``type``)."""
    if not isinstance(item, dict) or isinstance(item.get("mal_id"), bool):
        return None
    mal = base.int_or_none(item.get("mal_id"))
    listed = item.get("titles")
    listed = [t.get("title") for t in listed if isinstance(t, dict)] if isinstance(
        listed, list) else []  # fmt: skip
    synonyms = item.get("title_synonyms")
    names = _dedup([item.get("title"), item.get("title_english"), *listed,
                    *(synonyms if isinstance(synonyms, list) else [])])  # fmt: skip
    if mal is None or not names:
        return None
    aired = item.get("aired")
    start = aired.get("from") if isinstance(aired, dict) else None
    movie = _is_movie(item.get("type"))
    return Entry(mal, names, _count(item.get("episodes"), _status(item.get("status"), movie)),
                 release_date(start), movie)  # fmt: skip


def season_details(
    first: Entry, seasons: list[int], search: Callable[[str], list[Entry]]
) -> Details:
    """Details of an anime whose season-1 entry is ``first``: the entry of each watched
    season, season 1 being ``first`` and any other the one ``search`` finds by its title
    (``<title> Season <n>``). A season no entry is named for is left out."""
    entries = []
    for season in sorted(set(seasons) or {1}):
        found: Entry | None = first if season == 1 else None
        for query in season_queries(first.names, season) if season > 1 else []:
            hits = [e for e in search(query) if e.mal != first.mal]
            found = next((e for e in hits if holds_season(first.names, e.names, season)), None)
            if found is not None:
                break
        if found is not None:
            entries.append(AnimeEntry(season=season, mal=found.mal, title=found.names[0],
                                      episodes=found.episodes))  # fmt: skip
    return Details(released=first.released, anime_entries=entries)


def _fits(media_type: Any, movie: bool) -> bool:
    """Whether an anime of this type can be what a movie (or a show) query looks for."""
    if not isinstance(media_type, str) or not media_type.strip():
        return True  # unknown type: let the resolver's title and year decide
    kind = media_type.strip().lower().replace(" ", "_")
    if kind in NEVER:
        return False
    return (kind == "movie") == movie


def _status(value: Any, movie: bool) -> str | None:
    """MAL's / Jikan's airing status in Simkl's words (``ended``, ``airing``, ``tba``)."""
    text = _text(value)
    if text is None:
        return None
    status = STATUSES.get(text.lower())
    if status == "ended" and movie:
        return "released"
    return status or text.lower()


def _is_movie(media_type: Any) -> bool:
    return isinstance(media_type, str) and media_type.strip().lower() == "movie"


class MyAnimeList(Provider):
    """MyAnimeList API v2: ``GET /anime?q=`` with the client id header."""

    name: ClassVar[str] = "mal"
    needs: ClassVar[tuple[str, ...]] = ("client_id",)
    settings_class = MalSettings

    @classmethod
    def auth(cls, settings: Any) -> tuple[dict[str, str], dict[str, str]]:
        """Public reads: the ``X-MAL-CLIENT-ID`` header, no user login."""
        return {"X-MAL-CLIENT-ID": settings.client_id}, {}

    def search(self, query: Query) -> list[Candidate]:
        """Anime titled like the query; ``[]`` for a query under 3 characters."""
        title = query.title.strip()
        if len(title) < MIN_QUERY:
            return []
        params = {"q": title, "limit": SEARCH_LIMIT, "fields": MAL_FIELDS}
        response = self.client.get("/anime", params, kind="search")
        return self._parse(response, query.kind == "movie")

    def _parse(self, response: Response | None, movie: bool) -> list[Candidate]:
        if response is None:
            return []
        data = response.data.get("data") if isinstance(response.data, dict) else None
        if not isinstance(data, list):
            raise BadResponse(self.name, "/anime answered no data list")
        return self._parse_nodes(data, movie)

    def _parse_nodes(self, data: list[Any], movie: bool | None) -> list[Candidate]:
        """``[{"node": {…}}]`` → candidates (``movie`` None: of any type)."""
        return base.candidates(data, lambda row: self._candidate(row, movie))

    def _candidate(self, row: Any, movie: bool | None) -> Candidate | None:
        """One ``{"node": {…}}`` row; None when it has no id or title or is of another type."""
        node = row.get("node") if isinstance(row, dict) else None
        if not isinstance(node, dict):
            return None
        if movie is not None and not _fits(node.get("media_type"), movie):
            return None
        mal = base.int_or_none(node.get("id"))
        title = _text(node.get("title"))
        if mal is None or isinstance(node.get("id"), bool) or title is None:
            return None
        alt = node.get("alternative_titles")
        alt = alt if isinstance(alt, dict) else {}
        synonyms = alt.get("synonyms") if isinstance(alt.get("synonyms"), list) else []
        return Candidate(
            provider=self.name, title=title, kind="anime",
            year=base.year_of(node.get("start_date")),
            ids=Ids(mal=mal), titles=_dedup([title, alt.get("en"), alt.get("ja"), *synonyms]),
            status=_status(node.get("status"), _is_movie(node.get("media_type"))),
            released=release_date(node.get("start_date")),
        )  # fmt: skip

    # -- details -----------------------------------------------------------------------

    def details(self, ids: Ids, kind: MediaKind, seasons: list[int]) -> Details | None:
        """The MAL entry of each watched season of an anime, by the entries' own titles.

        Season 1 is the work's own entry (``GET /anime/{id}``); a later season is the
        entry a ``<title> Season <n>`` search finds whose name says that season, with its
        episode count (None while it airs). MAL cannot tell how a long-running entry
        spans seasons: a season without its own entry is left out (no offsets here).
        """
        if ids.mal is None or kind == "movie":
            return None
        response = self.client.get(f"/anime/{int(ids.mal)}", {"fields": MAL_FIELDS},
                                   kind="lookup")  # fmt: skip
        if response is None:
            return None
        if not isinstance(response.data, dict):
            raise BadResponse(self.name, "/anime/{id} answered no object")
        first = mal_entry(response.data)
        if first is None:
            return None
        return season_details(first, seasons, self._search_nodes)

    def _search_nodes(self, query: str) -> list[Entry]:
        """The entries a title search finds (any type but films and music)."""
        params = {"q": query, "limit": SEARCH_LIMIT, "fields": MAL_FIELDS}
        response = self.client.get("/anime", params, kind="search")
        if response is None:
            return []
        data = response.data.get("data") if isinstance(response.data, dict) else None
        if not isinstance(data, list):
            raise BadResponse(self.name, "/anime answered no data list")
        nodes = [row.get("node") for row in data if isinstance(row, dict)]
        return [e for e in map(mal_entry, nodes) if e is not None and not e.movie]

    # MAL knows no other service's ids: lookup stays the base's None.

    def probe(self) -> None:
        """One uncached one-result search: a wrong client id answers 401 / 403."""
        self.client.get("/anime", {"q": PROBE_TITLE, "limit": 1}, kind="search", cache=False)


class Jikan(Provider):
    """Jikan v4 (an unofficial MAL mirror): ``/anime?q=`` and ``/anime/{mal_id}``; no key."""

    name: ClassVar[str] = "jikan"
    needs: ClassVar[tuple[str, ...]] = ()
    settings_class = JikanSettings

    def search(self, query: Query) -> list[Candidate]:
        """Anime titled like the query (Jikan's ranking; filtered by movie or show)."""
        title = query.title.strip()
        if not title:
            return []
        data = self._anime_list(title)
        movie = query.kind == "movie"
        fitting = [i for i in data if isinstance(i, dict) and _fits(i.get("type"), movie)]
        return base.candidates(fitting, self._candidate)

    def lookup(self, ids: Ids, kind: MediaKind) -> Candidate | None:
        """The anime behind a MAL id (names, year, status); Jikan has no other ids."""
        data = self._anime(ids.mal) if ids.mal is not None else None
        return None if data is None else self._candidate(data)

    def _anime(self, mal: int) -> dict[str, Any] | None:
        """``GET /anime/{id}``'s data object (cached: lookup and details share it)."""
        response = self.client.get(f"/anime/{int(mal)}", kind="lookup")
        if response is None:
            return None
        data = response.data.get("data") if isinstance(response.data, dict) else None
        if not isinstance(data, dict):
            raise BadResponse(self.name, "/anime/{id} answered no data object")
        return data

    def details(self, ids: Ids, kind: MediaKind, seasons: list[int]) -> Details | None:
        """The MAL entry of each watched season, as :meth:`MyAnimeList.details` finds it:
        the work's own entry (``GET /anime/{id}``), the others by their own titles."""
        if ids.mal is None or kind == "movie":
            return None
        data = self._anime(ids.mal)
        if data is None:
            return None
        first = jikan_entry(data)
        return None if first is None else season_details(first, seasons, self._search_entries)

    def _search_entries(self, query: str) -> list[Entry]:
        return [
            e for e in map(jikan_entry, self._anime_list(query)) if e is not None and not e.movie
        ]

    def _anime_list(self, query: str) -> list[Any]:
        """The items of ``/anime?q=`` (none when there is no answer: offline, not cached)."""
        response = self.client.get("/anime", {"q": query, "limit": SEARCH_LIMIT}, kind="search")
        if response is None:
            return []
        data = response.data.get("data") if isinstance(response.data, dict) else None
        if not isinstance(data, list):
            raise BadResponse(self.name, "/anime answered no data list")
        return data

    def probe(self) -> None:
        """One uncached one-result search: Jikan answers (it has no key to check)."""
        self.client.get("/anime", {"q": PROBE_TITLE, "limit": 1}, kind="search", cache=False)

    def _candidate(self, item: dict[str, Any]) -> Candidate | None:
        """One Jikan anime object; None without a MAL id or a title."""
        raw_id = item.get("mal_id")
        mal = None if isinstance(raw_id, bool) else base.int_or_none(raw_id)
        titles = item.get("titles")
        listed = [t.get("title") for t in titles if isinstance(t, dict)] if isinstance(
            titles, list
        ) else []  # fmt: skip
        synonyms = item.get("title_synonyms")
        names = _dedup([
            item.get("title"), *listed, item.get("title_english"), item.get("title_japanese"),
            *(synonyms if isinstance(synonyms, list) else []),
        ])  # fmt: skip
        if mal is None or not names:
            return None
        aired = item.get("aired")
        year = base.year_of(item.get("year"))
        if year is None and isinstance(aired, dict):
            year = base.year_of(aired.get("from"))
        members = item.get("members")
        ok_number = isinstance(members, int | float) and not isinstance(members, bool)
        return Candidate(
            provider=self.name, title=names[0], kind="anime", year=year, ids=Ids(mal=mal),
            titles=names, popularity=float(members) if ok_number else 0.0,
            status=_status(item.get("status"), _is_movie(item.get("type"))),
            released=release_date(aired.get("from")) if isinstance(aired, dict) else None,
        )  # fmt: skip
