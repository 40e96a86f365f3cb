"""The SQLite store: every watch event, the works they belong to, imports and export batches.

One file (WAL mode), schema through named migrations (``sqlite_utils.Migrations``), and
one transaction per imported file, so a crash leaves either the old state or the new.

Identity of an event: (work, season, episode, UTC day of the watch), whatever the source.
Sources differ in what they know of an episode (a number from the page's label, only
the episode title in the data export, only a gti in a collapsed page), so an event
matches a stored one when any of these agree: its number, its title, its gti. A source
that knows only the local calendar date (``day`` precision) matches one day either side.
A match fills in what the stored event lacked; a rewatch on another day is a new event.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlite_utils
from sqlite_utils.db import Database
from sqlite_utils.migrations import Migrations

from pv2simkl import titles
from pv2simkl.errors import StoreError
from pv2simkl.models import WatchEvent, WatchlistItem, iso_utc, parse_iso_utc

migrations = Migrations("pv2simkl")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FINER = {"exact": 0, "hour": 1, "day": 2}


@migrations()
def m001_initial(db: Database) -> None:
    """Works, events, imports and export batches."""
    db["works"].create(
        {
            "id": int,
            "key": str,
            "kind": str,
            "title": str,
            "year": int,
            "media_type": str,
            "simkl_id": int,
            "tvdb_id": int,
            "tmdb_id": int,
            "imdb_id": str,
            "mal_id": int,
            "show_status": str,
            "match_score": float,
            "match_provider": str,
            "pinned": int,
            "created_at": str,
        },
        pk="id",
        not_null={"key", "kind", "title"},
    )
    db["works"].create_index(["key"], unique=True)
    db["imports"].create(
        {
            "id": int,
            "path": str,
            "sha256": str,
            "source": str,
            "started_at": str,
            "finished_at": str,
            "status": str,
            "events_seen": int,
            "events_added": int,
            "events_updated": int,
            "message": str,
        },
        pk="id",
    )
    db["imports"].create_index(["sha256"])
    db["export_batches"].create(
        {
            "id": int,
            "created_at": str,
            "finished_at": str,
            "status": str,
            "all_history": int,
            "export_dir": str,
            "files": str,
            "rows": int,
        },
        pk="id",
    )
    db["events"].create(
        {
            "id": int,
            "work_id": int,
            "kind": str,
            "season": int,
            "episode": int,
            "episode_title": str,
            "watched_at": str,
            "day": int,
            "precision": str,
            "source": str,
            "source_ref": str,
            "gti": str,
            "locale": str,
            "import_id": int,
            "batch_id": int,
            "added_at": str,
        },
        pk="id",
        not_null={"work_id", "kind", "watched_at", "day", "precision", "source"},
        foreign_keys=[
            ("work_id", "works", "id"),
            ("import_id", "imports", "id"),
            ("batch_id", "export_batches", "id"),
        ],
    )
    db["events"].create_index(["work_id", "day"])
    db["events"].create_index(["batch_id"])


@migrations()
def m002_metadata(db: Database) -> None:
    """The providers' response cache and the match state of each work."""
    db["http_cache"].create(
        {"key": str, "provider": str, "body": str, "fetched_at": float, "expires_at": float},
        pk="key",
    )
    db["works"].add_column("match_status", str)  # matched | unmatched | pinned
    db["works"].add_column("candidates", str)  # JSON: best candidates of an unmatched work
    db["works"].add_column("resolved_at", str)
    db["works"].add_column("language", str)  # locale of the pages it came from


@migrations()
def m003_runs(db: Database) -> None:
    """Sync runs, for `pv2simkl status` and the daemon."""
    db["runs"].create(
        {"id": int, "kind": str, "started_at": str, "finished_at": str, "status": str,
         "summary": str},
        pk="id",
    )  # fmt: skip


@migrations()
def m004_watchlist(db: Database) -> None:
    """Titles on the Prime Video watchlist (data export); unwatched ones export as plan to watch."""
    db["watchlist"].create(
        {"work_id": int, "added_at": str, "import_id": int, "batch_id": int},
        pk="work_id",
        foreign_keys=[
            ("work_id", "works", "id"),
            ("import_id", "imports", "id"),
            ("batch_id", "export_batches", "id"),
        ],
    )
    db["imports"].add_column("watchlist_added", int)


def work_key(kind: str, title: str) -> str:
    """``movie:der pate`` / ``show:das boot``.

    The year is not part of the key: Amazon rarely gives it, and a key that changed
    when one source knew the year would split a work in two.
    """
    return f"{'movie' if kind == 'movie' else 'show'}:{titles.identity_key(title)}"


def day_of(value: datetime) -> int:
    return (value - _EPOCH) // timedelta(days=1)


def _event_keys(kind: str, season: Any, episode: Any, episode_title: Any, gti: Any) -> list[tuple]:
    """The keys an event is registered under."""
    if kind == "movie":
        return [("m",), ("g", gti)] if gti else [("m",)]
    keys: list[tuple] = []
    if episode is not None:
        keys.append(("n", season, episode))
    if episode_title:
        title = titles.match_key(episode_title)
        keys += [("t", season, title), ("t*", title)]
    if gti:
        keys.append(("g", gti))
    return keys


def _lookup_keys(kind: str, season: Any, episode: Any, episode_title: Any, gti: Any) -> list[tuple]:
    """The keys an event is looked up by. An episode whose season is unknown (a data-export
    row without a season suffix) is the same watch as a stored one of any season with its
    title; one of a known season matches its own season or an unknown one."""
    keys = [k for k in _event_keys(kind, season, episode, episode_title, gti) if k[0] != "t*"]
    if kind != "movie" and episode_title:
        title = titles.match_key(episode_title)
        keys = [k for k in keys if k[0] != "t"]
        keys += [("t*", title)] if season is None else [("t", season, title), ("t", None, title)]
    return keys


@dataclass
class AddResult:
    seen: int = 0
    added: int = 0
    updated: int = 0
    watchlist: int = 0


def _now() -> str:
    return iso_utc(datetime.now(UTC))


class Store:
    """The one SQLite store. Not thread-safe: one owner thread uses it."""

    def __init__(self, path: Path):
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(path), timeout=30)
            self.db = Database(conn)
            self.db.execute("PRAGMA foreign_keys = ON")
            self._migrate()
            self.db.enable_wal()
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"The store {path} cannot be opened ({exc}); move it aside or point --db elsewhere."
            ) from None
        except OSError as exc:
            raise StoreError(f"The store {path} cannot be created ({exc.strerror}).") from None
        self._works: dict[str, int] | None = None
        self._index: dict[tuple, list[int]] | None = None
        self._day_index: dict[tuple, list[int]] | None = None
        self._gtis: dict[int, str] = {}
        self._seasonless = False  # some stored episode is known by title without its season

    def _migrate(self) -> None:
        pending = migrations.pending(self.db)
        if not pending:
            return
        if self.db["works"].exists():
            backup = self.path.with_name(f"{self.path.name}.before-{pending[0].name}.bak")
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            shutil.copy2(self.path, backup)
        migrations.apply(self.db)

    def close(self) -> None:
        self.db.close()

    # ---- identity index -------------------------------------------------------------

    def _load_index(self) -> None:
        self._works = {r[0]: r[1] for r in self.db.execute("SELECT key, id FROM works").fetchall()}
        self._index, self._day_index, self._gtis = {}, {}, {}
        self._seasonless = False
        rows = self.db.execute(
            "SELECT id, work_id, kind, season, episode, episode_title, gti, day, precision"
            " FROM events"
        )
        for eid, wid, kind, season, episode, ep_title, gti, day, precision in rows:
            keys = _event_keys(kind, season, episode, ep_title, gti)
            self._register(eid, wid, keys, day, precision, gti)

    def _register(
        self, eid: int, wid: int, keys: list[tuple], day: int, precision: str, gti: str | None
    ) -> None:
        assert self._index is not None and self._day_index is not None
        target = self._day_index if precision == "day" else self._index
        self._seasonless = self._seasonless or any(k[0] == "t" and k[1] is None for k in keys)
        for key in keys:
            found = target.setdefault((wid, key, day), [])
            if eid not in found:
                found.append(eid)
        if gti:
            self._gtis[eid] = gti

    def _find(
        self, wid: int, keys: list[tuple], day: int, precision: str, gti: str | None = None
    ) -> int | None:
        """The stored event this one is, if any. Two different gtis are never one watch."""
        assert self._index is not None and self._day_index is not None
        near = (day - 1, day, day + 1)
        places = [(self._index, d) for d in (near if precision == "day" else (day,))]
        places += [(self._day_index, d) for d in near]
        for key in keys:
            if key[0] == "t" and key[1] is None and not self._seasonless:
                continue  # no stored episode lacks its season: nothing to find there
            for index, d in places:
                for eid in index.get((wid, key, d), ()):
                    other = self._gtis.get(eid)
                    if not (gti and other and gti != other):
                        return eid
        return None

    def _work_id(self, event: WatchEvent) -> int:
        assert self._works is not None
        key = work_key(event.kind, event.title)
        wid = self._works.get(key)
        if wid is None:
            cur = self.db.execute(
                "INSERT INTO works (key, kind, title, year, created_at) VALUES (?, ?, ?, ?, ?)",
                [
                    key,
                    "movie" if event.kind == "movie" else "show",
                    event.title,
                    event.year,
                    _now(),
                ],
            )
            wid = cur.lastrowid
            self._works[key] = wid
        elif event.year:
            self.db.execute(
                "UPDATE works SET year = ? WHERE id = ? AND year IS NULL", [event.year, wid]
            )
        return wid

    # ---- imports ----------------------------------------------------------------------

    def already_imported(self, sha256: str) -> dict[str, Any] | None:
        row = self.db.execute(
            "SELECT id, path, finished_at FROM imports WHERE sha256 = ? AND status = 'done'"
            " ORDER BY id DESC LIMIT 1",
            [sha256],
        ).fetchone()
        return {"id": row[0], "path": row[1], "finished_at": row[2]} if row else None

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
    ) -> AddResult:
        """Store one file's events (and watchlist) and its import record in one transaction.

        A ``partial`` import (some rows could not be read) is recorded as such, so the same
        file is read again next time instead of being skipped as already imported.
        """
        if self._index is None:
            self._load_index()
        result = AddResult()
        try:
            with self.db.atomic():
                cur = self.db.execute(
                    "INSERT INTO imports (path, sha256, source, started_at, status)"
                    " VALUES (?, ?, ?, ?, 'running')",
                    [path, sha256, source, _now()],
                )
                import_id = cur.lastrowid
                self._add_events(events, import_id, result, progress)
                result.watchlist = self._add_watchlist(watchlist, import_id)
                self.db.execute(
                    "UPDATE imports SET finished_at = ?, status = ?, events_seen = ?,"
                    " events_added = ?, events_updated = ?, message = ?, watchlist_added = ?"
                    " WHERE id = ?",
                    [_now(), "partial" if partial else "done", result.seen, result.added,
                     result.updated, message, result.watchlist, import_id],
                )  # fmt: skip
        except BaseException:
            self._index = None  # the transaction rolled back: rebuild from what is stored
            raise
        return result

    def _add_events(
        self, events: Iterable[WatchEvent], import_id: int, result: AddResult, progress: Any
    ) -> None:
        added_at = _now()
        for event in events:
            result.seen += 1
            wid = self._work_id(event)
            day = day_of(event.watched_at)
            facts = (event.kind, event.season, event.episode, event.episode_title, event.gti)
            keys = _event_keys(*facts)
            existing = self._find(wid, _lookup_keys(*facts), day, event.precision, event.gti)
            if existing is None:
                cur = self.db.execute(
                    "INSERT INTO events (work_id, kind, season, episode, episode_title,"
                    " watched_at, day, precision, source, source_ref, gti, locale, import_id,"
                    " added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        wid,
                        event.kind,
                        event.season,
                        event.episode,
                        event.episode_title,
                        iso_utc(event.watched_at),
                        day,
                        event.precision,
                        event.source,
                        event.source_ref,
                        event.gti,
                        event.locale,
                        import_id,
                        added_at,
                    ],
                )
                self._register(cur.lastrowid, wid, keys, day, event.precision, event.gti)
                result.added += 1
            elif self._merge(existing, wid, event, keys, day):
                result.updated += 1
            if progress is not None:
                progress(1)

    def _add_watchlist(self, items: Iterable[WatchlistItem], import_id: int) -> int:
        """Watchlist titles not stored yet; a title already watched is stored too (it only
        exports while the work has no watch)."""
        assert self._works is not None
        added = 0
        for item in items:
            key = work_key(item.kind, item.title)
            other = work_key("movie" if item.kind != "movie" else "episode", item.title)
            wid = self._works.get(key) or self._works.get(other)
            if wid is None:
                event_kind = "movie" if item.kind == "movie" else "episode"
                wid = self._work_id(WatchEvent(event_kind, item.title, _EPOCH, "watchlist"))
            cur = self.db.execute(
                "INSERT OR IGNORE INTO watchlist (work_id, added_at, import_id) VALUES (?, ?, ?)",
                [wid, iso_utc(item.added_at) if item.added_at else None, import_id],
            )
            added += cur.rowcount
        return added

    def _merge(self, eid: int, wid: int, event: WatchEvent, keys: list[tuple], day: int) -> bool:
        """Fill what the stored event lacks from ``event``; True if anything changed."""
        row = self.db.execute(
            "SELECT season, episode, episode_title, gti, precision, batch_id FROM events"
            " WHERE id = ?",
            [eid],
        ).fetchone()
        season, episode, ep_title, gti, precision, batch_id = row
        changes: dict[str, Any] = {}
        if season is None and event.season is not None:
            changes["season"] = event.season
        if episode is None and event.episode is not None:
            changes["episode"] = event.episode
            if batch_id is not None:
                changes["batch_id"] = None  # a number learnt after export: export again
        if not ep_title and event.episode_title:
            changes["episode_title"] = event.episode_title
        if not gti and event.gti:
            changes["gti"] = event.gti
        if _FINER[event.precision] < _FINER[precision]:
            changes.update(watched_at=iso_utc(event.watched_at), day=day, precision=event.precision)
        if not changes:
            return False
        sets = ", ".join(f"{k} = ?" for k in changes)
        self.db.execute(f"UPDATE events SET {sets} WHERE id = ?", [*changes.values(), eid])
        self._register(eid, wid, keys, changes.get("day", day),
                       changes.get("precision", precision), gti or event.gti)  # fmt: skip
        return True

    def is_known(self, event: WatchEvent) -> bool:
        """True when ``event`` is already stored (the identity rule, nothing written)."""
        if self._index is None:
            self._load_index()
        assert self._works is not None
        wid = self._works.get(work_key(event.kind, event.title))
        if wid is None:
            return False
        keys = _lookup_keys(event.kind, event.season, event.episode, event.episode_title,
                            event.gti)  # fmt: skip
        day = day_of(event.watched_at)
        return self._find(wid, keys, day, event.precision, event.gti) is not None

    def gtis_without_numbers(self) -> list[str]:
        """Episodes stored with a gti but no episode number (collapsed pages, odd labels)."""
        rows = self.db.execute(
            "SELECT DISTINCT gti FROM events WHERE kind = 'episode' AND episode IS NULL"
            " AND gti IS NOT NULL ORDER BY gti"
        )
        return [r[0] for r in rows]

    def set_numbers_by_gti(self, numbers: dict[str, tuple[int | None, int | None]]) -> int:
        """Fill season / episode of events by gti (from Amazon's catalog)."""
        changed = 0
        with self.db.atomic():
            for gti, (season, episode) in numbers.items():
                cur = self.db.execute(
                    "UPDATE events SET episode = coalesce(episode, ?),"
                    " season = coalesce(season, ?), batch_id = NULL"
                    " WHERE gti = ? AND kind = 'episode' AND episode IS NULL",
                    [episode, season, gti],
                )
                changed += cur.rowcount
        self._index = None
        return changed

    # ---- reading ----------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        q = self.db.execute
        return {
            "events": q("SELECT count(*) FROM events").fetchone()[0],
            "works": q("SELECT count(*) FROM works").fetchone()[0],
            "unexported": q("SELECT count(*) FROM events WHERE batch_id IS NULL").fetchone()[0],
        }

    def iter_events(self) -> Iterator[WatchEvent]:
        """Every stored event, oldest first, in the shape the importers gave."""
        rows = self.db.execute(
            "SELECT e.kind, w.title, e.season, e.episode, e.episode_title, e.watched_at,"
            " e.precision, e.source, e.source_ref, e.gti, e.locale, w.year"
            " FROM events e JOIN works w ON w.id = e.work_id ORDER BY e.watched_at, e.id"
        )
        for kind, title, season, episode, ep_title, at, prec, src, ref, gti, loc, year in rows:
            yield WatchEvent(
                kind=kind,
                title=title,
                season=season,
                episode=episode,
                episode_title=ep_title,
                watched_at=parse_iso_utc(at),
                precision=prec,
                source=src,
                source_ref=ref,
                gti=gti,
                locale=loc,
                year=year,
            )

    # ---- metadata -----------------------------------------------------------------------

    def works_to_resolve(self) -> list[dict[str, Any]]:
        """Works never matched (or unmatched last time), and pinned works not yet filled."""
        rows = self.db.execute(
            "SELECT w.id, w.kind, w.title, w.year, w.match_status, w.simkl_id, w.tvdb_id,"
            " w.tmdb_id, w.imdb_id, w.mal_id,"
            " (SELECT e.locale FROM events e WHERE e.work_id = w.id AND e.locale IS NOT NULL"
            "  LIMIT 1)"
            " FROM works w WHERE w.match_status IS NULL OR w.match_status = 'unmatched'"
            " OR (w.match_status = 'pinned' AND w.resolved_at IS NULL) ORDER BY w.id"
        ).fetchall()
        keys = ("id", "kind", "title", "year", "match_status", "simkl", "tvdb", "tmdb", "imdb",
                "mal", "locale")  # fmt: skip
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def save_resolutions(self, results: Iterable[Any]) -> None:
        """Store resolver outcomes (pv2simkl.providers.resolver.Resolution), one transaction."""
        now = _now()
        with self.db.atomic():
            for r in results:
                if r.matched:
                    self.db.execute(
                        "UPDATE works SET simkl_id = ?, tvdb_id = ?, tmdb_id = ?, imdb_id = ?,"
                        " mal_id = ?, media_type = ?, year = coalesce(year, ?), show_status = ?,"
                        " match_score = ?, match_provider = coalesce(?, match_provider),"
                        " match_status = CASE WHEN match_status = 'pinned' THEN 'pinned'"
                        " ELSE 'matched' END, candidates = NULL, resolved_at = ? WHERE id = ?",
                        [r.ids.simkl, r.ids.tvdb, r.ids.tmdb, r.ids.imdb, r.ids.mal,
                         r.media_type, r.year, r.status, r.score, r.provider, now, r.work_id],
                    )  # fmt: skip
                else:
                    self.db.execute(
                        "UPDATE works SET match_status = 'unmatched', candidates = ?,"
                        " resolved_at = ? WHERE id = ?",
                        [json.dumps(r.candidates, ensure_ascii=False), now, r.work_id],
                    )

    def unmatched_movies(self) -> list[dict[str, Any]]:
        """Movies no provider matched whose title holds an unspaced hyphen (``X-Y``)."""
        rows = self.db.execute(
            "SELECT w.id, w.title, (SELECT e.locale FROM events e WHERE e.work_id = w.id"
            " AND e.locale IS NOT NULL LIMIT 1) FROM works w WHERE w.kind = 'movie'"
            " AND w.match_status = 'unmatched' AND w.title GLOB '*[^ ]-[^ ]*' ORDER BY w.id"
        ).fetchall()
        return [{"id": r[0], "title": r[1], "locale": r[2]} for r in rows]

    def refile_as_episodes(
        self, movie_id: int, show: str, season: int | None, episode_title: str
    ) -> int:
        """Move a movie's watches to ``show`` as episode ``episode_title``; returns the show's
        work id. The watches export again (as the show's); the movie work is removed."""
        with self.db.atomic():
            self._load_index()
            assert self._works is not None
            key = work_key("episode", show)
            show_id = self._works.get(key)
            if show_id is None:
                show_id = self.db.execute(
                    "INSERT INTO works (key, kind, title, created_at) VALUES (?, 'show', ?, ?)",
                    [key, show, _now()],
                ).lastrowid
            self.db.execute(
                "UPDATE events SET work_id = ?, kind = 'episode', season = ?, episode_title = ?,"
                " batch_id = NULL WHERE work_id = ?",
                [show_id, season, episode_title, movie_id],
            )
            self.db.execute(
                "UPDATE OR IGNORE watchlist SET work_id = ? WHERE work_id = ?", [show_id, movie_id]
            )
            self.db.execute("DELETE FROM watchlist WHERE work_id = ?", [movie_id])
            self.db.execute("DELETE FROM works WHERE id = ?", [movie_id])
        self._index = None  # rebuilt on the next import
        return show_id

    def find_works(self, title: str) -> list[dict[str, Any]]:
        """Works whose normalised title equals that of ``title`` (movie and show alike)."""
        key = titles.identity_key(title)
        rows = self.db.execute(
            "SELECT id, kind, title FROM works WHERE key IN (?, ?)", [f"movie:{key}", f"show:{key}"]
        ).fetchall()
        return [{"id": r[0], "kind": r[1], "title": r[2]} for r in rows]

    def pin(self, work_id: int, ids: dict[str, Any], media_type: str | None) -> None:
        """Ids set by hand: kept by every later run; the other ids are filled next enrich."""
        columns = {"simkl": "simkl_id", "tvdb": "tvdb_id", "tmdb": "tmdb_id", "imdb": "imdb_id",
                   "mal": "mal_id"}  # fmt: skip
        sets = {columns[k]: v for k, v in ids.items() if v is not None}
        sets.update(match_status="pinned", pinned=1, resolved_at=None, candidates=None,
                    match_provider="pinned")  # fmt: skip
        if media_type:
            sets["media_type"] = media_type
        with self.db.atomic():
            for column in columns.values():  # pinned ids replace what a provider had said
                if column not in sets:
                    sets[column] = None
            assignments = ", ".join(f"{c} = ?" for c in sets)
            self.db.execute(
                f"UPDATE works SET {assignments} WHERE id = ?", [*sets.values(), work_id]
            )
            # Their rows must be written again with the right ids.
            self.db.execute("UPDATE events SET batch_id = NULL WHERE work_id = ?", [work_id])

    def unmatched(self) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT id, kind, title, candidates FROM works WHERE match_status = 'unmatched'"
            " ORDER BY title"
        ).fetchall()
        return [
            {"id": r[0], "kind": r[1], "title": r[2], "candidates": json.loads(r[3] or "[]")}
            for r in rows
        ]

    def match_counts(self) -> dict[str, int]:
        rows = self.db.execute(
            "SELECT coalesce(match_status, 'new'), count(*) FROM works GROUP BY 1"
        ).fetchall()
        return dict(rows)

    def episodes_without_numbers(self) -> list[dict[str, Any]]:
        """(work, season) pairs of shows with ids whose episodes are known by title only."""
        rows = self.db.execute(
            "SELECT w.id, w.simkl_id, w.tmdb_id, w.tvdb_id, e.season, e.id, e.episode_title"
            " FROM events e JOIN works w ON w.id = e.work_id"
            " WHERE e.kind = 'episode' AND e.episode IS NULL AND e.episode_title IS NOT NULL"
            " AND e.season IS NOT NULL AND (w.simkl_id IS NOT NULL OR w.tmdb_id IS NOT NULL)"
            " ORDER BY w.id, e.season"
        ).fetchall()
        groups: dict[tuple[int, int], dict[str, Any]] = {}
        for wid, simkl, tmdb, tvdb, season, eid, ep_title in rows:
            group = groups.setdefault(
                (wid, season),
                {"work_id": wid, "season": season, "simkl": simkl, "tmdb": tmdb, "tvdb": tvdb,
                 "events": []},
            )  # fmt: skip
            group["events"].append((eid, ep_title))
        return list(groups.values())

    def set_episode_numbers(self, numbers: list[tuple[int, int]]) -> int:
        """(event id, episode number) pairs; the events are exported again with them."""
        with self.db.atomic():
            for eid, number in numbers:
                self.db.execute(
                    "UPDATE events SET episode = ?, batch_id = NULL"
                    " WHERE id = ? AND episode IS NULL",
                    [number, eid],
                )
        self._index = None  # identity keys changed: rebuild on the next import
        return len(numbers)

    # ---- runs ---------------------------------------------------------------------------

    def start_run(self, kind: str) -> int:
        with self.db.atomic():
            cur = self.db.execute(
                "INSERT INTO runs (kind, started_at, status) VALUES (?, ?, 'running')",
                [kind, _now()],
            )
        return cur.lastrowid

    def finish_run(self, run_id: int, status: str, summary: dict[str, Any]) -> None:
        with self.db.atomic():
            self.db.execute(
                "UPDATE runs SET finished_at = ?, status = ?, summary = ? WHERE id = ?",
                [_now(), status, json.dumps(summary, ensure_ascii=False), run_id],
            )

    def last_runs(self, n: int = 5) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT kind, started_at, finished_at, status, summary FROM runs"
            " ORDER BY id DESC LIMIT ?",
            [n],
        ).fetchall()
        return [
            {"kind": r[0], "started_at": r[1], "finished_at": r[2], "status": r[3],
             "summary": json.loads(r[4] or "{}")}
            for r in rows
        ]  # fmt: skip

    # ---- export batches ---------------------------------------------------------------

    def begin_batch(self, *, export_dir: str, files: list[str], all_history: bool) -> int:
        """Create a batch and claim every event not yet exported, in one transaction."""
        with self.db.atomic():
            cur = self.db.execute(
                "INSERT INTO export_batches (created_at, status, all_history, export_dir, files)"
                " VALUES (?, 'writing', ?, ?, ?)",
                [_now(), int(all_history), export_dir, json.dumps(files)],
            )
            batch = cur.lastrowid
            self.db.execute("UPDATE events SET batch_id = ? WHERE batch_id IS NULL", [batch])
            self.db.execute("UPDATE watchlist SET batch_id = ? WHERE batch_id IS NULL", [batch])
        return batch

    def set_batch_files(self, batch: int, files: list[str], rows: int) -> None:
        with self.db.atomic():
            self.db.execute(
                "UPDATE export_batches SET files = ?, rows = ? WHERE id = ?",
                [json.dumps(files), rows, batch],
            )

    def finish_batch(self, batch: int) -> None:
        with self.db.atomic():
            self.db.execute(
                "UPDATE export_batches SET status = 'done', finished_at = ? WHERE id = ?",
                [_now(), batch],
            )

    def rollback_batch(self, batch: int) -> None:
        with self.db.atomic():
            self.db.execute("UPDATE events SET batch_id = NULL WHERE batch_id = ?", [batch])
            self.db.execute("UPDATE watchlist SET batch_id = NULL WHERE batch_id = ?", [batch])
            self.db.execute(
                "UPDATE export_batches SET status = 'rolled_back', finished_at = ? WHERE id = ?",
                [_now(), batch],
            )

    def unfinished_batches(self) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT id, export_dir, files FROM export_batches WHERE status = 'writing'"
        ).fetchall()
        return [{"id": r[0], "export_dir": r[1], "files": json.loads(r[2] or "[]")} for r in rows]

    def work_ids_in_batch(self, batch: int) -> list[int]:
        return [
            r[0]
            for r in self.db.execute(
                "SELECT DISTINCT work_id FROM events WHERE batch_id = ?"
                " UNION SELECT l.work_id FROM watchlist l WHERE l.batch_id = ?"
                " AND NOT EXISTS (SELECT 1 FROM events e WHERE e.work_id = l.work_id)"
                " ORDER BY 1",
                [batch, batch],
            )
        ]

    def all_work_ids(self) -> list[int]:
        """Every work with a watch or on the watchlist."""
        return [
            r[0]
            for r in self.db.execute(
                "SELECT id FROM works w"
                " WHERE EXISTS (SELECT 1 FROM events e WHERE e.work_id = w.id)"
                " OR EXISTS (SELECT 1 FROM watchlist l WHERE l.work_id = w.id) ORDER BY id"
            )
        ]

    def export_facts(self, work_ids: list[int]) -> Iterator[dict[str, Any]]:
        """Per work: its row data and its events' (season, episode, watched_at, precision)."""
        for start in range(0, len(work_ids), 500):
            chunk = work_ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            works = {
                r[0]: r
                for r in self.db.execute(
                    "SELECT id, kind, title, year, media_type, simkl_id, tvdb_id, tmdb_id,"
                    f" imdb_id, mal_id, show_status FROM works WHERE id IN ({marks})",
                    chunk,
                )
            }
            listed = {
                r[0]
                for r in self.db.execute(
                    f"SELECT work_id FROM watchlist WHERE work_id IN ({marks})", chunk
                )
            }
            events: dict[int, list[tuple]] = {wid: [] for wid in chunk}
            for row in self.db.execute(
                "SELECT work_id, season, episode, watched_at, precision FROM events"
                f" WHERE work_id IN ({marks})",
                chunk,
            ):
                events[row[0]].append(row[1:])
            for wid in chunk:
                if wid not in works:
                    continue
                (_, kind, title, year, media_type, simkl, tvdb, tmdb, imdb, mal, status) = works[
                    wid
                ]
                yield {
                    "id": wid,
                    "kind": kind,
                    "title": title,
                    "year": year,
                    "media_type": media_type,
                    "simkl": simkl,
                    "tvdb": tvdb,
                    "tmdb": tmdb,
                    "imdb": imdb,
                    "mal": mal,
                    "show_status": status,
                    "events": events[wid],
                    "watchlist": wid in listed,
                }


def open_store(path: Path) -> Store:
    """Open (and create or migrate) the store at ``path``."""
    return Store(path)


def integrity_ok(path: Path) -> bool:
    with suppress(sqlite3.DatabaseError):
        db = sqlite_utils.Database(path)
        return db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    return False
