"""MyAnimeList API v2: MAL ids (needs a client id, sent as the ``X-MAL-CLIENT-ID`` header;
an earlier tool tried an unsupported ``client_credentials`` grant). What the anime services
share is :mod:`.anime`'s.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from pv2simkl.config import ProviderSettings, setting
from pv2simkl.models import Ids
from pv2simkl.providers import anime, base
from pv2simkl.providers.base import Candidate, Details, MediaKind, Provider, Query
from pv2simkl.providers.base import text_or_none as _text
from pv2simkl.providers.base import unique_texts as _dedup
from pv2simkl.providers.errors import BadResponse

if TYPE_CHECKING:
    from pv2simkl.providers.http import Response


log = logging.getLogger(__name__)

MAL_FIELDS = "alternative_titles,start_date,media_type,num_episodes,status"
MIN_QUERY = 3  # MAL refuses shorter ``q`` with 400


@dataclass
class MalSettings(ProviderSettings):
    """MyAnimeList API v2 (needs a client id)."""

    base_url: str = "https://api.myanimelist.net/v2"
    limits: str = "3/1"  # undocumented; MAL answers 403 "DoS detected" when pushed
    client_id: str = setting("", "The API client id.", secret=True)


def mal_entry(node: Any) -> anime.Entry | None:
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
    movie = anime.is_movie(node.get("media_type"))
    episodes = anime.episode_count(
        node.get("num_episodes"), anime.status_of(node.get("status"), movie)
    )
    return anime.Entry(mal, names, episodes, anime.release_date(node.get("start_date")), movie)


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
        params = {"q": title, "limit": anime.SEARCH_LIMIT, "fields": MAL_FIELDS}
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
        if movie is not None and not anime.fits(node.get("media_type"), movie):
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
            status=anime.status_of(node.get("status"), anime.is_movie(node.get("media_type"))),
            released=anime.release_date(node.get("start_date")),
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
        return anime.season_details(first, seasons, self._search_nodes)

    def _search_nodes(self, query: str) -> list[anime.Entry]:
        """The entries a title search finds (any type but films and music)."""
        params = {"q": query, "limit": anime.SEARCH_LIMIT, "fields": MAL_FIELDS}
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
        self.client.get("/anime", {"q": anime.PROBE_TITLE, "limit": 1}, kind="search", cache=False)
