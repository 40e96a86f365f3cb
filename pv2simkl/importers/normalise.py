"""Watch events from Amazon's title text: the one normaliser every importer ends in.

Each source finds titles, labels and times its own way; turning them into a
:class:`WatchEvent` (version tags off, year split out, label parsed, trailers and
bonus content dropped) happens here only, so every source gives the same shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pv2simkl import titles
from pv2simkl.models import Precision, WatchEvent


@dataclass(frozen=True, slots=True)
class Seen:
    """When a title was watched, how exactly that is known, and where it was read."""

    when: datetime
    precision: Precision
    source: str
    locale: str | None = None


def movie(
    raw: str, at: Seen, *, gti: str | None = None, ref: str | None = None,
    extras_by_title: bool = True,
) -> WatchEvent | None:  # fmt: skip
    """A movie watch, or None for a trailer, bonus content or an empty title.

    ``extras_by_title=False`` when the source classifies rows itself (the data export's
    Video Type / Material Type): the title then never overrules it.
    """
    if not raw or (extras_by_title and titles.is_extra(raw)):
        return None
    title, year = titles.clean_movie_title(raw)
    return WatchEvent(
        kind="movie", title=title, year=year, watched_at=at.when, precision=at.precision,
        source=at.source, source_ref=ref or gti, gti=gti, locale=at.locale, raw_title=raw,
    )  # fmt: skip


def episode(
    show: str, season: int | None, at: Seen, *, label: str | None = None,
    title: str | None = None, gti: str | None = None, ref: str | None = None,
    raw: str | None = None, extras_by_title: bool = True,
) -> WatchEvent | None:  # fmt: skip
    """An episode watch, or None for a trailer or bonus content.

    ``label`` is Amazon's episode label (``Episode 3: JENNY``), parsed for the number;
    ``title`` a bare episode title (the data export has no numbers); neither when the
    source knows the episode by its gti only.
    """
    number = None
    if label is not None:
        number, title = titles.parse_episode_label(label)
    if extras_by_title and ((title and titles.is_extra(title)) or titles.is_extra(show)):
        return None
    return WatchEvent(
        kind="episode", title=show, season=season, episode=number, episode_title=title,
        watched_at=at.when, precision=at.precision, source=at.source, source_ref=ref or gti,
        gti=gti, locale=at.locale, raw_title=raw,
    )  # fmt: skip
