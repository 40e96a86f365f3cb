"""TheTVDB v4 (``api4.thetvdb.com/v4``): search with aliases and translations, remote ids.

TVDB wants a Bearer token from ``POST /login`` (``{"apikey", "pin"?}``) that lasts a
month. The token is a secret: it lives in this process's memory only, shared by every
thread, and never reaches the response cache (the store is a file that backups copy
around). Logging in happens on the first request that really goes out, so a run
answered from the cache never logs in, and any other run logs in once (an earlier tool
logged in before every call). A data call answered 401 logs in once more and is retried
once (the token expired or belongs to another key); a second 401 is the caller's.
Remote ids are matched on ``sourceName`` (``IMDB``, ``TheMovieDB.com``), never on the
integer ``type``, whose values for TMDB disagree between sources.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar

from pv2simkl.config import ProviderSettings, setting
from pv2simkl.models import Ids
from pv2simkl.providers import base
from pv2simkl.providers.base import Candidate, Details, MediaKind, Provider, Query
from pv2simkl.providers.base import text_or_none as _text
from pv2simkl.providers.errors import BadResponse, Unauthorized
from pv2simkl.providers.imdb import imdb_id

if TYPE_CHECKING:
    from pv2simkl.providers.http import HttpClient, Response

log = logging.getLogger(__name__)


@dataclass
class TvdbSettings(ProviderSettings):
    """TheTVDB API v4 (needs an API key; a PIN for user-supported keys)."""

    base_url: str = "https://api4.thetvdb.com/v4"
    limits: str = "10/1"  # unpublished; conservative
    api_key: str = setting("", "The API key.", secret=True)
    pin: str = setting("", "The subscriber PIN of a user-supported key.", secret=True)


# Where earlier builds cached the token: the entry is deleted whenever a cache is opened.
LEGACY_TOKEN_KEY = "tvdb-token"
SEARCH_LIMIT = 10


def _tvdb_id(item: dict[str, Any]) -> int | None:
    """``tvdb_id`` (``"81189"``), else ``id`` as an int or as ``"series-81189"``."""
    found = base.int_or_none(item.get("tvdb_id"))
    if found is not None:
        return found
    raw = item.get("id")
    if isinstance(raw, str) and "-" in raw:
        raw = raw.rsplit("-", 1)[1]
    return None if isinstance(raw, bool) else base.int_or_none(raw)


def remote_ids(raw: Any) -> Ids:
    """``remote_ids`` / ``remoteIds`` (``[{id, type, sourceName}]``) → IMDb and TMDB ids."""
    ids = Ids()
    if not isinstance(raw, list):
        return ids
    for entry in raw:
        if not isinstance(entry, dict) or not isinstance(entry.get("sourceName"), str):
            continue
        source = entry["sourceName"].strip().lower()
        if source == "imdb" and ids.imdb is None:
            ids.imdb = imdb_id(entry.get("id"))
        elif source == "themoviedb.com" and ids.tmdb is None:
            ids.tmdb = base.int_or_none(entry.get("id"))
    return ids


def _names(item: dict[str, Any]) -> list[str]:
    """Name, English / other translations and aliases (strings or ``{language, name}``)."""
    raw: list[Any] = [item.get("name"), item.get("title"), item.get("name_translated")]
    translations = item.get("translations")
    if isinstance(translations, dict):
        raw += list(translations.values())
    aliases = item.get("aliases")
    if isinstance(aliases, list):
        raw += [a.get("name") if isinstance(a, dict) else a for a in aliases]
    return base.unique_texts(raw)


def _kind(item: dict[str, Any], asked: MediaKind) -> MediaKind:
    """The path or search type decides movie or series; a series of genre "Anime" is anime."""
    if asked == "movie":
        return "movie"
    genres = item.get("genres")
    names = genres if isinstance(genres, list) else []
    names = [g.get("name") if isinstance(g, dict) else g for g in names]
    anime = any(isinstance(n, str) and n.strip().lower() == "anime" for n in names)
    return "anime" if anime else "tv"


def _status(value: Any) -> str | None:
    """``"Ended"`` or ``{"name": "Ended", …}`` in Simkl's words: ended, airing, tba."""
    if isinstance(value, dict):
        value = value.get("name")
    text = _text(value)
    if text is None:
        return None
    return {"continuing": "airing", "upcoming": "tba"}.get(text.lower(), text.lower())


def _last_aired(episodes: Any) -> tuple[int, int] | None:
    """(season, number) of the last episode whose ``aired`` date is not after today."""
    today = date.today().isoformat()
    aired = []
    for item in episodes if isinstance(episodes, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("aired"), str):
            continue
        season, number = item.get("seasonNumber"), item.get("number")
        if isinstance(season, bool) or isinstance(number, bool):
            continue
        season, number = base.int_or_none(season), base.int_or_none(number)
        if season and number and item["aired"][:10] <= today:
            aired.append((season, number))
    return max(aired) if aired else None


class Tvdb(Provider):
    """TheTVDB API v4, with its login token kept in memory across calls and threads."""

    name: ClassVar[str] = "tvdb"
    needs: ClassVar[tuple[str, ...]] = ("api_key",)
    settings_class = TvdbSettings

    def __init__(self, settings: ProviderSettings, client: HttpClient):
        super().__init__(settings, client)
        self._token: str | None = None
        self._lock = threading.Lock()  # one login at a time, for every thread
        self._used = threading.local()  # the token this thread's last request went out with
        client.authenticate = self._authenticate
        if client.cache is not None:
            client.cache.delete(LEGACY_TOKEN_KEY)

    # -- the token ---------------------------------------------------------------------

    def _use(self, token: str) -> None:
        self._token = token
        self.client.set_header("Authorization", f"Bearer {token}")

    def _login(self) -> str:
        """``POST /login``; the token goes on the client (never into the cache). Lock held."""
        body: dict[str, str] = {"apikey": self.settings.api_key}  # type: ignore[attr-defined]
        pin = getattr(self.settings, "pin", "")
        if pin:
            body["pin"] = pin
        response = self.client.request(
            "POST", "/login", json_body=body, cache=False, authenticate=False
        )
        data = response.data if response is not None else None
        token = data.get("data") if isinstance(data, dict) else None
        token = token.get("token") if isinstance(token, dict) else None
        if not isinstance(token, str) or not token:
            raise BadResponse(self.name, "login answered no token")
        self._use(token)
        log.debug("tvdb: logged in")
        return token

    def _authenticate(self) -> None:
        """The client's hook before a request leaves: this process's token, or a login."""
        with self._lock:
            self._used.token = self._token or self._login()

    def _get(self, path: str, params: dict[str, Any] | None = None, *, kind: str) -> Any:
        """GET with the token; on 401 one new login and one retry. The answer's ``data``."""
        self._used.token = None
        try:
            response = self.client.get(path, params, kind=kind)
        except Unauthorized:
            used = self._used.token
            if used is None:
                raise  # the login itself was refused: the key is wrong
            with self._lock:
                if self._token == used:  # no other thread renewed it meanwhile
                    self._token = None
                    self._login()
            response = self.client.get(path, params, kind=kind)
        return self._data(response, path)

    def _data(self, response: Response | None, path: str) -> Any:
        """``{"status": "success", "data": …}`` → data; None for 404."""
        if response is None:
            return None
        if not isinstance(response.data, dict) or "data" not in response.data:
            raise BadResponse(self.name, f"{path} answered no data object")
        return response.data["data"]

    # -- search ------------------------------------------------------------------------

    def search(self, query: Query) -> list[Candidate]:
        """``/search?query=&type=series|movie&year=``; without the year if that finds none."""
        title = query.title.strip()
        if not title:
            return []
        kind: MediaKind = "movie" if query.kind == "movie" else "tv"
        params: dict[str, Any] = {
            "query": title, "type": "movie" if kind == "movie" else "series",
            "year": query.year, "limit": SEARCH_LIMIT,
        }  # fmt: skip
        return self.search_year_first(
            query.year, lambda year: self._search({**params, "year": year}, kind)
        )

    def _search(self, params: dict[str, Any], kind: MediaKind) -> list[Candidate]:
        data = self._get("/search", params, kind="search")
        if data is None:
            return []
        if not isinstance(data, list):
            raise BadResponse(self.name, "/search answered no list")
        return base.candidates(data, lambda item: self._candidate(item, kind))

    def _candidate(self, item: Any, kind: MediaKind) -> Candidate | None:
        """A search result or an extended record; None without an id or a name."""
        if not isinstance(item, dict):
            return None
        tvdb = _tvdb_id(item)
        names = _names(item)
        if tvdb is None or not names:
            return None
        ids = remote_ids(item.get("remote_ids") or item.get("remoteIds"))
        ids.tvdb = tvdb
        year = base.year_of(item.get("year")) or base.year_of(item.get("first_air_time"))
        year = year or base.year_of(item.get("firstAired"))
        return Candidate(
            provider=self.name, title=names[0], kind=_kind(item, kind), year=year, ids=ids,
            titles=names, status=_status(item.get("status")),
        )  # fmt: skip

    # -- lookup ------------------------------------------------------------------------

    def lookup(self, ids: Ids, kind: MediaKind) -> Candidate | None:
        """IMDb / TMDB ids of a TVDB id (extended record), or the TVDB id of an IMDb id."""
        if ids.tvdb is not None:
            return self._extended(ids.tvdb, kind)
        tt = imdb_id(ids.imdb)
        if tt is None:
            return None
        data = self._get(f"/search/remoteid/{tt}", kind="lookup")
        if data is None:
            return None
        if not isinstance(data, list):
            raise BadResponse(self.name, "/search/remoteid answered no list")
        wanted = ("movie",) if kind == "movie" else ("series", "episode")
        for entry in data:
            if not isinstance(entry, dict):
                continue
            for key in wanted:
                record = entry.get(key)
                if not isinstance(record, dict):
                    continue
                found = base.int_or_none(record.get("seriesId")) if key == "episode" else None
                found = found or _tvdb_id(record)
                if found is None:
                    continue
                full = self._extended(found, kind)
                if full is None:
                    full = self._candidate(record, kind)
                if full is not None and key != "episode":
                    full.ids.imdb = full.ids.imdb or tt
                return full
        return None

    def _extended(self, tvdb: int, kind: MediaKind) -> Candidate | None:
        """``/series/{id}/extended`` (or ``/movies/{id}/extended``) as a candidate."""
        path = f"/movies/{tvdb}/extended" if kind == "movie" else f"/series/{tvdb}/extended"
        data = self._get(path, {"short": "true"}, kind="lookup")
        if data is None:
            return None
        if not isinstance(data, dict):
            raise BadResponse(self.name, f"{path} answered no object")
        found = self._candidate({**data, "id": data.get("id", tvdb)}, kind)
        if found is not None:
            found.ids.tvdb = tvdb
        return found

    def details(self, ids: Ids, kind: MediaKind, seasons: list[int]) -> Details | None:
        """One ``/series/{id}/extended?meta=episodes``: first air date, whether the status
        is ``Ended``, and the last episode aired by today (season 0, specials, aside).
        Movies are left to the others (TVDB holds few)."""
        if ids.tvdb is None or kind == "movie":
            return None
        path = f"/series/{int(ids.tvdb)}/extended"
        data = self._get(path, {"meta": "episodes", "short": "true"}, kind="episodes")
        if data is None:
            return None
        if not isinstance(data, dict):
            raise BadResponse(self.name, f"{path} answered no object")
        status = _status(data.get("status"))
        first = data.get("firstAired")
        return Details(
            released=first[:10] if isinstance(first, str) and base.year_of(first) else None,
            ended=None if status is None else status == "ended",
            last_aired=_last_aired(data.get("episodes")),
        )

    def probe(self) -> None:
        """A fresh login: it checks the key (and pin) and nothing else."""
        with self._lock:
            self._login()
