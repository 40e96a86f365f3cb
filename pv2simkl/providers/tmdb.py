"""TMDB v3: localized search, external ids, and season episode titles.

TMDB matches localized titles when asked in the user's language (``Der Pate`` with
``language=de``) and carries the original title beside the localized one. Movies
have ``title`` / ``original_title`` / ``release_date``, shows ``name`` /
``original_name`` / ``first_air_date``; neither is required of the other (an earlier
tool required both and parsed nothing). The key is a v4 read access token (Bearer
header) or a v3 ``api_key`` query parameter.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, ClassVar

from pv2simkl.config import ProviderSettings, setting
from pv2simkl.models import Ids
from pv2simkl.providers import base
from pv2simkl.providers.base import Candidate, Details, MediaKind, Provider, Query
from pv2simkl.providers.base import text_or_none as _text
from pv2simkl.providers.errors import BadResponse
from pv2simkl.providers.imdb import PROBE_ID, imdb_id

log = logging.getLogger(__name__)

ANIMATION = 16  # TMDB genre id
# A show's ``status`` that airs no more episodes (else: Returning Series, In Production,
# Planned, Pilot); a movie's that is out (else: Rumored, Planned, In Production, …).
ENDED_SHOW = {"ended", "canceled", "cancelled"}
OUT_MOVIE = {"released"}


@dataclass
class TmdbSettings(ProviderSettings):
    """TMDB API v3 (needs a v4 read access token or a v3 key)."""

    base_url: str = "https://api.themoviedb.org/3"
    limits: str = "40/1"  # TMDB allows about 50/s; stay under it
    token: str = setting("", "The v4 read access token (Bearer).", secret=True)
    api_key: str = setting("", "The API key.", secret=True)  # or the v3 key


def release_date(value: Any) -> str | None:
    """``"2008-01-20"`` (or ``"2008"``) as given; ``""`` and anything else → None."""
    if isinstance(value, str) and base.year_of(value) is not None:
        return value.strip()[:10]
    return None


def _episode(value: Any) -> tuple[int, int] | None:
    """``last_episode_to_air`` → (season, episode); None without both numbers."""
    if not isinstance(value, dict):
        return None
    season, number = value.get("season_number"), value.get("episode_number")
    if isinstance(season, bool) or isinstance(number, bool):
        return None
    season, number = base.int_or_none(season), base.int_or_none(number)
    return (season, number) if season is not None and number is not None else None


def _is_anime(item: dict[str, Any]) -> bool:
    """A Japanese animated show: ``original_language == "ja"`` and genre 16."""
    genres = item.get("genre_ids")
    if not isinstance(genres, list):
        raw = item.get("genres")  # the detail records carry [{id, name}]
        genres = [g.get("id") for g in raw if isinstance(g, dict)] if isinstance(raw, list) else []
    return item.get("original_language") == "ja" and ANIMATION in genres


class Tmdb(Provider):
    """TMDB API v3."""

    name: ClassVar[str] = "tmdb"
    needs: ClassVar[tuple[str, ...]] = ("token", "api_key")  # either one is enough
    settings_class = TmdbSettings

    @classmethod
    def missing(cls, settings: Any) -> list[str]:
        """Nothing when a token or an api_key is set; else the pair, as one hint."""
        if getattr(settings, "token", "") or getattr(settings, "api_key", ""):
            return []
        return ["token or api_key"]

    @classmethod
    def auth(cls, settings: Any) -> tuple[dict[str, str], dict[str, str]]:
        """``Authorization: Bearer <token>`` when a token is set, else ``?api_key=``."""
        if getattr(settings, "token", ""):
            return {"Authorization": f"Bearer {settings.token}"}, {}
        return {}, {"api_key": settings.api_key}

    # -- search ------------------------------------------------------------------------

    def search(self, query: Query) -> list[Candidate]:
        """``/search/movie`` (``year``) or ``/search/tv`` (``first_air_date_year``).

        With a year hint first; without it when that finds nothing (a Prime year can be
        a re-release or a later season's). ``language`` makes TMDB match and answer
        the localized title.
        """
        title = query.title.strip()
        if not title:
            return []
        movie = query.kind == "movie"
        params = {"query": title, "include_adult": "false", "language": query.language or None}
        path = "/search/movie" if movie else "/search/tv"
        year_key = "year" if movie else "first_air_date_year"
        return self.search_year_first(
            query.year, lambda year: self._search(path, {**params, year_key: year}, movie)
        )

    def _search(self, path: str, params: dict[str, Any], movie: bool) -> list[Candidate]:
        response = self.client.get(path, params, kind="search")
        if response is None:
            return []
        data = response.data
        results = data.get("results") if isinstance(data, dict) else None
        if not isinstance(results, list):
            raise BadResponse(self.name, f"{path} answered no list of results")
        return base.candidates(
            results, lambda item: self._candidate(item, "movie" if movie else "tv")
        )

    def _candidate(self, item: Any, kind: MediaKind) -> Candidate | None:
        """A search, ``/find`` or detail row; None without an id or a title."""
        if not isinstance(item, dict):
            return None
        tmdb = base.int_or_none(item.get("id"))
        title = _text(item.get("title")) or _text(item.get("name"))
        original = _text(item.get("original_title")) or _text(item.get("original_name"))
        title = title or original
        if tmdb is None or title is None:
            return None
        if kind == "tv" and _is_anime(item):
            kind = "anime"
        date = item.get("release_date") or item.get("first_air_date")
        popularity = item.get("popularity")
        ok_number = isinstance(popularity, int | float) and not isinstance(popularity, bool)
        return Candidate(
            provider=self.name, title=title, kind=kind, year=base.year_of(date), ids=Ids(tmdb=tmdb),
            titles=[title] + ([original] if original and original != title else []),
            popularity=float(popularity) if ok_number else 0.0, released=release_date(date),
        )  # fmt: skip

    # -- lookup ------------------------------------------------------------------------

    def lookup(self, ids: Ids, kind: MediaKind) -> Candidate | None:
        """IMDb and TVDB ids of a TMDB id; or the TMDB id of an IMDb (or TVDB) id.

        TMDB ids are not unique across movies and shows: ``kind`` picks the path. An
        ``anime`` may be a film or a series, so it is found by its IMDb id when known
        (``/find`` names the bucket); by its TMDB id alone it is taken for a series.
        """
        tt = imdb_id(ids.imdb)
        if ids.tmdb is not None and not (kind == "anime" and tt is not None):
            return self._external(ids.tmdb, kind)
        if tt is not None:
            return self._find(tt, "imdb_id", kind)
        if ids.tvdb is not None and kind != "movie":
            return self._find(str(ids.tvdb), "tvdb_id", kind)
        return None

    def _external(
        self, tmdb: int, kind: MediaKind, known: Candidate | None = None
    ) -> Candidate | None:
        """``/{movie|tv}/{id}/external_ids`` merged into ``known`` (or a bare candidate)."""
        path = f"/movie/{tmdb}/external_ids" if kind == "movie" else f"/tv/{tmdb}/external_ids"
        response = self.client.get(path, kind="lookup")
        if response is None:
            return known
        data = response.data
        if not isinstance(data, dict):
            raise BadResponse(self.name, "external_ids is not an object")
        out = known or Candidate(provider=self.name, title="", kind=kind, ids=Ids(tmdb=tmdb))
        out.ids.imdb = imdb_id(data.get("imdb_id")) or out.ids.imdb
        if kind != "movie":
            out.ids.tvdb = base.int_or_none(data.get("tvdb_id")) or out.ids.tvdb
        return out

    def _find(self, external: str, source: str, kind: MediaKind) -> Candidate | None:
        """``/find/{id}?external_source=``: the movie, the show, or an episode's show."""
        response = self.client.get(f"/find/{external}", {"external_source": source}, kind="lookup")
        if response is None:
            return None
        data = response.data
        if not isinstance(data, dict):
            raise BadResponse(self.name, "/find is not an object")

        def bucket(name: str) -> list[Any]:
            value = data.get(name)
            return value if isinstance(value, list) else []

        buckets = {"movie": ["movie_results"], "tv": ["tv_results"]}.get(
            kind, ["tv_results", "movie_results"]
        )
        for name in buckets:
            for item in bucket(name):
                found = self._candidate(item, "movie" if name == "movie_results" else "tv")
                if found is None:
                    continue
                if source == "imdb_id":
                    found.ids.imdb = external
                else:
                    found.ids.tvdb = base.int_or_none(external)
                if found.kind == "movie":
                    return found  # a film's /find row has all TMDB knows but its imdb id
                return self._external(found.ids.tmdb, found.kind, found)  # type: ignore[arg-type]
        if kind == "movie":
            return None
        for item in bucket("tv_episode_results"):
            # An episode's tt-id: its series is the work (its own tt-id comes from external_ids).
            show = base.int_or_none(item.get("show_id")) if isinstance(item, dict) else None
            if show is not None:
                return self._external(show, kind)
        return None

    # -- details -----------------------------------------------------------------------

    def details(self, ids: Ids, kind: MediaKind, seasons: list[int]) -> Details | None:
        """One ``/movie/{id}`` or ``/tv/{id}``: release or first air date, whether the
        show has ended (``status``), and its ``last_episode_to_air``.

        TMDB knows no MAL entries: an anime gets its show facts, no entries.
        """
        if ids.tmdb is None:
            return None
        movie = kind == "movie"
        path = f"/movie/{int(ids.tmdb)}" if movie else f"/tv/{int(ids.tmdb)}"
        response = self.client.get(path, kind="episodes")
        if response is None:
            return None
        data = response.data
        if not isinstance(data, dict):
            raise BadResponse(self.name, f"{path.rsplit('/', 1)[0]}/{{id}} is not an object")
        status = _text(data.get("status"))
        if movie:
            return Details(
                released=release_date(data.get("release_date")),
                ended=None if status is None else status.lower() in OUT_MOVIE,
            )
        return Details(
            released=release_date(data.get("first_air_date")),
            ended=None if status is None else status.lower() in ENDED_SHOW,
            last_aired=_episode(data.get("last_episode_to_air")),
        )

    # -- episodes ----------------------------------------------------------------------

    def season_episodes(self, ids: Ids, season: int) -> dict[int, str] | None:
        """Episode number → name of one season, from ``/tv/{id}/season/{n}``."""
        if ids.tmdb is None:
            return None
        response = self.client.get(f"/tv/{ids.tmdb}/season/{int(season)}", kind="episodes")
        if response is None:
            return None
        data = response.data
        episodes = data.get("episodes") if isinstance(data, dict) else None
        if not isinstance(episodes, list):
            raise BadResponse(self.name, "season answer has no list of episodes")
        out: dict[int, str] = {}
        for item in episodes:
            if not isinstance(item, dict) or isinstance(item.get("episode_number"), bool):
                continue
            number = base.int_or_none(item.get("episode_number"))
            title = _text(item.get("name"))
            if number is not None and title:
                out[number] = title
        return out

    def probe(self) -> None:
        """One uncached ``/find`` by IMDb id: a bad key answers 401."""
        self.client.get(
            f"/find/{PROBE_ID}", {"external_source": "imdb_id"}, kind="lookup", cache=False
        )
