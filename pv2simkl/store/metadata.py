"""What the metadata providers said of each work: matches, pins, the unmatched, numbers.

A work's ids change only here. A save that changes any of them (or the work's type)
sets ``works.ids_pending``: the next export batch writes the work again with its new
ids, once (:mod:`pv2simkl.store.batches` claims and clears the flag). What a row needs
beyond the ids (release date, show status, last aired episode, the anime entry of each
season) is stored from the resolver's ``details``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from pv2simkl import titles
from pv2simkl.models import iso_utc, parse_iso_utc
from pv2simkl.store.connection import Connected
from pv2simkl.store.events import Unit, now
from pv2simkl.store.faults import guard
from pv2simkl.store.identity import Facts, work_key

_IDS = {"simkl": "simkl_id", "tvdb": "tvdb_id", "tmdb": "tmdb_id", "imdb": "imdb_id",
        "mal": "mal_id"}  # fmt: skip
_LOCALE = "(SELECT e.locale FROM events e WHERE e.work_id = w.id AND e.locale IS NOT NULL LIMIT 1)"
_SEASONS = (
    "(SELECT group_concat(DISTINCT e.season) FROM events e"
    " WHERE e.work_id = w.id AND e.season IS NOT NULL)"
)
_FIRST_WATCHED = "(SELECT min(e.watched_at) FROM events e WHERE e.work_id = w.id)"
# A show still airing is asked for its status and last aired episode again after this.
DETAILS_FRESH = timedelta(days=7)
# What decides a work's rows at Simkl: a change of any of these re-exports the work.
_EXPORTED = ("simkl_id", "tvdb_id", "tmdb_id", "imdb_id", "mal_id", "media_type")


def _seasons(text: str | None) -> list[int]:
    """``"2,1"`` (group_concat of the events' seasons) → ``[1, 2]``."""
    return sorted({int(part) for part in (text or "").split(",") if part.strip()})


def _show_status(details: Any, status: str | None, media_type: str | None) -> str | None:
    """The status column: ``ended`` (``released`` for a movie) when the provider says the
    work will air no more; else the status the match carried (``airing``, ``tba`` …)."""
    ended = getattr(details, "ended", None)
    if ended is True:
        return "released" if media_type == "movie" else "ended"
    if ended is False and status in (None, "ended", "released"):
        return "airing" if media_type != "movie" else "upcoming"
    return status


@guard
class Metadata(Connected):
    """Provider results, pins and the unmatched works of the store."""

    def works_to_resolve(self) -> list[dict[str, Any]]:
        """Works never matched (or unmatched last time), pinned works not yet filled, and
        matched shows whose details were never asked, or were asked over
        :data:`DETAILS_FRESH` ago while the show still aired (its ids are known: the
        resolver only asks for the details).

        Each row carries what the resolver weighs beyond the title: ``seasons`` (the
        distinct seasons of the work's events, sorted: the anime entries to find) and
        ``first_watched`` (the earliest watch, ISO UTC: a title released after it cannot
        be what was watched); ``media_type`` as pinned (or None).
        """
        rows = self.db.query(
            "SELECT w.id, w.kind, w.title, w.year, w.match_status, w.simkl_id AS simkl,"
            " w.tvdb_id AS tvdb, w.tmdb_id AS tmdb, w.imdb_id AS imdb, w.mal_id AS mal,"
            f" w.media_type, {_LOCALE} AS locale, {_SEASONS} AS seasons,"
            f" {_FIRST_WATCHED} AS first_watched"
            " FROM works w WHERE w.match_status IS NULL OR w.match_status = 'unmatched'"
            " OR (w.match_status = 'pinned' AND w.resolved_at IS NULL)"
            " OR (w.kind = 'show' AND w.match_status IN ('matched', 'pinned')"
            "     AND (w.details_at IS NULL"
            "          OR (coalesce(w.show_status, '') <> 'ended' AND w.details_at < ?)))"
            " ORDER BY w.id",
            [iso_utc(datetime.now(UTC) - DETAILS_FRESH)],
        )
        return [{**r, "seasons": _seasons(r["seasons"])} for r in rows]

    def save_resolutions(self, results: Iterable[Any]) -> None:
        """Store resolver outcomes (pv2simkl.providers.resolver.Resolution), one transaction."""
        results = list(results)
        self._write(lambda: self._save_resolutions(results, now()))

    def _save_resolutions(self, results: list[Any], when: str) -> None:
        for r in results:
            if r.matched:
                self._save_match(r, when)
            else:
                self.db.execute(
                    "UPDATE works SET match_status = 'unmatched', candidates = ?,"
                    " resolved_at = ? WHERE id = ?",
                    [json.dumps(r.candidates, ensure_ascii=False), when, r.work_id],
                )

    def _save_match(self, r: Any, when: str) -> None:
        """One matched work: its ids (flagged pending when any changed) and details.

        A pinned work keeps the type given by hand (``match --type``).
        """
        old = self._exported(r.work_id)
        if old is None:
            return  # the work went away meanwhile (refiled into a show)
        media_type = old["media_type"] if old["pinned"] and old["media_type"] else r.media_type
        new = {"simkl_id": r.ids.simkl, "tvdb_id": r.ids.tvdb, "tmdb_id": r.ids.tmdb,
               "imdb_id": r.ids.imdb, "mal_id": r.ids.mal, "media_type": media_type}  # fmt: skip
        changed = any(old[c] != new[c] for c in _EXPORTED)
        details = getattr(r, "details", None)
        self.db.execute(
            "UPDATE works SET simkl_id = ?, tvdb_id = ?, tmdb_id = ?, imdb_id = ?,"
            " mal_id = ?, media_type = ?, year = coalesce(year, ?), show_status = ?,"
            " match_score = coalesce(?, match_score), match_provider = coalesce(?, match_provider),"
            " match_status = CASE WHEN match_status = 'pinned' THEN 'pinned'"
            " ELSE 'matched' END, candidates = NULL, resolved_at = ?, details_at = ?,"
            " ids_pending = CASE WHEN ? THEN 1 ELSE ids_pending END WHERE id = ?",
            [*new.values(), r.year, _show_status(details, r.status, media_type), r.score,
             r.provider, when, when, changed, r.work_id],
        )  # fmt: skip
        if details is not None:
            self._save_details(r.work_id, details)

    def _exported(self, work_id: int) -> dict[str, Any] | None:
        """The columns that decide a work's rows at Simkl, and whether it is pinned."""
        rows = list(
            self.db.query(
                f"SELECT {', '.join(_EXPORTED)}, pinned FROM works WHERE id = ?", [work_id]
            )
        )
        return rows[0] if rows else None

    def _save_details(self, work_id: int, details: Any) -> None:
        """Release date, last aired episode and the anime entries (all replaced)."""
        last = details.last_aired
        self.db.execute(
            "UPDATE works SET released = coalesce(?, released), last_aired_season = ?,"
            " last_aired_episode = ? WHERE id = ?",
            [details.released, last[0] if last else None, last[1] if last else None, work_id],
        )
        self.db.execute("DELETE FROM anime_entries WHERE work_id = ?", [work_id])
        for entry in details.anime_entries:
            self.db.execute(
                "INSERT OR REPLACE INTO anime_entries (work_id, season, mal_id, simkl_id,"
                " title, episodes, offset) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [work_id, entry.season, entry.mal, entry.simkl, entry.title, entry.episodes,
                 entry.offset],
            )  # fmt: skip

    def anime_entries(self, work_id: int) -> list[dict[str, Any]]:
        """The stored anime entries of a work, by season."""
        return list(
            self.db.query(
                "SELECT season, mal_id, simkl_id, title, episodes, offset FROM anime_entries"
                " WHERE work_id = ? ORDER BY season",
                [work_id],
            )
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

    def pin(
        self, work_id: int, ids: dict[str, Any], media_type: str | None,
        year: int | None = None,
    ) -> bool:  # fmt: skip
        """Ids set by hand, kept by every later run; True when what the work exports changed.

        The first pin of a work overrides the provider's match: its ids are the given ones
        only (a wrong match's ids must not stay beside them). Later pins add: an id for a
        service replaces only that service's id, the others stay. ``media_type`` and
        ``year`` are set when given; given alone (no id) on a work not pinned, they drop
        its match, and the next ``enrich`` looks it up again with them. The next ``enrich``
        fills the ids still missing; the next export writes the work again when its ids,
        type or year changed.
        """
        return self._write(lambda: self._pin(work_id, ids, media_type, year))

    def _pin(
        self, work_id: int, ids: dict[str, Any], media_type: str | None, year: int | None
    ) -> bool:
        old = self._exported(work_id)
        if old is None:
            return False
        given = {column: ids.get(name) for name, column in _IDS.items() if ids.get(name)}
        if old["pinned"]:
            new = {c: old[c] for c in _EXPORTED}
            new.update(given)
        else:
            new = {c: given.get(c) for c in _EXPORTED}
            new["media_type"] = None
        if media_type:
            new["media_type"] = media_type
        changed = any(old[c] != new[c] for c in _EXPORTED)
        sets: dict[str, Any] = {**new, "match_status": "pinned", "pinned": 1,
                                "resolved_at": None, "candidates": None,
                                "match_provider": "pinned"}  # fmt: skip
        if not given and not old["pinned"]:
            # Only a year or a type: no pin, the next enrich looks the work up again with it.
            sets.update(match_status=None, pinned=0, match_provider=None)
        if year is not None:
            changed = changed or self._year(work_id) != year
            sets["year"] = year
        if changed:
            sets["ids_pending"] = 1
        assignments = ", ".join(f"{c} = ?" for c in sets)
        self.db.execute(f"UPDATE works SET {assignments} WHERE id = ?", [*sets.values(), work_id])
        return changed

    def _year(self, work_id: int) -> int | None:
        rows = list(self.db.query("SELECT year FROM works WHERE id = ?", [work_id]))
        return rows[0]["year"] if rows else None

    def unmatched(self) -> list[dict[str, Any]]:
        rows = self.db.query(
            "SELECT id, kind, title, candidates FROM works WHERE match_status = 'unmatched'"
            " ORDER BY title"
        )
        return [{**r, "candidates": json.loads(r["candidates"] or "[]")} for r in rows]

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
