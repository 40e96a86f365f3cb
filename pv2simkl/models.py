"""Plain data shapes shared by every part of pv2simkl.

Every importer yields :class:`WatchEvent`; nothing after the store knows where an
event came from. Works (what Simkl knows: a movie or a show) live in the store.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

Kind = Literal["movie", "episode"]
Precision = Literal["exact", "hour", "day"]


def iso_utc(value: datetime) -> str:
    """``2024-04-23T19:12:38.433Z``: the one text form of a UTC instant in pv2simkl."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso_utc(text: str) -> datetime:
    """Inverse of :func:`iso_utc` (also accepts any ISO 8601 string with an offset or ``Z``)."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


@dataclass(slots=True)
class WatchEvent:
    """One watch of one movie or one episode, normalised.

    ``title`` is the movie, or the show without its season suffix, with HTML
    entities decoded and version tags such as ``[dt./OV]`` removed.
    ``raw_title`` keeps the text as the source gave it (for diagnosis).
    ``precision`` says how exact ``watched_at`` is: ``exact`` (the source had the
    instant), ``hour`` (an hour-rounded export row) or ``day`` (a localized date
    header only; ``watched_at`` is then 12:00 UTC of that calendar date).
    """

    kind: Kind
    title: str
    watched_at: datetime
    source: str
    season: int | None = None
    episode: int | None = None
    episode_title: str | None = None
    precision: Precision = "exact"
    source_ref: str | None = None
    gti: str | None = None
    locale: str | None = None
    year: int | None = None
    raw_title: str | None = None

    def to_public(self) -> dict[str, Any]:
        """The stable JSON form (``history --format jsonl`` and the fixtures' expected files)."""
        return {
            "kind": self.kind,
            "title": self.title,
            "season": self.season,
            "episode": self.episode,
            "episode_title": self.episode_title,
            "watched_at": iso_utc(self.watched_at),
            "precision": self.precision,
            "source": self.source,
            "gti": self.gti,
        }


@dataclass(slots=True)
class WatchlistItem:
    """A title on the Prime Video watchlist, as the data export names it.

    ``title`` is the movie, or the show without its season suffix. ``listed`` says the
    item came from the current watchlist file; otherwise from the add/delete history,
    where ``deleted`` marks a removal.
    """

    title: str
    kind: Kind | Literal["show"]
    added_at: datetime | None
    listed: bool
    deleted: bool = False

    def to_public(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "kind": "movie" if self.kind == "movie" else "show",
            "added_at": iso_utc(self.added_at) if self.added_at else None,
        }


@dataclass(slots=True)
class Ids:
    """Metadata ids of one work; any may be unknown."""

    simkl: int | None = None
    tvdb: int | None = None
    tmdb: int | None = None
    imdb: str | None = None
    mal: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class Counts:
    """What storing one batch of events did (the store's answer to an import)."""

    seen: int = 0  # events read
    added: int = 0  # of which new
    updated: int = 0  # of which filled in a stored watch (an episode number, an exact time)
    watchlist: int = 0  # watchlist titles new


@dataclass(slots=True, kw_only=True)
class ImportResult(Counts):
    """What one import of one file did: the store's counts, and what the file held besides."""

    path: str
    source: str | None = None
    skipped_file: bool = False
    ignored: dict[str, int] = field(default_factory=dict)  # rows that are not watches, by why
    watchlist_seen: int = 0  # watchlist titles read
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
