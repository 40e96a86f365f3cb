"""What the anime services share: MAL entries, seasons found by name, statuses.

MyAnimeList (:mod:`.mal`) and its mirror Jikan (:mod:`.jikan`) search anime only and know
no other service's ids; what they add is the MAL id and the anime's many names (English,
Japanese, romaji, synonyms), which let a localized Prime title match. Every candidate is of
kind ``anime``; a movie query keeps anime films (and items of unknown type), a show query
everything else but music videos and ads. MAL lists each season as its own entry: a
season's entry is found by its title (``<title> Season <n>``), here, for both of them and
for Simkl's anime.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pv2simkl.providers import base
from pv2simkl.providers.base import AnimeEntry, Details
from pv2simkl.providers.base import text_or_none as _text

if TYPE_CHECKING:
    pass


SEARCH_LIMIT = 10
NEVER = {"music", "cm", "pv"}  # music videos, commercials, promo videos
STATUSES = {
    "finished_airing": "ended", "finished airing": "ended",
    "currently_airing": "airing", "currently airing": "airing",
    "not_yet_aired": "tba", "not yet aired": "tba",
}  # fmt: skip
PROBE_TITLE = "Cowboy Bebop"


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


def episode_count(value: Any, status: str | None) -> int | None:
    """An entry's final episode count: a positive int of an entry no longer airing."""
    if isinstance(value, bool) or status in ("airing", "tba"):
        return None
    number = base.int_or_none(value)
    return number if number and number > 0 else None


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


def fits(media_type: Any, movie: bool) -> bool:
    """Whether an anime of this type can be what a movie (or a show) query looks for."""
    if not isinstance(media_type, str) or not media_type.strip():
        return True  # unknown type: let the resolver's title and year decide
    kind = media_type.strip().lower().replace(" ", "_")
    if kind in NEVER:
        return False
    return (kind == "movie") == movie


def status_of(value: Any, movie: bool) -> str | None:
    """MAL's / Jikan's airing status in Simkl's words (``ended``, ``airing``, ``tba``)."""
    text = _text(value)
    if text is None:
        return None
    status = STATUSES.get(text.lower())
    if status == "ended" and movie:
        return "released"
    return status or text.lower()


def is_movie(media_type: Any) -> bool:
    return isinstance(media_type, str) and media_type.strip().lower() == "movie"
