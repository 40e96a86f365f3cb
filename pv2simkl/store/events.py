"""Watch events and the works they belong to: storing one file's events, reading them back.

Whether an event is already stored is the identity rule's to say (:mod:`pv2simkl.store.identity`);
this module asks it inside the write transaction. The transaction starts with
``BEGIN IMMEDIATE``, so from the first lookup to the commit no other process can write:
what it reads of the store is the store. A :class:`Unit` holds the works an import touched
and their events as read from SQLite inside that transaction (plus its own writes), so a
20,000-event file costs a few queries, not one per event. The next import of the same
connection reuses it only when SQLite says nobody else wrote in between (``PRAGMA
data_version``, read after the lock is taken): a CLI import while the daemon holds the
store open makes the daemon read the store afresh, never trust what it knew before.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlite_utils.db import Database

from pv2simkl.models import Counts, WatchEvent, WatchlistItem, iso_utc, parse_iso_utc
from pv2simkl.store import identity
from pv2simkl.store.connection import Connected
from pv2simkl.store.faults import guard
from pv2simkl.store.identity import Facts, work_key

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_FIRST = datetime.min.replace(tzinfo=UTC)
_LAST = datetime.max.replace(tzinfo=UTC)
# UTC days either side of an event's day where a watch it can be lies.
_SPAN = -(-identity.REACH // timedelta(days=1))
_KNOWN = (
    "id, kind, season, episode, episode_title, watched_at, precision, gti, batch_id,"
    " first_at, last_at"
)
_INSERT = (
    "INSERT INTO events (work_id, kind, season, episode, episode_title, watched_at, day,"
    " precision, source, source_ref, gti, locale, import_id, added_at, first_at, last_at)"
    " VALUES (:work_id, :kind, :season, :episode, :episode_title, :watched_at, :day,"
    " :precision, :source, :source_ref, :gti, :locale, :import_id, :added_at, :watched_at,"
    " :watched_at) ON CONFLICT DO NOTHING"
)


def day_of(value: datetime) -> int:
    """The UTC day number of an instant (days since 1970-01-01): the ``day`` column."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.toordinal() - _EPOCH_ORDINAL


def now() -> str:
    return iso_utc(datetime.now(UTC))


@dataclass(slots=True)
class Known:
    """A stored event as the identity rule sees it, with its export state."""

    id: int
    facts: Facts
    batch_id: int | None


def _known(row: tuple, work: str) -> Known:
    """A stored event from a row of the ``_KNOWN`` columns (the identity lookups' hot path:
    a large file reads thousands of these, so no dict and no general ISO parser)."""
    eid, kind, season, episode, episode_title, watched_at, precision, gti, batch_id = row[:9]
    at = datetime.fromisoformat(watched_at)  # always iso_utc's form, ending in Z
    first = datetime.fromisoformat(row[9]) if row[9] and row[9] != watched_at else at
    last = datetime.fromisoformat(row[10]) if row[10] and row[10] != watched_at else at
    facts = Facts(work, kind, season, episode, episode_title, gti, at, precision, first, last)
    return Known(eid, facts, batch_id)


def _days(facts: Facts) -> range:
    """The UTC days an event's span touches (its instant's day, for most)."""
    assert facts.first and facts.last
    low = min(facts.first, facts.watched_at)
    high = max(facts.last, facts.watched_at)
    return range(day_of(low), day_of(high) + 1)


def _reach(at: datetime) -> tuple[datetime, datetime]:
    """The instants an event at ``at`` can be the same watch as (clamped to datetime's range)."""
    low = at - identity.REACH if at - _FIRST > identity.REACH else _FIRST
    high = at + identity.REACH if _LAST - at > identity.REACH else _LAST
    return low, high


def _chunks(items: list[Any], size: int = 500) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Unit:
    """What a write transaction knows: works by key, and the events of each work it
    touched (read from SQLite on first use, then kept up to date with its own writes),
    bucketed by UTC day (an event under every day its span touches). Valid while no
    other connection writes (see ``Events``)."""

    def __init__(self, db: Database):
        self.db = db
        self.works: dict[str, tuple[int, bool] | None] = {}  # key → (id, knows its year)
        self.keys: dict[int, str] = {}  # work id → key
        self.days: dict[int, dict[int, list[Known]]] = {}  # work id → UTC day → events
        self.by_id: dict[int, Known] = {}

    # ---- works ----------------------------------------------------------------------

    def existing_work(self, key: str) -> int | None:
        """The id of the work with ``key``, if stored."""
        if key not in self.works:
            row = self.db.execute("SELECT id, year FROM works WHERE key = ?", [key]).fetchone()
            self.works[key] = (row[0], row[1] is not None) if row else None
            if row:
                self.keys[row[0]] = key
        found = self.works[key]
        return found[0] if found else None

    def work(self, kind: str, title: str, year: int | None, key: str | None = None) -> int:
        """The id of the work an event belongs to, created if missing (an upsert: another
        process may have created it a moment ago); its year filled in when learnt."""
        key = key or work_key(kind, title)
        wid = self.existing_work(key)
        if wid is None:
            cur = self.db.execute(
                "INSERT INTO works (key, kind, title, year, created_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT(key) DO NOTHING",
                [key, "movie" if kind == "movie" else "show", title, year, now()],
            )
            if cur.rowcount:
                wid = cur.lastrowid
                self.days[wid] = {}  # a new work has no events yet
            else:
                self.works.pop(key)
                wid = self.existing_work(key)
                assert wid is not None
            self.works[key] = (wid, year is not None)
            self.keys[wid] = key
        elif year is not None and not self.works[key][1]:  # type: ignore[index]
            self.db.execute("UPDATE works SET year = ? WHERE id = ? AND year IS NULL", [year, wid])
            self.works[key] = (wid, True)
        return wid

    # ---- events ---------------------------------------------------------------------

    def preload(self, keys: Iterable[str]) -> None:
        """Read the works with these keys and all their events in a few queries (a large
        file touches thousands of works: one query each would cost more than the rule)."""
        wanted = [k for k in dict.fromkeys(keys) if k not in self.works]
        for chunk in _chunks(wanted):
            marks = ",".join("?" * len(chunk))
            for key in chunk:
                self.works[key] = None
            for wid, key, year in self.db.execute(
                f"SELECT id, key, year FROM works WHERE key IN ({marks})", chunk
            ):
                self.works[key] = (wid, year is not None)
                self.keys[wid] = key
                self.days[wid] = {}
        loaded = [self.works[k][0] for k in wanted if self.works[k]]  # type: ignore[index]
        for chunk in _chunks(loaded):
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                f"SELECT work_id, {_KNOWN} FROM events WHERE work_id IN ({marks})", chunk
            )
            for row in rows:
                self._remember(row[0], _known(row[1:], self.keys[row[0]]))

    def _load(self, wid: int) -> dict[int, list[Known]]:
        days = self.days.get(wid)
        if days is None:
            days = self.days[wid] = {}
            key = self.keys[wid]
            for row in self.db.execute(f"SELECT {_KNOWN} FROM events WHERE work_id = ?", [wid]):
                self._remember(wid, _known(row, key))
        return days

    def adopt(self, wid: int, eid: int, facts: Facts) -> None:
        """Count an event this transaction moved to work ``wid`` among its events."""
        self._load(wid)
        self._remember(wid, Known(eid, facts, None))

    def _remember(self, wid: int, known: Known) -> None:
        days = self.days[wid]
        for day in _days(known.facts):
            days.setdefault(day, []).append(known)
        self.by_id[known.id] = known

    def _forget(self, wid: int, known: Known) -> None:
        days = self.days[wid]
        for day in _days(known.facts):
            days[day].remove(known)

    def resolve(self, wid: int, facts: Facts) -> tuple[Known, list[Known]] | None:
        """The stored event ``facts`` is the same watch as, if any, and the stored events
        it shows to be that watch too (see :func:`identity.resolve`)."""
        days = self._load(wid)
        if not days:
            return None
        day = day_of(facts.watched_at)
        near = {
            k.id: k.facts for d in range(day - _SPAN, day + _SPAN + 1) for k in days.get(d, ())
        }.items()
        match = identity.resolve(facts, near)
        if match is None:
            return None
        return self.by_id[match.keep], [self.by_id[i] for i in match.absorbed]

    def absorb(self, wid: int, keep: Known, others: list[Known]) -> None:
        """The ``others`` are the watch ``keep`` is: they go, and fill it in."""
        for other in others:
            self.db.execute("DELETE FROM events WHERE id = ?", [other.id])
            self._forget(wid, other)
            del self.by_id[other.id]
            self.merge(wid, keep, other.facts)

    def insert(self, wid: int, event: WatchEvent, facts: Facts, import_id: int | None,
               added_at: str) -> bool:  # fmt: skip
        """Store a new event; False when the database already holds this very observation."""
        cur = self.db.execute(
            _INSERT,
            {
                "work_id": wid,
                "kind": event.kind,
                "season": event.season,
                "episode": event.episode,
                "episode_title": event.episode_title,
                "watched_at": iso_utc(event.watched_at),
                "day": day_of(event.watched_at),
                "precision": event.precision,
                "source": event.source,
                "source_ref": event.source_ref,
                "gti": event.gti,
                "locale": event.locale,
                "import_id": import_id,
                "added_at": added_at,
            },
        )
        if not cur.rowcount:
            return False
        self._remember(wid, Known(cur.lastrowid, facts, None))
        return True

    def merge(self, wid: int, known: Known, facts: Facts) -> bool:
        """Fill what the stored event lacks from ``facts``; True if it learnt something (a
        wider span, or an earlier instant of the same precision, is bookkeeping only)."""
        changes = identity.fill(known.facts, facts)
        if not changes:
            return False
        columns = dict(changes)
        if "watched_at" in changes:
            columns["watched_at"] = iso_utc(changes["watched_at"])
            columns["day"] = day_of(changes["watched_at"])
        for name in ("first", "last"):
            if name in changes:
                del columns[name]
                columns[f"{name}_at"] = iso_utc(changes[name])
        if "episode" in changes and known.batch_id is not None:
            columns["batch_id"] = None  # a number learnt after export: export again
        sets = ", ".join(f"{k} = ?" for k in columns)
        cur = self.db.execute(
            f"UPDATE OR IGNORE events SET {sets} WHERE id = ?", [*columns.values(), known.id]
        )
        if not cur.rowcount:
            return False  # it would become another stored observation: leave it as it is
        self._forget(wid, known)
        learnt = changes.keys() - {"first", "last", "watched_at", "precision"} or (
            changes.get("precision", known.facts.precision) != known.facts.precision
        )
        known.facts = known.facts.updated(changes)
        known.batch_id = columns.get("batch_id", known.batch_id)
        self._remember(wid, known)
        return bool(learnt)

    def add(self, event: WatchEvent, import_id: int | None, added_at: str) -> str:
        """Store one event by the identity rule: ``added``, ``updated`` or ``same``."""
        key = work_key(event.kind, event.title)
        wid = self.work(event.kind, event.title, event.year, key)
        facts = Facts.of(event, key)
        found = self.resolve(wid, facts)
        if found is None:
            return "added" if self.insert(wid, event, facts, import_id, added_at) else "same"
        keep, absorbed = found
        self.absorb(wid, keep, absorbed)
        return "updated" if self.merge(wid, keep, facts) or absorbed else "same"


def add_events(unit: Unit, events: Sequence[WatchEvent], import_id: int, result: Counts,
               progress: Any) -> None:  # fmt: skip
    """Store ``events`` (inside the caller's write transaction), counting into ``result``."""
    unit.preload(work_key(e.kind, e.title) for e in events)
    added_at = now()
    for event in events:
        result.seen += 1
        outcome = unit.add(event, import_id, added_at)
        if outcome == "added":
            result.added += 1
        elif outcome == "updated":
            result.updated += 1
        if progress is not None:
            progress(1)


def add_watchlist(unit: Unit, items: Iterable[WatchlistItem], import_id: int) -> int:
    """Watchlist titles not stored yet; a title already watched is stored too (it only
    exports while the work has no watch)."""
    added = 0
    for item in items:
        key = work_key(item.kind, item.title)
        other = work_key("movie" if item.kind != "movie" else "episode", item.title)
        wid = unit.existing_work(key) or unit.existing_work(other)
        if wid is None:
            wid = unit.work("movie" if item.kind == "movie" else "show", item.title, None, key)
        cur = unit.db.execute(
            "INSERT OR IGNORE INTO watchlist (work_id, added_at, import_id) VALUES (?, ?, ?)",
            [wid, iso_utc(item.added_at) if item.added_at else None, import_id],
        )
        added += cur.rowcount
    return added


def is_known(db: Database, event: WatchEvent) -> bool:
    """True when ``event`` is already stored (the identity rule, nothing written)."""
    key = work_key(event.kind, event.title)
    row = db.execute("SELECT id FROM works WHERE key = ?", [key]).fetchone()
    if row is None:
        return False
    low, high = _reach(event.watched_at)
    rows = db.execute(
        f"SELECT {_KNOWN} FROM events WHERE work_id = ?"
        " AND min(coalesce(first_at, watched_at), watched_at) <= ?"
        " AND max(coalesce(last_at, watched_at), watched_at) >= ?",
        [row[0], iso_utc(high), iso_utc(low)],
    )
    near = [(k.id, k.facts) for k in (_known(r, key) for r in rows)]
    return identity.find(Facts.of(event, key), near) is not None


def replay_identity(db: Database) -> int:
    """Apply the identity rule to the events already stored, in the order they were stored,
    as one sequential import would: an event that is the same watch as an earlier one
    fills it in and goes. Returns how many went. Runs inside the caller's transaction."""
    unit = Unit(db)
    for wid, key in db.execute("SELECT id, key FROM works"):
        unit.keys[wid] = key
        unit.days[wid] = {}
    gone = 0
    for row in db.execute(f"SELECT work_id, {_KNOWN} FROM events ORDER BY id").fetchall():
        wid = row[0]
        current = _known(row[1:], unit.keys[wid])
        found = unit.resolve(wid, current.facts)
        if found is None:
            unit._remember(wid, current)
            continue
        keep, absorbed = found
        unit._remember(wid, current)
        unit.absorb(wid, keep, [*absorbed, current])
        gone += 1 + len(absorbed)
    return gone


def iter_events(db: Database) -> Iterator[WatchEvent]:
    """Every stored event, oldest first, in the shape the importers gave."""
    rows = db.query(
        "SELECT e.kind, w.title, e.season, e.episode, e.episode_title, e.watched_at,"
        " e.precision, e.source, e.source_ref, e.gti, e.locale, w.year"
        " FROM events e JOIN works w ON w.id = e.work_id ORDER BY e.watched_at, e.id"
    )
    for row in rows:
        yield WatchEvent(
            kind=row["kind"],
            title=row["title"],
            season=row["season"],
            episode=row["episode"],
            episode_title=row["episode_title"],
            watched_at=parse_iso_utc(row["watched_at"]),
            precision=row["precision"],
            source=row["source"],
            source_ref=row["source_ref"],
            gti=row["gti"],
            locale=row["locale"],
            year=row["year"],
        )


@guard
class Events(Connected):
    """The store's events and works: imports, the identity lookups, reading back.

    The :class:`Unit` of the last import is kept for the next one while nothing but this
    connection wrote to the store in between: SQLite's ``PRAGMA data_version``, read inside
    the write transaction, changes when another connection (another process: the daemon,
    a CLI) committed. Then, or after any other write of this store, or a failed import, the
    next import starts from what SQLite holds.
    """

    _unit: Unit | None = None
    _unit_version: int | None = None

    def _current_unit(self) -> Unit:
        """The identity cache to use in this write transaction."""
        version = self.db.execute("PRAGMA data_version").fetchone()[0]
        if self._unit is None or version != self._unit_version:
            self._unit = Unit(self.db)
        self._unit_version = version
        return self._unit

    def _forget_unit(self) -> None:
        self._unit = None

    def already_imported(self, sha256: str) -> dict[str, Any] | None:
        """The last finished import of a file with these bytes, if any."""
        rows = self.db.query(
            "SELECT id, path, finished_at FROM imports WHERE sha256 = ? AND status = 'done'"
            " ORDER BY id DESC LIMIT 1",
            [sha256],
        )
        return next(rows, None)

    def add_import(
        self,
        events: Iterable[WatchEvent],
        *,
        path: str,
        sha256: str,
        source: str | None,
        message: str | None = None,
        progress: Any = None,
        watchlist: Iterable[WatchlistItem] = (),
        partial: bool = False,
    ) -> Counts:
        """Store one file's events (and watchlist) and its import record in one transaction.

        A ``partial`` import (some rows could not be read) is recorded as such, so the same
        file is read again next time instead of being skipped as already imported. The
        events are read into a list first: a transaction that met another writer's lock is
        tried again whole.
        """
        events = events if isinstance(events, list | tuple) else list(events)
        watchlist = watchlist if isinstance(watchlist, list | tuple) else list(watchlist)

        def body() -> Counts:
            try:
                return store(self._current_unit())
            except BaseException:
                self._forget_unit()  # rolled back: what the unit learnt is not stored
                raise

        def store(unit: Unit) -> Counts:
            result = Counts()
            cur = self.db.execute(
                "INSERT INTO imports (path, sha256, source, started_at, status)"
                " VALUES (?, ?, ?, ?, 'running')",
                [path, sha256, source, now()],
            )
            import_id = cur.lastrowid
            add_events(unit, events, import_id, result, progress)
            result.watchlist = add_watchlist(unit, watchlist, import_id)
            self.db.execute(
                "UPDATE imports SET finished_at = ?, status = ?, events_seen = ?,"
                " events_added = ?, events_updated = ?, message = ?, watchlist_added = ?"
                " WHERE id = ?",
                [now(), "partial" if partial else "done", result.seen, result.added,
                 result.updated, message, result.watchlist, import_id],
            )  # fmt: skip
            return result

        return self._write(body, keep_unit=True)

    def is_known(self, event: WatchEvent) -> bool:
        """True when ``event`` is already stored (the identity rule, nothing written)."""
        return is_known(self.db, event)

    def gtis_without_numbers(self) -> list[str]:
        """Episodes stored with a gti but no episode number (collapsed pages, odd labels)."""
        rows = self.db.query(
            "SELECT DISTINCT gti FROM events WHERE kind = 'episode' AND episode IS NULL"
            " AND gti IS NOT NULL ORDER BY gti"
        )
        return [r["gti"] for r in rows]

    def set_numbers_by_gti(self, numbers: dict[str, tuple[int | None, int | None]]) -> int:
        """Fill season / episode of events by gti (from Amazon's catalog). An event that
        would then repeat another stored observation exactly is left as it is."""

        def body() -> int:
            changed = 0
            for gti, (season, episode) in numbers.items():
                cur = self.db.execute(
                    "UPDATE OR IGNORE events SET episode = coalesce(episode, ?),"
                    " season = coalesce(season, ?), batch_id = NULL"
                    " WHERE gti = ? AND kind = 'episode' AND episode IS NULL",
                    [episode, season, gti],
                )
                changed += cur.rowcount
            return changed

        return self._write(body)

    def counts(self) -> dict[str, int]:
        """Events, works, events not yet in an export batch, and works whose new ids the
        next export sends again (``ids_pending``)."""
        row = next(
            self.db.query(
                "SELECT (SELECT count(*) FROM events) AS events,"
                " (SELECT count(*) FROM works) AS works,"
                " (SELECT count(*) FROM events WHERE batch_id IS NULL) AS unexported,"
                " (SELECT count(*) FROM works w WHERE w.ids_pending = 1"
                "  AND (EXISTS (SELECT 1 FROM events e WHERE e.work_id = w.id)"
                "       OR EXISTS (SELECT 1 FROM watchlist l WHERE l.work_id = w.id)))"
                " AS ids_pending"
            )
        )
        return dict(row)

    def iter_events(self) -> Iterator[WatchEvent]:
        """Every stored event, oldest first, in the shape the importers gave."""
        yield from iter_events(self.db)
