"""What the metadata providers said of each work: matches, pins, the unmatched, numbers.

A work's ids change only here; a change that alters what a work exports clears its
events' batch, so the next delta writes it again, once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from pv2simkl import titles
from pv2simkl.identity import Facts, work_key
from pv2simkl.models import parse_iso_utc
from pv2simkl.store.connection import Connected
from pv2simkl.store.events import Unit, now
from pv2simkl.store.faults import guard

_IDS = {"simkl": "simkl_id", "tvdb": "tvdb_id", "tmdb": "tmdb_id", "imdb": "imdb_id",
        "mal": "mal_id"}  # fmt: skip
_LOCALE = "(SELECT e.locale FROM events e WHERE e.work_id = w.id AND e.locale IS NOT NULL LIMIT 1)"


@guard
class Metadata(Connected):
    """Provider results, pins and the unmatched works of the store."""

    def works_to_resolve(self) -> list[dict[str, Any]]:
        """Works never matched (or unmatched last time), and pinned works not yet filled."""
        return list(
            self.db.query(
                "SELECT w.id, w.kind, w.title, w.year, w.match_status, w.simkl_id AS simkl,"
                " w.tvdb_id AS tvdb, w.tmdb_id AS tmdb, w.imdb_id AS imdb, w.mal_id AS mal,"
                f" {_LOCALE} AS locale"
                " FROM works w WHERE w.match_status IS NULL OR w.match_status = 'unmatched'"
                " OR (w.match_status = 'pinned' AND w.resolved_at IS NULL) ORDER BY w.id"
            )
        )

    def save_resolutions(self, results: Iterable[Any]) -> None:
        """Store resolver outcomes (pv2simkl.providers.resolver.Resolution), one transaction."""
        results = list(results)
        self._write(lambda: self._save_resolutions(results, now()))

    def _save_resolutions(self, results: list[Any], when: str) -> None:
        for r in results:
            if r.matched:
                self.db.execute(
                    "UPDATE works SET simkl_id = ?, tvdb_id = ?, tmdb_id = ?, imdb_id = ?,"
                    " mal_id = ?, media_type = ?, year = coalesce(year, ?), show_status = ?,"
                    " match_score = ?, match_provider = coalesce(?, match_provider),"
                    " match_status = CASE WHEN match_status = 'pinned' THEN 'pinned'"
                    " ELSE 'matched' END, candidates = NULL, resolved_at = ? WHERE id = ?",
                    [r.ids.simkl, r.ids.tvdb, r.ids.tmdb, r.ids.imdb, r.ids.mal,
                     r.media_type, r.year, r.status, r.score, r.provider, when, r.work_id],
                )  # fmt: skip
            else:
                self.db.execute(
                    "UPDATE works SET match_status = 'unmatched', candidates = ?,"
                    " resolved_at = ? WHERE id = ?",
                    [json.dumps(r.candidates, ensure_ascii=False), when, r.work_id],
                )

    def unmatched_movies(self) -> list[dict[str, Any]]:
        """Movies no provider matched whose title holds an unspaced hyphen (``X-Y``)."""
        return list(
            self.db.query(
                f"SELECT w.id, w.title, {_LOCALE} AS locale FROM works w WHERE w.kind = 'movie'"
                " AND w.match_status = 'unmatched' AND w.title GLOB '*[^ ]-[^ ]*' ORDER BY w.id"
            )
        )

    def refile_as_episodes(
        self, movie_id: int, show: str, season: int | None, episode_title: str
    ) -> int:
        """Move a movie's watches to ``show`` as episode ``episode_title``; returns the show's
        work id. A watch the show already holds (the same episode, seen by another source)
        fills that one in; the others move. They export again (as the show's); the movie
        work is removed."""
        return self._write(lambda: self._refile(movie_id, show, season, episode_title))

    def _refile(self, movie_id: int, show: str, season: int | None, episode_title: str) -> int:
        unit = Unit(self.db)
        key = work_key("episode", show)
        show_id = unit.work("episode", show, None, key)
        watches = self.db.query(
            "SELECT id, watched_at, precision, gti FROM events WHERE work_id = ? ORDER BY id",
            [movie_id],
        )
        for row in list(watches):
            facts = Facts(work=key, kind="episode", season=season, episode=None,
                          episode_title=episode_title, gti=row["gti"],
                          watched_at=parse_iso_utc(row["watched_at"]),
                          precision=row["precision"])  # fmt: skip
            found = unit.resolve(show_id, facts)
            if found is not None:
                keep, absorbed = found
                unit.absorb(show_id, keep, absorbed)
                unit.merge(show_id, keep, facts)
                self.db.execute("DELETE FROM events WHERE id = ?", [row["id"]])
                continue
            self.db.execute(
                "UPDATE events SET work_id = ?, kind = 'episode', season = ?,"
                " episode_title = ?, batch_id = NULL WHERE id = ?",
                [show_id, season, episode_title, row["id"]],
            )
            unit.adopt(show_id, row["id"], facts)
        self.db.execute(
            "UPDATE OR IGNORE watchlist SET work_id = ? WHERE work_id = ?", [show_id, movie_id]
        )
        self.db.execute("DELETE FROM watchlist WHERE work_id = ?", [movie_id])
        self.db.execute("DELETE FROM works WHERE id = ?", [movie_id])
        return show_id

    def find_works(self, title: str) -> list[dict[str, Any]]:
        """Works whose normalised title equals that of ``title`` (movie and show alike)."""
        key = titles.identity_key(title)
        return list(
            self.db.query(
                "SELECT id, kind, title FROM works WHERE key IN (?, ?)",
                [f"movie:{key}", f"show:{key}"],
            )
        )

    def pin(self, work_id: int, ids: dict[str, Any], media_type: str | None) -> None:
        """Ids set by hand: kept by every later run; the other ids are filled next enrich."""
        sets: dict[str, Any] = {column: ids.get(name) for name, column in _IDS.items()}
        sets.update(match_status="pinned", pinned=1, resolved_at=None, candidates=None,
                    match_provider="pinned")  # fmt: skip
        if media_type:
            sets["media_type"] = media_type
        assignments = ", ".join(f"{c} = ?" for c in sets)

        def body() -> None:
            # Pinned ids replace what a provider had said.
            self.db.execute(
                f"UPDATE works SET {assignments} WHERE id = ?", [*sets.values(), work_id]
            )
            # Their rows must be written again with the right ids.
            self.db.execute("UPDATE events SET batch_id = NULL WHERE work_id = ?", [work_id])

        self._write(body)

    def unmatched(self) -> list[dict[str, Any]]:
        rows = self.db.query(
            "SELECT id, kind, title, candidates FROM works WHERE match_status = 'unmatched'"
            " ORDER BY title"
        )
        return [{**r, "candidates": json.loads(r["candidates"] or "[]")} for r in rows]

    def match_counts(self) -> dict[str, int]:
        rows = self.db.query(
            "SELECT coalesce(match_status, 'new') AS status, count(*) AS n FROM works GROUP BY 1"
        )
        return {r["status"]: r["n"] for r in rows}

    def episodes_without_numbers(self) -> list[dict[str, Any]]:
        """(work, season) pairs of shows with ids whose episodes are known by title only."""
        rows = self.db.query(
            "SELECT w.id AS work_id, w.simkl_id AS simkl, w.tmdb_id AS tmdb,"
            " w.tvdb_id AS tvdb, e.season, e.id AS event_id, e.episode_title"
            " FROM events e JOIN works w ON w.id = e.work_id"
            " WHERE e.kind = 'episode' AND e.episode IS NULL AND e.episode_title IS NOT NULL"
            " AND e.season IS NOT NULL AND (w.simkl_id IS NOT NULL OR w.tmdb_id IS NOT NULL)"
            " ORDER BY w.id, e.season"
        )
        groups: dict[tuple[int, int], dict[str, Any]] = {}
        for r in rows:
            group = groups.setdefault(
                (r["work_id"], r["season"]),
                {"work_id": r["work_id"], "season": r["season"], "simkl": r["simkl"],
                 "tmdb": r["tmdb"], "tvdb": r["tvdb"], "events": []},
            )  # fmt: skip
            group["events"].append((r["event_id"], r["episode_title"]))
        return list(groups.values())

    def set_episode_numbers(self, numbers: list[tuple[int, int]]) -> int:
        """(event id, episode number) pairs; the events are exported again with them. An
        event that would then repeat another stored observation exactly is left as it is."""

        def body() -> None:
            for eid, number in numbers:
                self.db.execute(
                    "UPDATE OR IGNORE events SET episode = ?, batch_id = NULL"
                    " WHERE id = ? AND episode IS NULL",
                    [number, eid],
                )

        self._write(body)
        return len(numbers)
