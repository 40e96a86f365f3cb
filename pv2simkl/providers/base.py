"""The one contract every metadata provider keeps.

A provider searches candidates for a work (title, kind, year hint) and looks up more
ids by an id it knows. It decides itself whether it is usable (``needs``: the settings
it cannot work without). A failure stays inside its provider: the resolver catches
:class:`~pv2simkl.providers.errors.ProviderError` per call and goes on with the others.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pv2simkl.config import ProviderSettings
from pv2simkl.models import Ids
from pv2simkl.providers.errors import ProviderError, Unauthorized

if TYPE_CHECKING:
    from pv2simkl.providers.http import HttpClient

MediaKind = Literal["movie", "tv", "anime"]


@dataclass
class Candidate:
    """One answer of one provider to "which title is this?"."""

    provider: str
    title: str
    kind: MediaKind
    year: int | None = None
    ids: Ids = field(default_factory=Ids)
    titles: list[str] = field(default_factory=list)  # original, localized, alternative titles
    popularity: float = 0.0
    status: str | None = None  # ended | airing | released …
    released: str | None = None  # ISO date (or year) of release / first air, when the service says

    def as_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider, "title": self.title, "kind": self.kind,
            "year": self.year, "ids": self.ids.as_dict(),
        }  # fmt: skip


@dataclass(frozen=True)
class AnimeEntry:
    """The MAL/Simkl entry that holds one Amazon season of an anime (issue 10).

    ``offset`` is the number of the entry's episodes before this season's first: an entry
    spanning several Amazon seasons (a long-running series) numbers its episodes across
    them, so the episode Simkl is told is ``offset + episode``. ``episodes`` is the entry's
    episode count (None when the service does not know it yet: still airing).
    """

    season: int
    mal: int | None
    simkl: int | None = None
    title: str | None = None
    episodes: int | None = None
    offset: int = 0


@dataclass
class Details:
    """What a row needs beyond the ids (issue 10): when the work came out, whether the show
    has ended and its last aired episode, and for an anime the entry of each season."""

    released: str | None = None  # ISO date: a movie's release, a show's first air date
    ended: bool | None = None  # a show that will air no more episodes; a released movie
    last_aired: tuple[int, int] | None = None  # (season, episode) of the last aired episode
    anime_entries: list[AnimeEntry] = field(default_factory=list)


@dataclass
class Query:
    """What the resolver knows of a work when it asks."""

    title: str
    kind: Literal["movie", "show"]
    year: int | None = None
    language: str | None = None  # e.g. "de" for titles from a German page
    # When the person first watched the work (a candidate released later cannot be it).
    first_watched: datetime | None = None
    seasons: tuple[int, ...] = ()  # the seasons watched (a show's details are asked for them)


class Provider(ABC):
    """A metadata service. Subclasses set ``name`` and ``needs`` and implement the calls."""

    name: ClassVar[str]
    needs: ClassVar[tuple[str, ...]] = ()  # settings without which it cannot work (keys)
    settings_class: ClassVar[type[ProviderSettings]]  # its config section

    def __init__(self, settings: ProviderSettings, client: HttpClient):
        self.settings = settings
        self.client = client

    @classmethod
    def missing(cls, settings: ProviderSettings) -> list[str]:
        """The required settings that are not set (a provider with any is disabled)."""
        return [name for name in cls.needs if not getattr(settings, name, "")]

    @classmethod
    def auth(cls, settings: ProviderSettings) -> tuple[dict[str, str], dict[str, str]]:
        """(headers, secret query params) that carry this provider's key."""
        return {}, {}

    @abstractmethod
    def search(self, query: Query) -> list[Candidate]:
        """Candidates for a work, best first as the service ranks them."""

    def lookup(self, ids: Ids, kind: MediaKind) -> Candidate | None:
        """More ids of a work by an id already known; None if this provider cannot tell."""
        return None

    def details(self, ids: Ids, kind: MediaKind, seasons: list[int]) -> Details | None:
        """Status, release and last aired episode of a matched work, and for an anime the
        entry of each of ``seasons`` (the Amazon seasons watched); None if this provider
        cannot tell."""
        return None

    def season_episodes(self, ids: Ids, season: int) -> dict[int, str] | None:
        """Episode number → title of one season, for episodes known only by title."""
        return None

    def search_year_first(
        self, year: int | None, search: Callable[[int | None], list[Candidate]]
    ) -> list[Candidate]:
        """``search(year)``, and ``search(None)`` when that finds nothing and there was a
        year: a Prime year can be a re-release's, a later season's, or off by one."""
        found = search(year)
        if not found and year is not None:
            found = search(None)
        return found

    def probe(self) -> None:
        """One cheap authenticated call; raises ProviderError if the key or service fails."""
        self.search(Query(title="The Godfather", kind="movie", year=1972))

    def check(self) -> str:
        """``ok``, ``bad key`` or ``unreachable`` (``no key`` is told by :meth:`missing`)."""
        try:
            self.probe()
        except Unauthorized:
            return "bad key"
        except ProviderError:
            return "unreachable"
        return "ok"


def candidates(items: Iterable[Any], build: Callable[[Any], Candidate | None]) -> list[Candidate]:
    """``build`` of each item of an answer's list, the items it makes nothing of left out."""
    return [c for c in map(build, items) if c is not None]


def year_of(value: Any) -> int | None:
    """``"2008"``, ``"2008-01-20"``, ``2008`` → 2008; anything else → None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 1870 < value < 2200 else None
    if isinstance(value, str) and len(value) >= 4 and value[:4].isdigit():
        return int(value[:4])
    return None


def int_or_none(value: Any) -> int | None:
    """Ids arrive as ints or strings (Simkl's ``"tmdb": "245891"``); store ints."""
    try:
        return int(value) if value not in (None, "", False) else None
    except (TypeError, ValueError, OverflowError):  # "abc", inf, nan
        return None


def text_or_none(value: Any) -> str | None:
    """A non-empty string (stripped), or None for anything else a service may send."""
    return value.strip() if isinstance(value, str) and value.strip() else None


def unique_texts(values: list[Any]) -> list[str]:
    """The strings among ``values``, stripped, in order, without empties and repeats."""
    out: list[str] = []
    for value in values:
        text = text_or_none(value)
        if text and text not in out:
            out.append(text)
    return out
