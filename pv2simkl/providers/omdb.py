"""OMDb: IMDb ids (needs an API key; a free key has 1,000 requests a day, so asked last).

It knows no id but IMDb's: it only adds the ``tt…`` id (and a year, a title) to what the
others found.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, ClassVar

from pv2simkl.config import ProviderSettings, setting
from pv2simkl.models import Ids
from pv2simkl.providers.base import Candidate, MediaKind, Provider, Query, candidates, year_of
from pv2simkl.providers.base import text_or_none as _text
from pv2simkl.providers.errors import BadResponse, RateLimited, Unauthorized
from pv2simkl.providers.imdb import PROBE_ID, imdb_id, kind_of

log = logging.getLogger(__name__)

OMDB_KINDS: dict[str, MediaKind] = {"movie": "movie", "series": "tv"}


@dataclass
class OmdbSettings(ProviderSettings):
    """OMDb, IMDb ids (needs an API key; 1,000 requests a day on a free key)."""

    base_url: str = "https://www.omdbapi.com"
    limits: str = "10/1, 1000/86400"  # a free key has 1,000 requests a day
    api_key: str = setting("", "The API key.", secret=True)


class Omdb(Provider):
    """OMDb: ``/?s=`` to search, ``/?i=tt…`` by id; the key is the ``apikey`` query param.

    OMDb answers "nothing found" with HTTP 200 and ``{"Response":"False","Error":…}``;
    a bad key and an exhausted daily quota come as 401, which the client turns into
    :class:`Unauthorized`. The same texts in a 200 are mapped the same way here.
    """

    name: ClassVar[str] = "omdb"
    needs: ClassVar[tuple[str, ...]] = ("api_key",)
    settings_class = OmdbSettings

    @classmethod
    def auth(cls, settings: Any) -> tuple[dict[str, str], dict[str, str]]:
        """The key goes in the query as ``apikey`` (secret: never cached, never logged)."""
        return {}, {"apikey": settings.api_key}

    def search(self, query: Query) -> list[Candidate]:
        """``s=`` search by type; with a year hint first, without it if that finds nothing."""
        title = query.title.strip()
        if not title:
            return []
        kind = "movie" if query.kind == "movie" else "series"
        params: dict[str, Any] = {"s": title, "type": kind}
        return self.search_year_first(query.year, lambda year: self._search({**params, "y": year}))

    def _search(self, params: dict[str, Any]) -> list[Candidate]:
        response = self.client.get("/", params, kind="search")
        if response is None:
            return []
        data = self._checked(response.data)
        if data is None:
            return []
        items = data.get("Search")
        if not isinstance(items, list):
            raise BadResponse(self.name, "search answer has no Search list")
        return candidates(items, self._candidate)

    def lookup(self, ids: Ids, kind: MediaKind) -> Candidate | None:
        """The title behind an IMDb id; an episode's id leads to its series (``seriesID``)."""
        tt = imdb_id(ids.imdb)
        if tt is None:
            return None
        return self._by_id(tt)

    def _by_id(self, tt: str, *, follow_series: bool = True) -> Candidate | None:
        response = self.client.get("/", {"i": tt}, kind="lookup")
        if response is None:
            return None
        data = self._checked(response.data)
        if data is None:
            return None
        if data.get("Type") == "episode" and follow_series:
            series = imdb_id(data.get("seriesID"))
            return self._by_id(series, follow_series=False) if series else None
        return self._candidate(data)

    def probe(self) -> None:
        """One uncached lookup by id: checks the key (a bad one comes back as 401)."""
        response = self.client.get("/", {"i": PROBE_ID}, kind="lookup", cache=False)
        if response is not None:
            self._checked(response.data)

    def _checked(self, data: Any) -> dict[str, Any] | None:
        """The answer object, None for "not found", or the error OMDb put in the body."""
        if not isinstance(data, dict):
            raise BadResponse(self.name, "answer is not an object")
        if str(data.get("Response", "True")).lower() != "false":
            return data
        error = _text(data.get("Error")) or "no error text"
        lowered = error.lower()
        if "api key" in lowered:
            raise Unauthorized(self.name, error)
        if "limit reached" in lowered:
            raise RateLimited(self.name, error)
        if "not found" not in lowered and "incorrect imdb id" not in lowered:
            # "Too many results.", "Something went wrong." …: nothing usable either way.
            log.debug("omdb: %s", error)
        return None

    def _candidate(self, item: Any) -> Candidate | None:
        """A search row or a full record as a candidate; None for games and episodes."""
        if not isinstance(item, dict):
            return None
        kind = kind_of(item.get("Type"), OMDB_KINDS)
        tt = imdb_id(item.get("imdbID"))
        title = _text(item.get("Title"))
        if kind is None or tt is None or title is None:
            return None
        votes = str(item.get("imdbVotes", "")).replace(",", "")
        return Candidate(
            provider=self.name, title=title, kind=kind, year=year_of(item.get("Year")),
            ids=Ids(imdb=tt), titles=[title],
            popularity=float(votes) if votes.isdigit() else 0.0,
        )  # fmt: skip
