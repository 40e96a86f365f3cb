"""imdbapi.dev: IMDb ids (free, no key; a third-party contract, so asked last but one).

It knows no id but IMDb's: it only adds the ``tt…`` id (and a year, a title) to what the
others found.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, ClassVar

from pv2simkl.config import ProviderSettings
from pv2simkl.models import Ids
from pv2simkl.providers.base import Candidate, MediaKind, Provider, Query, candidates, year_of
from pv2simkl.providers.base import text_or_none as _text
from pv2simkl.providers.base import unique_texts as _dedup
from pv2simkl.providers.errors import BadResponse
from pv2simkl.providers.imdb import PROBE_ID, imdb_id, kind_of

log = logging.getLogger(__name__)

# imdbapi.dev title types → our kinds; every other type (episodes, games, shorts…) is ignored.
IMDBAPI_KINDS: dict[str, MediaKind] = {
    "movie": "movie", "tvMovie": "movie", "tvSeries": "tv", "tvMiniSeries": "tv",
}  # fmt: skip


@dataclass
class ImdbapiSettings(ProviderSettings):
    """imdbapi.dev, IMDb ids (no key)."""

    base_url: str = "https://api.imdbapi.dev"
    limits: str = "5/1"


class ImdbApiDev(Provider):
    """imdbapi.dev: ``/search/titles`` and ``/titles/{tt}``; no key, third-party contract."""

    name: ClassVar[str] = "imdbapi"
    needs: ClassVar[tuple[str, ...]] = ()
    settings_class = ImdbapiSettings

    def search(self, query: Query) -> list[Candidate]:
        """Titles of the wanted kind; the service takes no year, the resolver weighs it."""
        title = query.title.strip()
        if not title:
            return []
        response = self.client.get("/search/titles", {"query": title, "limit": 10}, kind="search")
        if response is None:
            return []
        data = response.data
        if not isinstance(data, dict):
            raise BadResponse(self.name, "search answer is not an object")
        titles = data.get("titles")
        if titles is None:
            return []  # the service leaves the key out when nothing matched
        if not isinstance(titles, list):
            raise BadResponse(self.name, "search answer has no list of titles")
        wanted = "movie" if query.kind == "movie" else "tv"
        return [c for c in candidates(titles, self._candidate) if c.kind == wanted]

    def lookup(self, ids: Ids, kind: MediaKind) -> Candidate | None:
        """The title behind a known IMDb id (its type, year and names)."""
        tt = imdb_id(ids.imdb)
        if tt is None:
            return None
        response = self.client.get(f"/titles/{tt}", kind="lookup")
        if response is None:
            return None
        if not isinstance(response.data, dict):
            raise BadResponse(self.name, "title answer is not an object")
        return self._candidate(response.data)

    def probe(self) -> None:
        """One uncached title lookup: the service answers (it has no key to check)."""
        self.client.get(f"/titles/{PROBE_ID}", kind="lookup", cache=False)

    def _candidate(self, item: Any) -> Candidate | None:
        """One imdbapi.dev Title as a candidate; None for other types or a broken item."""
        if not isinstance(item, dict):
            return None
        tt = imdb_id(item.get("id"))
        kind = kind_of(item.get("type"), IMDBAPI_KINDS)
        title = _text(item.get("primaryTitle")) or _text(item.get("originalTitle"))
        if tt is None or kind is None or title is None:
            return None
        rating = item.get("rating")
        votes = rating.get("voteCount") if isinstance(rating, dict) else None
        popularity = float(votes) if isinstance(votes, int | float) else 0.0
        return Candidate(
            provider=self.name, title=title, kind=kind, year=year_of(item.get("startYear")),
            ids=Ids(imdb=tt), titles=_dedup([title, _text(item.get("originalTitle"))]),
            popularity=popularity,
        )  # fmt: skip
