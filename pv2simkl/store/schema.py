"""The store's schema, through named migrations (``sqlite_utils.Migrations``).

A pending migration runs in one ``BEGIN IMMEDIATE`` transaction, so two processes opening
an old store at once migrate it once; the file is copied beside itself first
(``<store>.before-<migration>.bak``, SQLite's backup API) and can be restored from there.
Migration names are kept forever: a store records which it has seen.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlite_utils.db import Database
from sqlite_utils.migrations import Migrations

from pv2simkl.store import connection

log = logging.getLogger(__name__)
migrations = Migrations("pv2simkl")

# One observation of one episode or movie is stored once: no two rows of a work share the
# instant and every identifying field. Writers find matches by the identity rule inside
# their write transaction; this key is what the database itself refuses.
WATCH_KEY = (
    "work_id, watched_at, coalesce(season, -1), coalesce(episode, -1),"
    " coalesce(episode_title, ''), coalesce(gti, '')"
)


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


@migrations()
def m005_identity_by_instant(db: Database) -> None:
    """Identity by instant, enforced by the database.

    The events already stored are read again through today's rule, in the order they
    were stored, as one sequential import would: watches split by the old UTC-day rule
    (ten minutes apart across 00:00 UTC) and duplicates two processes stored at once
    become one event, filled in from the others. Then the watch key (one row per
    observation) replaces the (work, UTC day) index: its leading (work, instant) columns
    serve the lookups of the rule.
    """
    from pv2simkl.store.events import replay_identity

    _add_spans(db)  # today's rule reads them (m006 adds them to stores past this one)
    replay_identity(db)
    db.execute("DROP INDEX IF EXISTS idx_events_work_id_day")
    db.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS events_watch ON events ({WATCH_KEY})")


@migrations()
def m006_watch_spans(db: Database) -> None:
    """The span of instants each watch was observed at (``first_at`` … ``last_at``).

    Two observations are one watch when either is close to the other *or to anything
    already known to be that watch*, so the events a set of files gives do not depend on
    the order they were read in (see :mod:`pv2simkl.store.identity`). A date-only observation
    (``day`` precision) spans its own noon instant until a finer one replaces it.
    """
    _add_spans(db)


def _add_spans(db: Database) -> None:
    if "first_at" in db["events"].columns_dict:
        return
    db["events"].add_column("first_at", str)
    db["events"].add_column("last_at", str)
    db.execute("UPDATE events SET first_at = watched_at, last_at = watched_at")


@migrations()
def m007_what_reaches_simkl(db: Database) -> None:
    """What a Simkl row needs beyond a work's ids.

    * ``works.ids_pending``: 1 when the work's ids changed (found by ``enrich``, pinned by
      ``match``) since its last export; the next export batch writes the work again with
      them and records itself in ``works.ids_batch_id`` (a rollback sets the flag again).
    * ``works.last_aired_season`` / ``last_aired_episode``: the provider's last aired
      episode of a show, for ``completed``; ``works.released`` (ISO date): when the movie
      was released or the show first aired.
    * ``anime_entries``: for a show resolved as anime, the MAL/Simkl entry holding each
      Amazon season: the entry's ids and title, its episode count, and ``offset``, the
      number of the entry's episodes before this season's first (an entry spanning several
      Amazon seasons numbers its episodes across them: entry episode = offset + episode).
    """
    works = db["works"]
    works.add_column("ids_pending", int)
    works.add_column("ids_batch_id", int)
    works.add_column("last_aired_season", int)
    works.add_column("last_aired_episode", int)
    works.add_column("released", str)
    db["anime_entries"].create(
        {
            "work_id": int,
            "season": int,
            "mal_id": int,
            "simkl_id": int,
            "title": str,
            "episodes": int,
            "offset": int,
        },
        pk=("work_id", "season"),
        foreign_keys=[("work_id", "works", "id")],
    )


@migrations()
def m008_details_at(db: Database) -> None:
    """When a matched work's details (status, last aired episode, anime entries) were last
    asked: a show matched before they were kept, or one still airing a week later, is asked
    again by the next ``enrich`` (its ids are known: no search)."""
    db["works"].add_column("details_at", str)


@migrations()
def m009_pushes(db: Database) -> None:
    """What reached Simkl through its API (``pv2simkl push``), per event, exactly once.

    * ``events.push_id`` / ``pushed_at``: the push that delivered this watch (NULL: not yet).
    * ``pushes``: one row per ``POST /sync/history``, recorded ``in_flight`` (with its
      exact body) *before* it is sent, ``done`` once Simkl's reply is stored; a push still
      in flight at start is checked against what Simkl holds (``recovered``).
    * ``push_items``: the events a push carries, each with the item key it was sent under
      (ids, title, year) and the play (season, number, watched_at) as sent.
    * ``push_not_found``: events Simkl answered ``not_found``, with the reason and the key
      they were sent under; sent again once ``match``/``enrich`` change that key.
    * A trigger keeps a pushed watch pushed when the identity rule merges its event into
      another (the nearest unpushed event of the same work and episode takes it over), so
      a merge never makes a watch that Simkl holds look new.
    """
    db["events"].add_column("push_id", int)
    db["events"].add_column("pushed_at", str)
    db["events"].create_index(["push_id"])
    db["pushes"].create(
        {"id": int, "created_at": str, "finished_at": str, "state": str, "all_history": int,
         "plays": int, "added": int, "not_found": int, "body": str},
        pk="id",
    )  # fmt: skip
    db["push_items"].create(
        {"push_id": int, "event_id": int, "bucket": str, "item_key": str, "play": str},
        pk=("push_id", "event_id"),
        foreign_keys=[("push_id", "pushes", "id")],
    )
    db["push_not_found"].create(
        {"event_id": int, "push_id": int, "item_key": str, "reason": str, "at": str},
        pk="event_id",
    )
    db.execute(
        """CREATE TRIGGER IF NOT EXISTS events_push_survives_merge
        AFTER DELETE ON events WHEN OLD.push_id IS NOT NULL
        BEGIN
          UPDATE events SET push_id = OLD.push_id, pushed_at = OLD.pushed_at
          WHERE id = (
            SELECT id FROM events
            WHERE work_id = OLD.work_id AND push_id IS NULL
              AND (season IS OLD.season OR season IS NULL OR OLD.season IS NULL)
              AND (episode IS OLD.episode OR episode IS NULL OR OLD.episode IS NULL)
              AND abs(day - OLD.day) <= 2
            ORDER BY abs(day - OLD.day), id LIMIT 1);
        END"""
    )


def migrate(db: Database, path: Path) -> None:
    """Apply pending migrations, once whatever the number of processes opening the store;
    an existing store is copied beside itself first."""
    pending = migrations.pending(db)
    if not pending:
        return
    if db["works"].exists():
        copy = path.with_name(f"{path.name}.before-{pending[0].name}.bak")
        connection.backup(db, copy)
        log.info(
            "The store is being brought up to date (%s); a copy of it as it was is %s "
            "(`pv2simkl store restore %s` goes back to it).",
            ", ".join(m.name for m in pending), copy, copy,
        )  # fmt: skip

    def apply() -> None:
        if migrations.pending(db):  # another process may have migrated meanwhile
            migrations.apply(db)

    connection.write(db, apply)
