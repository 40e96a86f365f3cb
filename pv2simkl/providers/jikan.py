"""Jikan v4, the unofficial MyAnimeList API: MAL ids with no key (3 requests a second and
60 a minute; its limiter comes from config). What the anime services share is
:mod:`.anime`'s.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, ClassVar

from pv2simkl.config import ProviderSettings
from pv2simkl.models import Ids
from pv2simkl.providers import anime, base
from pv2simkl.providers.base import Candidate, Details, MediaKind, Provider, Query
from pv2simkl.providers.base import unique_texts as _dedup
from pv2simkl.providers.errors import BadResponse

log = logging.getLogger(__name__)


@dataclass
class JikanSettings(ProviderSettings):
    """Jikan, the unofficial MyAnimeList API (no key)."""

    base_url: str = "https://api.jikan.moe/v4"
    limits: str = "3/1, 60/60"


def jikan_entry(item: Any) -> anime.Entry | None:
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
    movie = anime.is_movie(item.get("type"))
    episodes = anime.episode_count(item.get("episodes"), anime.status_of(item.get("status"), movie))
    return anime.Entry(mal, names, episodes, anime.release_date(start), movie)


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
        fitting = [i for i in data if isinstance(i, dict) and anime.fits(i.get("type"), movie)]
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
        return None if first is None else anime.season_details(first, seasons, self._search_entries)

    def _search_entries(self, query: str) -> list[anime.Entry]:
        return [
            e for e in map(jikan_entry, self._anime_list(query)) if e is not None and not e.movie
        ]

    def _anime_list(self, query: str) -> list[Any]:
        """The items of ``/anime?q=`` (none when there is no answer: offline, not cached)."""
        response = self.client.get(
            "/anime", {"q": query, "limit": anime.SEARCH_LIMIT}, kind="search"
        )
        if response is None:
            return []
        data = response.data.get("data") if isinstance(response.data, dict) else None
        if not isinstance(data, list):
            raise BadResponse(self.name, "/anime answered no data list")
        return data

    def probe(self) -> None:
        """One uncached one-result search: Jikan answers (it has no key to check)."""
        self.client.get("/anime", {"q": anime.PROBE_TITLE, "limit": 1}, kind="search", cache=False)

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
            status=anime.status_of(item.get("status"), anime.is_movie(item.get("type"))),
            released=anime.release_date(aired.get("from")) if isinstance(aired, dict) else None,
        )  # fmt: skip
