"""Sync runs and export batches: what ``status`` shows, and which events a CSV holds.

A batch claims every event (and watchlist title) not yet exported, and every work whose
ids changed since its last export (``works.ids_pending``), in one transaction; it is
finished once its files are renamed into place, or rolled back, which frees its events and
flags its works' ids as pending again for the next batch. Nothing is exported twice and
nothing is skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sqlite_utils.db import Database

from pv2simkl.store.connection import Connected
from pv2simkl.store.events import now
from pv2simkl.store.faults import guard

_CHUNK = 500  # ids per IN (...) list
# A work a CSV row can be written for: one with a watch or on the watchlist.
_HAS_ROW = (
    "(EXISTS (SELECT 1 FROM events e WHERE e.work_id = works.id)"
    " OR EXISTS (SELECT 1 FROM watchlist l WHERE l.work_id = works.id))"
)


def anime_entries_of(db: Database, work_ids: list[int]) -> dict[int, dict[int, dict[str, Any]]]:
    """Work id → Amazon season → its anime entry (mal, simkl, title, episodes, offset), for
    up to :data:`_CHUNK` works; a work without entries maps to ``{}``."""
    marks = ",".join("?" * len(work_ids))
    anime: dict[int, dict[int, dict[str, Any]]] = {wid: {} for wid in work_ids}
    for r in db.query(
        "SELECT work_id, season, mal_id AS mal, simkl_id AS simkl, title, episodes,"
        f' "offset" FROM anime_entries WHERE work_id IN ({marks})',
        work_ids,
    ):
        anime[r["work_id"]][r["season"]] = r
    return anime


@guard
class Batches(Connected):
    """Runs and export batches of the store."""

    # ---- runs ---------------------------------------------------------------------------

    def start_run(self, kind: str) -> int:
        return self._write(
            lambda: (
                self.db.execute(
                    "INSERT INTO runs (kind, started_at, status) VALUES (?, ?, 'running')",
                    [kind, now()],
                ).lastrowid
            )
        )

    def finish_run(self, run_id: int, status: str, summary: dict[str, Any]) -> None:
        self._write(
            lambda: self.db.execute(
                "UPDATE runs SET finished_at = ?, status = ?, summary = ? WHERE id = ?",
                [now(), status, json.dumps(summary, ensure_ascii=False), run_id],
            )
        )

    def last_runs(self, n: int = 5) -> list[dict[str, Any]]:
        rows = self.db.query(
            "SELECT kind, started_at, finished_at, status, summary FROM runs"
            " ORDER BY id DESC LIMIT ?",
            [n],
        )
        return [{**r, "summary": json.loads(r["summary"] or "{}")} for r in rows]

    # ---- export batches -----------------------------------------------------------------

    def begin_batch(self, *, export_dir: str, files: list[str], all_history: bool) -> int:
        """Create a batch and claim every event not yet exported, and every work whose ids
        changed since its last export (written again, once, with its ids), in one
        transaction."""

        def body() -> int:
            batch = self.db.execute(
                "INSERT INTO export_batches (created_at, status, all_history, export_dir, files)"
                " VALUES (?, 'writing', ?, ?, ?)",
                [now(), int(all_history), export_dir, json.dumps(files)],
            ).lastrowid
            self.db.execute("UPDATE events SET batch_id = ? WHERE batch_id IS NULL", [batch])
            self.db.execute("UPDATE watchlist SET batch_id = ? WHERE batch_id IS NULL", [batch])
            self.db.execute(
                "UPDATE works SET ids_batch_id = ?, ids_pending = 0"
                f" WHERE ids_pending = 1 AND {_HAS_ROW}",
                [batch],
            )
            return batch

        return self._write(body)

    def set_batch_files(self, batch: int, files: list[str], rows: int) -> None:
        self._write(
            lambda: self.db.execute(
                "UPDATE export_batches SET files = ?, rows = ? WHERE id = ?",
                [json.dumps(files), rows, batch],
            )
        )

    def finish_batch(self, batch: int) -> None:
        self._write(
            lambda: self.db.execute(
                "UPDATE export_batches SET status = 'done', finished_at = ? WHERE id = ?",
                [now(), batch],
            )
        )

    def rollback_batch(self, batch: int) -> None:
        """Release what ``batch`` claimed: its events and watchlist titles are unexported
        again, and the works it was to write for their new ids wait for the next batch."""

        def body() -> None:
            self.db.execute("UPDATE events SET batch_id = NULL WHERE batch_id = ?", [batch])
            self.db.execute("UPDATE watchlist SET batch_id = NULL WHERE batch_id = ?", [batch])
            self.db.execute("UPDATE works SET ids_pending = 1 WHERE ids_batch_id = ?", [batch])
            self.db.execute(
                "UPDATE export_batches SET status = 'rolled_back', finished_at = ? WHERE id = ?",
                [now(), batch],
            )

        self._write(body)

    def unfinished_batches(self) -> list[dict[str, Any]]:
        rows = self.db.query(
            "SELECT id, export_dir, files FROM export_batches WHERE status = 'writing'"
        )
        return [{**r, "files": json.loads(r["files"] or "[]")} for r in rows]

    def work_ids_in_batch(self, batch: int) -> list[int]:
        """The works ``batch`` writes a row for: new events, new watchlist titles never
        watched, and works whose ids changed since their last export."""
        rows = self.db.query(
            "SELECT DISTINCT work_id FROM events WHERE batch_id = ?"
            " UNION SELECT l.work_id FROM watchlist l WHERE l.batch_id = ?"
            " AND NOT EXISTS (SELECT 1 FROM events e WHERE e.work_id = l.work_id)"
            " UNION SELECT id FROM works WHERE ids_batch_id = ?"
            " ORDER BY 1",
            [batch, batch, batch],
        )
        return [r["work_id"] for r in rows]

    def all_work_ids(self) -> list[int]:
        """Every work with a watch or on the watchlist."""
        rows = self.db.query(
            "SELECT id FROM works w"
            " WHERE EXISTS (SELECT 1 FROM events e WHERE e.work_id = w.id)"
            " OR EXISTS (SELECT 1 FROM watchlist l WHERE l.work_id = w.id) ORDER BY id"
        )
        return [r["id"] for r in rows]

    def export_facts(self, work_ids: list[int]) -> Iterator[dict[str, Any]]:
        """Per work: its row data, its events' (season, episode, watched_at, precision),
        whether it is on the watchlist, and ``anime``: the MAL/Simkl entry of each season
        (season → entry row) for a show resolved as anime."""
        for start in range(0, len(work_ids), _CHUNK):
            chunk = work_ids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            works = {
                r["id"]: r
                for r in self.db.query(
                    "SELECT id, kind, title, year, media_type, simkl_id AS simkl,"
                    " tvdb_id AS tvdb, tmdb_id AS tmdb, imdb_id AS imdb, mal_id AS mal,"
                    " show_status, last_aired_season, last_aired_episode"
                    f" FROM works WHERE id IN ({marks})",
                    chunk,
                )
            }
            anime = anime_entries_of(self.db, chunk)
            listed = {
                r["work_id"]
                for r in self.db.query(
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
                if wid in works:
                    yield {**works[wid], "events": events[wid], "watchlist": wid in listed,
                           "anime": anime[wid]}  # fmt: skip
