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
from typing import Any, ClassVar

from pv2simkl.models import Ids
from pv2simkl.providers.base import Candidate, MediaKind, Provider, Query, int_or_none, year_of
from pv2simkl.providers.base import text_or_none as _text
from pv2simkl.providers.base import unique_texts as _dedup
from pv2simkl.providers.http import BadResponse, Response

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
        out = []
        for row in data:
            node = row.get("node") if isinstance(row, dict) else None
            if not isinstance(node, dict) or not _fits(node.get("media_type"), movie):
                continue
            mal = int_or_none(node.get("id"))
            title = _text(node.get("title"))
            if mal is None or isinstance(node.get("id"), bool) or title is None:
                continue
            alt = node.get("alternative_titles")
            alt = alt if isinstance(alt, dict) else {}
            synonyms = alt.get("synonyms") if isinstance(alt.get("synonyms"), list) else []
            out.append(
                Candidate(
                    provider=self.name,
                    title=title,
                    kind="anime",
                    year=year_of(node.get("start_date")),
                    ids=Ids(mal=mal),
                    titles=_dedup([title, alt.get("en"), alt.get("ja"), *synonyms]),
                    status=_status(node.get("status"), _is_movie(node.get("media_type"))),
                )  # fmt: skip
            )
        return out

    # MAL knows no other service's ids: lookup stays the base's None.

    def probe(self) -> None:
        """One uncached one-result search: a wrong client id answers 401 / 403."""
        self.client.get("/anime", {"q": PROBE_TITLE, "limit": 1}, kind="search", cache=False)


class Jikan(Provider):
    """Jikan v4 (an unofficial MAL mirror): ``/anime?q=`` and ``/anime/{mal_id}``; no key."""

    name: ClassVar[str] = "jikan"
    needs: ClassVar[tuple[str, ...]] = ()

    def search(self, query: Query) -> list[Candidate]:
        """Anime titled like the query (Jikan's ranking; filtered by movie or show)."""
        title = query.title.strip()
        if not title:
            return []
        response = self.client.get("/anime", {"q": title, "limit": SEARCH_LIMIT}, kind="search")
        if response is None:
            return []
        data = response.data.get("data") if isinstance(response.data, dict) else None
        if not isinstance(data, list):
            raise BadResponse(self.name, "/anime answered no data list")
        movie = query.kind == "movie"
        out = []
        for item in data:
            if isinstance(item, dict) and _fits(item.get("type"), movie):
                candidate = self._candidate(item)
                if candidate is not None:
                    out.append(candidate)
        return out

    def lookup(self, ids: Ids, kind: MediaKind) -> Candidate | None:
        """The anime behind a MAL id (names, year, status); Jikan has no other ids."""
        if ids.mal is None:
            return None
        response = self.client.get(f"/anime/{int(ids.mal)}", kind="lookup")
        if response is None:
            return None
        data = response.data.get("data") if isinstance(response.data, dict) else None
        if not isinstance(data, dict):
            raise BadResponse(self.name, "/anime/{id} answered no data object")
        return self._candidate(data)

    def probe(self) -> None:
        """One uncached one-result search: Jikan answers (it has no key to check)."""
        self.client.get("/anime", {"q": PROBE_TITLE, "limit": 1}, kind="search", cache=False)

    def _candidate(self, item: dict[str, Any]) -> Candidate | None:
        """One Jikan anime object; None without a MAL id or a title."""
        raw_id = item.get("mal_id")
        mal = None if isinstance(raw_id, bool) else int_or_none(raw_id)
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
        year = year_of(item.get("year"))
        if year is None and isinstance(aired, dict):
            year = year_of(aired.get("from"))
        members = item.get("members")
        ok_number = isinstance(members, int | float) and not isinstance(members, bool)
        return Candidate(
            provider=self.name, title=names[0], kind="anime", year=year, ids=Ids(mal=mal),
            titles=names, popularity=float(members) if ok_number else 0.0,
            status=_status(item.get("status"), _is_movie(item.get("type"))),
        )  # fmt: skip
