"""When are two observations of a watch one watch? The identity rule, pure (no SQLite).

Sources see one watch differently: the history page knows the instant (or only the local
calendar date of its section), the data export a session start (or the hour, in its oldest
layout), a console export one of those. Two observations are one watch when all of this
holds:

* **The same work**: the movie or the show, by :func:`work_key` (kind + normalised title).
* **The same episode**: a movie always is; an episode when its number agrees (with its
  season), or its episode title (normalised with :func:`titles.match_key`), or its gti.
  An episode whose season is unknown (a data-export row without a season suffix) is the
  same episode as one of any season with its title; one of a known season matches its own
  season or an unknown one. Two different gtis are never one watch.
* **Close in time**, measured between instants, never by UTC calendar day, with a slack
  that depends on how exact each observation is (:func:`close_in_time`):

  - ``exact`` and ``exact``: at most :data:`EXACT_WINDOW` (12 hours) apart. A playback
    paused and resumed later that evening or night stays one watch, across 00:00 UTC too
    (23:55 and 00:05 UTC are ten minutes apart, not two days); the same episode again the
    next evening, about a day later, is a rewatch. A morning and a late-evening
    observation more than half a day apart are two watches: that far apart, a second
    session is more likely a second viewing than the rest of the first.
  - ``hour`` (the oldest data export: the UTC hour, truncated, of the first row of a
    playback) and anything finer than ``day``: within :data:`EXACT_WINDOW` plus the
    hour itself (:data:`HOUR_SLACK`), or on the same UTC day. The UTC day comes from that
    export's own rule: it merges the rows of one title while each is within an hour of
    the previous one or on the same UTC day, so one ``hour`` observation stands for every
    session of that UTC day.
  - ``day`` (a date header: 12:00 UTC of a local calendar date, whose zone is unknown)
    and anything: at most :data:`DAY_WINDOW` (36 hours) apart, which covers every zone
    from UTC-12 to UTC+14 and the watches just after local midnight.

A stored watch remembers the span of instants it was observed at (``first`` … ``last``,
the exact and hour observations only: a date header's noon says little), and "close in
time" is measured to the nearest end of that span. So a watch seen at 20:00, 03:00 and
10:00 is one watch whatever order the three arrive in: read 20:00 and 10:00 first (14
hours apart: two watches), then 03:00, and the third joins both, which become one.

A match fills in what the stored observation lacked (:func:`fill`): a number, a season, an
episode title, a gti, a finer instant (the earliest of the finest precision stands for the
watch), a wider span. When several stored observations match, the nearest in time is the
one (the lowest id on a tie), so a rewatch two days later keeps its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pv2simkl import titles
from pv2simkl.models import WatchEvent

EXACT_WINDOW = timedelta(hours=12)
HOUR_SLACK = timedelta(hours=1)
DAY_WINDOW = timedelta(hours=36)
# No two observations further apart than this are ever one watch: where to look.
REACH = max(DAY_WINDOW, EXACT_WINDOW + HOUR_SLACK, timedelta(days=1))
FINER = {"exact": 0, "hour": 1, "day": 2}  # lower is finer


def work_key(kind: str, title: str) -> str:
    """``movie:der pate`` / ``show:das boot``.

    The year is not part of the key: Amazon rarely gives it, and a key that changed
    when one source knew the year would split a work in two.
    """
    return f"{'movie' if kind == 'movie' else 'show'}:{titles.identity_key(title)}"


@dataclass(slots=True)
class Facts:
    """What one observation says about a watch (the work is compared by the caller's key)."""

    work: str
    kind: str
    season: int | None
    episode: int | None
    episode_title: str | None
    gti: str | None
    watched_at: datetime
    precision: str
    first: datetime | None = None  # the span of exact/hour instants seen; None: watched_at
    last: datetime | None = None
    title_key: str | None = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.title_key = titles.match_key(self.episode_title) if self.episode_title else None
        if self.first is None:
            self.first = self.watched_at
        if self.last is None:
            self.last = self.watched_at

    def updated(self, changes: dict[str, Any]) -> Facts:
        """These facts with ``changes`` (field → value) applied."""
        if not changes:
            return self
        values = {name: getattr(self, name) for name in _FIELDS}
        values.update(changes)
        return Facts(**values)

    @classmethod
    def of(cls, event: WatchEvent, work: str | None = None) -> Facts:
        """The facts of an imported event (its work key computed unless given)."""
        return cls(
            work=work or work_key(event.kind, event.title),
            kind=event.kind,
            season=event.season,
            episode=event.episode,
            episode_title=event.episode_title,
            gti=event.gti,
            watched_at=event.watched_at,
            precision=event.precision,
        )


_FIELDS = (
    "work", "kind", "season", "episode", "episode_title", "gti", "watched_at", "precision",
    "first", "last",
)  # fmt: skip


def close_in_time(a: datetime, a_precision: str, b: datetime, b_precision: str) -> bool:
    """Whether two instants, each as exact as its precision says, can be one watch."""
    gap = abs(a - b)
    if a_precision == "day" or b_precision == "day":
        return gap <= DAY_WINDOW
    if a_precision == "hour" or b_precision == "hour":
        same_day = a.astimezone(UTC).date() == b.astimezone(UTC).date()
        return same_day or gap <= EXACT_WINDOW + HOUR_SLACK
    return gap <= EXACT_WINDOW


def same_episode(new: Facts, stored: Facts) -> bool:
    """Whether two observations name the same movie or episode (the work aside)."""
    if new.gti and stored.gti and new.gti != stored.gti:
        return False  # two different gtis are never one watch
    if new.kind == "movie" or stored.kind == "movie":
        return new.kind == stored.kind
    if new.episode is not None and (new.season, new.episode) == (stored.season, stored.episode):
        return True
    if new.gti and new.gti == stored.gti:
        return True
    title = new.title_key
    if title is None or title != stored.title_key:
        return False
    return new.season is None or stored.season in (new.season, None)


def nearest(a: Facts, b: Facts) -> tuple[datetime, datetime]:
    """The two instants, one of each span, nearest to each other."""
    assert a.first and a.last and b.first and b.last
    if a.last < b.first:
        return a.last, b.first
    if b.last < a.first:
        return a.first, b.last
    inside = max(a.first, b.first)  # the spans overlap
    return inside, inside


def gap(a: Facts, b: Facts) -> timedelta:
    """How far apart two observations are: between the nearest ends of their spans."""
    x, y = nearest(a, b)
    return abs(x - y)


def close(a: Facts, b: Facts) -> bool:
    """:func:`close_in_time` between the nearest instants of two spans."""
    x, y = nearest(a, b)
    return close_in_time(x, a.precision, y, b.precision)


def same_watch(new: Facts, stored: Facts) -> bool:
    """The rule: same work, same episode, close enough in time."""
    return new.work == stored.work and same_episode(new, stored) and close(new, stored)


def conflicting(a: Facts, b: Facts) -> bool:
    """Whether two observations say different things of their episode: two gtis, two
    seasons, two episode numbers or two episode titles. (What one of them lacks is no
    conflict.)"""
    if a.gti and b.gti and a.gti != b.gti:
        return True
    if a.season is not None and b.season is not None and a.season != b.season:
        return True
    if a.episode is not None and b.episode is not None and a.episode != b.episode:
        return True
    title_a, title_b = a.title_key, b.title_key
    return bool(title_a and title_b and title_a != title_b)


@dataclass(frozen=True, slots=True)
class Match:
    """The stored observation a new one is (``keep``), and the stored observations that
    turn out to be that same watch too (``absorbed``: they go, filling ``keep`` in)."""

    keep: int
    absorbed: tuple[int, ...] = ()


def resolve(new: Facts, stored: Iterable[tuple[int, Facts]]) -> Match | None:
    """Which stored observation ``new`` is the same watch as, if any: the nearest in time of
    those that match (the lowest id on a tie).

    ``new`` can bridge two stored observations that shared no key: an export row known by
    its episode title and a collapsed page row known by its gti are both the episode that
    an API row names by title, number and gti. When ``new`` matches several, each other one
    that does not conflict with the kept one (:func:`conflicting`) and is close enough in
    time to it is the same watch too, and is absorbed. So the result does not depend on
    the order in which the three were stored.
    """
    found = sorted(
        (gap(new, facts), ident, facts) for ident, facts in stored if same_watch(new, facts)
    )
    if not found:
        return None
    _, keep, kept = found[0]
    kept = kept.updated(fill(kept, new))  # its span now reaches the new observation
    absorbed = []
    for _, ident, facts in found[1:]:
        if not conflicting(kept, facts) and close(kept, facts):
            absorbed.append(ident)
            kept = kept.updated(fill(kept, facts))
    return Match(keep, tuple(absorbed))


def find(new: Facts, stored: Iterable[tuple[int, Facts]]) -> int | None:
    """The id of the stored observation ``new`` is the same watch as, if any."""
    match = resolve(new, stored)
    return match.keep if match else None


def fill(stored: Facts, new: Facts) -> dict[str, Any]:
    """What ``new`` adds to the stored observation of the same watch (field → value):
    the number, season, episode title and gti it lacked, and a finer instant."""
    changes: dict[str, Any] = {}
    if stored.season is None and new.season is not None:
        changes["season"] = new.season
    if stored.episode is None and new.episode is not None:
        changes["episode"] = new.episode
    if not stored.episode_title and new.episode_title:
        changes["episode_title"] = new.episode_title
    if not stored.gti and new.gti:
        changes["gti"] = new.gti
    finer = FINER[new.precision] - FINER[stored.precision]
    if finer < 0 or (finer == 0 and new.watched_at < stored.watched_at):
        changes["watched_at"] = new.watched_at
        changes["precision"] = new.precision
    if new.precision == "day":
        return changes  # a date header's noon widens no span
    assert new.first and new.last and stored.first and stored.last
    if stored.precision == "day":
        first, last = new.first, new.last  # the first real instants replace the noon
    else:
        first, last = min(stored.first, new.first), max(stored.last, new.last)
    if first != stored.first:
        changes["first"] = first
    if last != stored.last:
        changes["last"] = last
    return changes
