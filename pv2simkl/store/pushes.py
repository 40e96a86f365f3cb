"""Pushes to Simkl's API: which events reached Simkl, and the push in flight.

A push is recorded ``in_flight`` with its exact items *before* its ``POST`` leaves
(:meth:`Pushes.begin_push`), and finished in one transaction once the reply is in
(:meth:`Pushes.finish_push`: the events Simkl added are marked pushed, those it did not
find are kept with the reason). A push a crash left in flight is settled by
:meth:`Pushes.settle_push` once Simkl was asked what it holds: its events Simkl holds are
marked pushed, the others are released for the next push. So each event is marked pushed
exactly when Simkl holds its watch, whatever instant a process dies at.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from pv2simkl.store.batches import anime_entries_of
from pv2simkl.store.connection import Connected
from pv2simkl.store.events import now
from pv2simkl.store.faults import guard

_CHUNK = 500  # ids per IN (...) list


def _chunks(items: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


@guard
class Pushes(Connected):
    """Push batches of the store."""

    # ---- what to push -------------------------------------------------------------------

    def push_facts(self, *, all_history: bool = False) -> Iterator[dict[str, Any]]:
        """Per work with a watch to push: its ids and details, ``anime`` (season → MAL/Simkl
        entry), and ``events``: (event id, season, episode, watched_at, the item key Simkl
        answered ``not_found`` to, or None). Events already pushed are left out (unless
        ``all_history``), as are events of a push still in flight."""
        pushed = "" if all_history else " AND e.push_id IS NULL"
        rows = self.db.execute(
            "SELECT e.work_id, e.id, e.season, e.episode, e.watched_at, n.item_key"
            " FROM events e LEFT JOIN push_not_found n ON n.event_id = e.id"
            " WHERE NOT EXISTS (SELECT 1 FROM push_items i JOIN pushes p ON p.id = i.push_id"
            f"   WHERE i.event_id = e.id AND p.state = 'in_flight'){pushed}"
            " ORDER BY e.work_id, e.watched_at, e.id"
        ).fetchall()
        events: dict[int, list[tuple]] = {}
        for row in rows:
            events.setdefault(row[0], []).append(tuple(row[1:]))
        for chunk in _chunks(list(events)):
            marks = ",".join("?" * len(chunk))
            works = self.db.query(
                "SELECT id, kind, title, year, media_type, simkl_id AS simkl, tvdb_id AS tvdb,"
                " tmdb_id AS tmdb, imdb_id AS imdb, mal_id AS mal"
                f" FROM works WHERE id IN ({marks}) ORDER BY id",
                chunk,
            )
            anime = anime_entries_of(self.db, chunk)
            for work in works:
                yield {**work, "events": events[work["id"]], "anime": anime[work["id"]]}

    # ---- one push -----------------------------------------------------------------------

    def begin_push(
        self, items: list[tuple[int, str, str, dict[str, Any]]], body: dict[str, Any],
        *, all_history: bool = False,
    ) -> int:  # fmt: skip
        """Record a push as in flight with its ``items`` (event id, bucket, item key, the
        play as sent) and its exact ``body``, before it is sent. Returns its id."""

        def write() -> int:
            push = self.db.execute(
                "INSERT INTO pushes (created_at, state, all_history, plays, body)"
                " VALUES (?, 'in_flight', ?, ?, ?)",
                [now(), int(all_history), len(items), json.dumps(body, ensure_ascii=False)],
            ).lastrowid
            self.db.conn.executemany(
                "INSERT INTO push_items (push_id, event_id, bucket, item_key, play)"
                " VALUES (?, ?, ?, ?, ?)",
                [(push, eid, bucket, key, json.dumps(play)) for eid, bucket, key, play in items],
            )
            return push

        return self._write(write)

    def finish_push(self, push: int, not_found: dict[int, str]) -> tuple[int, int]:
        """Simkl's reply is in: every event of ``push`` not in ``not_found`` (event id →
        reason) is marked pushed; those are kept as not found. Returns (added, not found)."""

        def write() -> tuple[int, int]:
            return self._settle(push, "done", not_found=not_found)

        return self._write(write)

    def settle_push(self, push: int, held: Iterable[int]) -> tuple[int, int]:
        """A push found in flight after a crash: the events whose watch Simkl holds
        (``held``) are marked pushed, the rest are released to be sent again. Returns
        (marked, released)."""
        keep = set(held)

        def write() -> tuple[int, int]:
            return self._settle(push, "recovered", held=keep)

        return self._write(write)

    def _settle(
        self, push: int, state: str, *, not_found: dict[int, str] | None = None,
        held: set[int] | None = None,
    ) -> tuple[int, int]:  # fmt: skip
        row = self.db.execute("SELECT state FROM pushes WHERE id = ?", [push]).fetchone()
        if row is None or row[0] != "in_flight":
            return 0, 0  # settled by another process meanwhile
        when = now()
        items = self.db.execute(
            "SELECT event_id, item_key FROM push_items WHERE push_id = ?", [push]
        ).fetchall()
        if held is None:
            missing = not_found or {}
            added = [eid for eid, _ in items if eid not in missing]
        else:
            missing = {}
            added = [eid for eid, _ in items if eid in held]
        for chunk in _chunks(added):
            marks = ",".join("?" * len(chunk))
            self.db.execute(
                f"UPDATE events SET push_id = ?, pushed_at = ? WHERE id IN ({marks})",
                [push, when, *chunk],
            )
            self.db.execute(f"DELETE FROM push_not_found WHERE event_id IN ({marks})", chunk)
        self.db.conn.executemany(
            "INSERT OR REPLACE INTO push_not_found (event_id, push_id, item_key, reason, at)"
            " VALUES (?, ?, ?, ?, ?)",
            [(eid, push, key, missing[eid], when) for eid, key in items if eid in missing],
        )
        self.db.execute(
            "UPDATE pushes SET state = ?, finished_at = ?, added = ?, not_found = ? WHERE id = ?",
            [state, when, len(added), len(missing), push],
        )
        return len(added), len(items) - len(added)

    def in_flight_pushes(self) -> list[dict[str, Any]]:
        """Pushes recorded but never settled (the process died around their POST), each
        with ``items``: (event id, bucket, item key, play as sent)."""
        out = []
        for push in self.db.query(
            "SELECT id, created_at, body FROM pushes WHERE state = 'in_flight' ORDER BY id"
        ):
            items = [
                (r[0], r[1], r[2], json.loads(r[3]))
                for r in self.db.execute(
                    "SELECT event_id, bucket, item_key, play FROM push_items WHERE push_id = ?",
                    [push["id"]],
                )
            ]
            out.append({**push, "body": json.loads(push["body"] or "{}"), "items": items})
        return out

    # ---- what status and push show ------------------------------------------------------

    def push_counts(self) -> dict[str, Any]:
        """Events pushed, events waiting, kept as not found, pushes in flight, and the
        last finished push (or None)."""
        row = self.db.execute(
            "SELECT (SELECT count(*) FROM events WHERE push_id IS NOT NULL),"
            " (SELECT count(*) FROM events WHERE push_id IS NULL),"
            " (SELECT count(*) FROM push_not_found n JOIN events e ON e.id = n.event_id"
            "   WHERE e.push_id IS NULL),"
            " (SELECT count(*) FROM pushes WHERE state = 'in_flight')"
        ).fetchone()
        last = next(
            self.db.query(
                "SELECT id, created_at, finished_at, state, plays, added, not_found FROM pushes"
                " WHERE state != 'in_flight' ORDER BY id DESC LIMIT 1"
            ),
            None,
        )
        return {"pushed": row[0], "waiting": row[1], "not_found": row[2], "in_flight": row[3],
                "last": last}  # fmt: skip

    def not_found_list(self) -> list[dict[str, Any]]:
        """Watches Simkl did not find, per title: how many, the reason, the key they were
        sent under."""
        return list(
            self.db.query(
                "SELECT w.title, w.year, n.reason, n.item_key, count(*) AS events"
                " FROM push_not_found n JOIN events e ON e.id = n.event_id"
                " JOIN works w ON w.id = e.work_id WHERE e.push_id IS NULL"
                " GROUP BY w.id, n.item_key ORDER BY w.title"
            )
        )
