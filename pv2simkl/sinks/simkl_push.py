"""Simkl API push: every watch not yet pushed, with its own date, exactly once.

The CSV says "up to s3e5" and one date per show; ``POST /sync/history`` takes each watch:
movies with their ``watched_at``, episodes nested under show → season → episode, each with
its own ``watched_at`` (reference §2.9). This module builds that plan from the store
(:func:`build_plan`), cuts it into batches the API takes (:func:`batches`) and sends them
(:func:`push`); rate limits and retries are :class:`pv2simkl.sinks.simkl_api.SimklApi`'s.

* **Anime** go as the MAL/Simkl entries ``enrich`` found (``anime_entries``): each entry
  one show item, its episodes in season 1 numbered inside the entry (offset + episode),
  as the CSV does; seasons no entry holds stay a show item without the entry ids.
* **Never a whole show.** An episode without a season or number is never sent: a show
  item without episodes marks all of it watched. Such episodes are reported.
* **Exactly once.** Each batch is recorded in flight with its items before its POST, and
  its events are marked pushed after the reply (:mod:`pv2simkl.store.pushes`). A batch
  still in flight at the next start (the process died around its POST) is checked against
  what Simkl holds (``GET /sync/all-items`` since the batch's start, minus a margin): the
  watches Simkl holds are marked pushed, only the others are sent again.
* **not_found** items are kept with the key (ids, title, year) they were sent under, listed,
  and sent again once ``match``/``enrich`` give the title other ids.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from pv2simkl.config import Paths, Settings
from pv2simkl.errors import Pv2SimklError
from pv2simkl.models import parse_iso_utc
from pv2simkl.sinks import Delivery
from pv2simkl.store import Store, locks
from pv2simkl.words import plural

log = logging.getLogger(__name__)

BATCH_ITEMS = 50  # movies + shows per POST (a third-party client's figure, reference §2.9)
BATCH_PLAYS = 250  # watches per POST: keeps each body small and a lost reply cheap to check
MARGIN = timedelta(minutes=15)  # clock skew allowed between this machine and Simkl
UNKNOWN_DATE = "1970-01-01T00:00:01Z"  # Simkl's "date unknown" (reference §2.9)
FIRST_YEAR, LAST_YEAR = 1990, 2100  # the watch dates the importers accept
LOCK_WAIT = 300.0  # seconds a push waits for another push of the same store
_ID_NAMES = ("simkl", "mal", "tvdb", "tmdb", "imdb")


class PushBusyError(Pv2SimklError):
    """Another push of the same store has been running for too long."""


class SimklClient(Protocol):
    """What a push needs of :class:`pv2simkl.sinks.simkl_api.SimklApi`."""

    def add_history(self, body: dict) -> dict: ...

    def all_items(self, kind: str, status: str = "", date_from: str | None = None) -> dict: ...


# ---- the plan ---------------------------------------------------------------------------


@dataclass
class Play:
    """One watch as Simkl is told it: season and number (None for a movie), the date."""

    event_id: int
    season: int | None
    number: int | None
    watched_at: str

    def as_dict(self) -> dict[str, Any]:
        return {"season": self.season, "number": self.number, "watched_at": self.watched_at}


@dataclass
class Item:
    """One movie or show (an anime entry is a show) with the watches to send of it."""

    bucket: str  # movies | shows
    title: str
    year: int | None
    ids: dict[str, Any]
    plays: list[Play] = field(default_factory=list)

    @property
    def key(self) -> str:
        """What Simkl was asked about: ids, title and year (a ``not_found`` is kept under
        it and sent again once it changes)."""
        return item_key(self.bucket, self.ids, self.title, self.year)

    def head(self) -> dict[str, Any]:
        out: dict[str, Any] = {"title": self.title}
        if self.year:
            out["year"] = self.year
        if self.ids:
            out["ids"] = dict(self.ids)
        return out

    def body(self, plays: list[Play]) -> list[dict[str, Any]]:
        """The JSON items of ``plays``: one per movie watch; one show with its seasons."""
        if self.bucket == "movies":
            return [{**self.head(), "watched_at": p.watched_at} for p in plays]
        seasons: dict[int, list[dict[str, Any]]] = {}
        for p in sorted(plays, key=lambda p: (p.season, p.number, p.watched_at)):
            seasons.setdefault(p.season or 1, []).append(
                {"number": p.number, "watched_at": p.watched_at}
            )
        numbered = [{"number": s, "episodes": eps} for s, eps in seasons.items()]
        return [{**self.head(), "seasons": numbered}]


def _norm_ids(ids: dict[str, Any]) -> dict[str, str]:
    out = {}
    for name, value in (ids or {}).items():
        name = "simkl" if name == "simkl_id" else name
        if name in _ID_NAMES and value not in (None, ""):
            out[name] = str(value)
    return out


def item_key(bucket: str, ids: dict[str, Any], title: Any, year: Any) -> str:
    """A stable text for (bucket, ids, title, year), whatever types the ids came in."""
    return json.dumps([bucket, _norm_ids(ids), str(title or ""), year or None], sort_keys=True)


@dataclass
class Plan:
    """Every watch to push, and what is held back."""

    items: list[Item] = field(default_factory=list)
    unnumbered: list[tuple[str, int]] = field(default_factory=list)  # (title, episodes)
    held_not_found: list[tuple[str, int]] = field(default_factory=list)  # (title, watches)

    @property
    def plays(self) -> int:
        return sum(len(i.plays) for i in self.items)


def simkl_date(at: str) -> str:
    """``2014-09-01T09:10:11Z`` (UTC, to the second); Simkl's unknown date for a watch
    outside the years the importers accept."""
    try:
        instant = parse_iso_utc(at)
    except ValueError:
        return UNKNOWN_DATE
    if not FIRST_YEAR <= instant.year <= LAST_YEAR:
        return UNKNOWN_DATE
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


def _ids(work: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {n: work[n] for n in names if work.get(n) not in (None, "")}


def build_plan(store: Store, *, all_history: bool = False) -> Plan:
    """The plan from the store: every event not yet pushed (every event with
    ``all_history``), grouped by what Simkl knows (a movie, a show, an anime entry)."""
    plan = Plan()
    for work in store.push_facts(all_history=all_history):
        items, unnumbered = _items(work)
        if unnumbered:
            plan.unnumbered.append((work["title"], unnumbered))
        held = 0
        for item in items:
            key = item.key
            keep = [p for p in item.plays if p.event_id not in item_blocked(work, key)]
            held += len(item.plays) - len(keep)
            item.plays = keep
            if keep:
                plan.items.append(item)
        if held:
            plan.held_not_found.append((work["title"], held))
    return plan


def item_blocked(work: dict[str, Any], key: str) -> set[int]:
    """Events of ``work`` Simkl answered ``not_found`` under this very key: sending them
    again before ``match``/``enrich`` change the key would only be refused again."""
    return {e[0] for e in work["events"] if e[4] is not None and e[4] == key}


def _items(work: dict[str, Any]) -> tuple[list[Item], int]:
    """The items of one work, and how many of its episodes have no number."""
    title, year = work["title"], work["year"]
    if work["kind"] == "movie":
        ids = _ids(work, ("simkl", "imdb", "tmdb"))
        plays = [Play(e[0], None, None, simkl_date(e[3])) for e in work["events"]]
        return [Item("movies", title, year, ids, plays)], 0
    numbered = [e for e in work["events"] if e[1] is not None and e[2] is not None]
    unnumbered = len(work["events"]) - len(numbered)
    entries = {s: e for s, e in (work.get("anime") or {}).items() if e["mal"] or e["simkl"]}
    held = [e for e in numbered if e[1] in entries]
    rest = [e for e in numbered if e[1] not in entries]
    items: list[Item] = []
    if held:
        items += _entry_items(work, entries, held)
    if rest:
        # With entries, the work's Simkl and MAL ids name one entry, never the series.
        names = ("tvdb", "tmdb", "imdb") if held else ("simkl", "tvdb", "tmdb", "imdb", "mal")
        plays = [Play(e[0], e[1], e[2], simkl_date(e[3])) for e in rest]
        items.append(Item("shows", title, year, _ids(work, names), plays))
    return items, unnumbered


def _entry_items(
    work: dict[str, Any], entries: dict[int, dict[str, Any]], events: list[tuple]
) -> list[Item]:
    """One show item per MAL/Simkl entry: season 1, episode = offset + episode (an entry
    spanning Amazon seasons numbers across them), named as the CSV names it."""
    first = min(entries)

    def entry_key(entry: dict[str, Any]) -> tuple[str, int]:
        return ("mal", entry["mal"]) if entry["mal"] else ("simkl", entry["simkl"])

    groups: dict[tuple[str, int], list[tuple]] = {}
    for e in events:
        groups.setdefault(entry_key(entries[e[1]]), []).append(e)
    items = []
    for group in sorted(groups.values(), key=lambda g: min(e[1] for e in g)):
        entry = entries[min(e[1] for e in group)]
        simkl = entry["simkl"]
        if simkl is None and entry["mal"] and entry["mal"] == work["mal"]:
            simkl = work["simkl"]  # the work's Simkl id names this very entry
        ids = {k: v for k, v in (("simkl", simkl), ("mal", entry["mal"])) if v}
        holds_first = entry_key(entries[first]) == entry_key(entry)
        title = work["title"] if holds_first else entry["title"] or work["title"]
        year = work["year"] if holds_first else None
        plays = [
            Play(e[0], 1, (entries[e[1]]["offset"] or 0) + e[2], simkl_date(e[3])) for e in group
        ]
        items.append(Item("shows", title, year, ids, plays))
    return items


def batches(
    items: list[Item], max_items: int = BATCH_ITEMS, max_plays: int = BATCH_PLAYS
) -> Iterator[list[tuple[Item, list[Play]]]]:
    """Cut the plan into POSTs of at most ``max_items`` items and ``max_plays`` watches;
    a show with more watches than fit goes on in the next POST."""
    batch: list[tuple[Item, list[Play]]] = []
    plays = 0
    for item in items:
        todo = sorted(item.plays, key=lambda p: (p.season or 0, p.number or 0, p.watched_at))
        while todo:
            if len(batch) >= max_items or plays >= max_plays:
                yield batch
                batch, plays = [], 0
            take = todo[: max_plays - plays]
            todo = todo[len(take) :]
            batch.append((item, take))
            plays += len(take)
    if batch:
        yield batch


def body_of(batch: list[tuple[Item, list[Play]]]) -> dict[str, list[dict[str, Any]]]:
    body: dict[str, list[dict[str, Any]]] = {}
    for item, plays in batch:
        body.setdefault(item.bucket, []).extend(item.body(plays))
    return body


def describe(plan: Plan) -> list[str]:
    """The plan as ``--dry-run`` prints it: per movie its dates, per show which episodes
    with which dates."""
    lines = []
    for item in plan.items:
        name = f"{item.title} ({item.year})" if item.year else item.title
        ids = ", ".join(f"{k} {v}" for k, v in item.ids.items()) or "no ids: title and year"
        if item.bucket == "movies":
            dates = ", ".join(p.watched_at for p in sorted(item.plays, key=lambda p: p.watched_at))
            lines.append(f"movie {name} [{ids}]: watched {dates}")
            continue
        lines.append(f"show {name} [{ids}]: {plural(len(item.plays), 'episode')}")
        for p in sorted(item.plays, key=lambda p: (p.season or 0, p.number or 0, p.watched_at)):
            lines.append(f"  S{p.season}E{p.number} {p.watched_at}")
    return lines


# ---- sending ----------------------------------------------------------------------------


@dataclass
class PushReport:
    """What one push did (or, dry, would do)."""

    plan: Plan
    posts: int = 0
    added: int = 0
    not_found: int = 0
    recovered: list[str] = field(default_factory=list)
    dry_run: bool = False
    kept: list[dict[str, Any]] = field(default_factory=list)  # not_found, per title


def push(
    store: Store, api: SimklClient | None, *, all_history: bool = False, dry_run: bool = False,
    max_plays: int = BATCH_PLAYS, after_record: Callable[[int], None] | None = None,
) -> PushReport:  # fmt: skip
    """Push the plan; ``dry_run`` only builds it (``api`` may then be None).

    ``after_record`` (tests, the bench) is called with each batch's id once it is recorded
    in flight and before its POST."""
    if dry_run:
        return PushReport(build_plan(store, all_history=all_history), dry_run=True)
    assert api is not None
    with _push_lock(store):
        report = PushReport(Plan(), recovered=recover(store, api))
        report.plan = build_plan(store, all_history=all_history)
        for batch in batches(report.plan.items, max_plays=max_plays):
            added, missing = _send(store, api, batch, all_history, after_record)
            report.posts += 1
            report.added += added
            report.not_found += missing
        return report


def send(
    settings: Settings, store: Store, *, all_history: bool = False, max_plays: int = BATCH_PLAYS
) -> PushReport:
    """:func:`push` through the signed-in user's client (made here, closed after)."""
    from pv2simkl.sinks.simkl_auth import push_client

    api = push_client(settings)
    try:
        return push(store, api, all_history=all_history, max_plays=max_plays)
    finally:
        api.close()


def deliver(settings: Settings, paths: Paths, store: Store) -> Delivery:
    """A sync cycle's push of every watch not yet sent (the sink of :data:`SINKS`)."""
    return Delivery(sent=send(settings, store).added)


def _send(
    store: Store, api: SimklClient, batch: list[tuple[Item, list[Play]]], all_history: bool,
    after_record: Callable[[int], None] | None,
) -> tuple[int, int]:  # fmt: skip
    """Record the batch in flight, POST it, store the reply: (added, not found)."""
    from pv2simkl.sinks.simkl_api import SimklAuthError

    body = body_of(batch)
    rows = [
        (p.event_id, item.bucket, item.key,
         {**p.as_dict(), "ids": item.ids, "title": item.title, "year": item.year})
        for item, plays in batch
        for p in plays
    ]  # fmt: skip
    push_id = store.begin_push(rows, body, all_history=all_history)
    if after_record:
        after_record(push_id)
    try:
        reply = api.add_history(body)
    except SimklAuthError:
        store.settle_push(push_id, held=())  # refused before anything was stored
        raise
    except Exception:
        # A reply lost on the way (a timeout, a 5xx after the retries): Simkl may hold it.
        # Check now if it can be asked; otherwise the next push checks.
        with contextlib.suppress(Exception):
            recover(store, api)
        raise
    return store.finish_push(push_id, _not_found(reply, batch))


def _not_found(reply: Any, batch: list[tuple[Item, list[Play]]]) -> dict[int, str]:
    """Event id → reason for every watch of an item Simkl listed under ``not_found``
    (matched by ids, title and year; by title when the echo differs)."""
    missing = (reply or {}).get("not_found") or {} if isinstance(reply, dict) else {}
    by_key: dict[str, list[tuple[Item, list[Play]]]] = {}
    by_title: dict[tuple[str, str], list[tuple[Item, list[Play]]]] = {}
    for item, plays in batch:
        by_key.setdefault(item.key, []).append((item, plays))
        by_title.setdefault((item.bucket, item.title.casefold()), []).append((item, plays))
    out: dict[int, str] = {}
    for bucket in ("movies", "shows"):
        for echo in missing.get(bucket) or []:
            if not isinstance(echo, dict):
                continue
            key = item_key(bucket, echo.get("ids") or {}, echo.get("title"), echo.get("year"))
            found = by_key.get(key) or by_title.get((bucket, str(echo.get("title", "")).casefold()))
            for item, plays in found or []:
                ids = ", ".join(f"{k} {v}" for k, v in item.ids.items()) or "title and year only"
                for p in plays:
                    out[p.event_id] = f"Simkl did not find it ({ids})"
    return out


# ---- crash recovery ---------------------------------------------------------------------


def recover(store: Store, api: SimklClient) -> list[str]:
    """Settle every batch left in flight: ask Simkl what it holds since the batch's start
    (minus :data:`MARGIN`); mark those watches pushed, release the rest. Returns a line
    per batch."""
    lines = []
    for push_batch in store.in_flight_pushes():
        buckets = {bucket for _, bucket, _, _ in push_batch["items"]}
        since = parse_iso_utc(push_batch["created_at"]) - MARGIN
        date_from = since.strftime("%Y-%m-%dT%H:%M:%SZ")
        # An anime film is sent as a movie but held among the anime: ask both.
        kinds = (["movies"] if "movies" in buckets else []) + (
            ["shows"] if "shows" in buckets else []
        ) + ["anime"]  # fmt: skip
        holdings = Holdings([api.all_items(kind, "", date_from=date_from) for kind in kinds])
        held = [eid for eid, bucket, _, play in push_batch["items"] if holdings.holds(bucket, play)]
        marked, released = store.settle_push(push_batch["id"], held)
        line = (f"push {push_batch['id']} was in flight when pv2simkl stopped: Simkl holds "
                f"{marked} of its watches; {released} will be sent again")  # fmt: skip
        log.info(line)
        lines.append(line)
    return lines


def _instant(text: Any) -> datetime | None:
    try:
        return parse_iso_utc(str(text)) if text else None
    except ValueError:
        return None


@dataclass
class _Held:
    """What Simkl holds of one movie or show: its episodes' last watch (None: unknown)."""

    last_watched_at: datetime | None = None
    episodes: dict[tuple[int, int], datetime | None] = field(default_factory=dict)
    last_episode: tuple[int, int] | None = None


class Holdings:
    """Simkl's ``all-items`` answers, asked whether they hold a watch as it was sent."""

    def __init__(self, replies: list[Any]):
        self.by_id: dict[tuple[str, str, str], list[_Held]] = {}
        self.by_title: dict[tuple[str, str], list[tuple[Any, _Held]]] = {}
        self.every: dict[str, list[_Held]] = {"movies": [], "shows": []}
        for reply in replies:
            if not isinstance(reply, dict):
                continue  # null: nothing since date_from
            for kind, entries in reply.items():
                # Anime films are sent as movies, series as shows; Simkl lists both as anime.
                buckets = {"movies": ["movies"], "anime": ["movies", "shows"]}.get(kind, ["shows"])
                for entry in entries if isinstance(entries, list) else []:
                    if isinstance(entry, dict):
                        for bucket in buckets:
                            self._add(bucket, entry)

    def _add(self, bucket: str, entry: dict[str, Any]) -> None:
        obj = entry.get("movie") or entry.get("show") or entry.get("anime") or entry
        held = _Held(last_watched_at=_instant(entry.get("last_watched_at")))
        for season in entry.get("seasons") or []:
            for ep in (season or {}).get("episodes") or []:
                number = (ep or {}).get("number")
                if isinstance(number, int):
                    held.episodes[(season.get("number") or 1, number)] = _instant(
                        ep.get("watched_at") or ep.get("last_watched_at")
                    )
        for ep in entry.get("episodes") or []:  # flat: season 1
            if isinstance((ep or {}).get("number"), int):
                held.episodes[(1, ep["number"])] = _instant(ep.get("watched_at"))
        last = str(entry.get("last_watched") or "").upper()
        if last.startswith("S") and "E" in last:
            with contextlib.suppress(ValueError):
                s, e = last[1:].split("E", 1)
                held.last_episode = (int(s), int(e))
        for name, value in _norm_ids(obj.get("ids") or {}).items():
            self.by_id.setdefault((bucket, name, value), []).append(held)
        if obj.get("title"):
            key = (bucket, str(obj["title"]).casefold())
            self.by_title.setdefault(key, []).append((obj.get("year"), held))
        self.every[bucket].append(held)

    def _find(self, bucket: str, play: dict[str, Any]) -> list[_Held]:
        """The entries the play was sent for: by any id, else by title (and year)."""
        for name, value in _norm_ids(play.get("ids") or {}).items():
            if (bucket, name, value) in self.by_id:
                return self.by_id[(bucket, name, value)]
        named = self.by_title.get((bucket, str(play.get("title") or "").casefold()), [])
        same_year = [h for year, h in named if play.get("year") and year == play.get("year")]
        return same_year or [h for _, h in named]

    def holds(self, bucket: str, play: dict[str, Any]) -> bool:
        """Whether Simkl holds this watch: the movie or episode is there, and its last
        watch (when Simkl gives it) is this one's date or later. A title sent without ids
        that Simkl names otherwise (a localized title) is recognised by the watch itself:
        an entry holding this very episode at this very second."""
        sent = _instant(play.get("watched_at"))
        episode = (play.get("season") or 1, play.get("number"))
        found = self._find(bucket, play)
        if found:
            return any(_holds(h, bucket, episode, sent) for h in found)
        if sent is None:
            return False
        return any(_holds(h, bucket, episode, sent, exact=True) for h in self.every[bucket])


def _holds(
    held: _Held, bucket: str, episode: tuple[int, Any], sent: datetime | None,
    exact: bool = False,
) -> bool:  # fmt: skip
    if bucket == "movies":
        at = held.last_watched_at
        return _same(at, sent) if exact else _not_before(at, sent)
    if episode in held.episodes:
        at = held.episodes[episode]
        return _same(at, sent) if exact else _not_before(at, sent)
    if not exact and not held.episodes and held.last_episode is not None:
        return episode <= held.last_episode  # only a high-water mark to go by
    return False


def _same(simkl: datetime | None, sent: datetime | None) -> bool:
    return simkl is not None and sent is not None and abs(simkl - sent) <= timedelta(seconds=1)


def _not_before(simkl: datetime | None, sent: datetime | None) -> bool:
    if simkl is None or sent is None:
        return True
    return simkl >= sent - timedelta(seconds=1)


# ---- one push at a time -----------------------------------------------------------------


def _push_lock(store: Store, wait: float = LOCK_WAIT) -> contextlib.AbstractContextManager[None]:
    """One push (or recovery) of a store at a time, across processes."""
    return locks.held(store.path, "push", wait=wait, busy=PushBusyError)
