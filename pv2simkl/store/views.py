"""What ``status`` and ``history`` read: plain ``sqlite3`` queries, nothing written.

``status`` must answer at once, on a store of years of history, while the daemon writes:
every figure is a ``count(*)`` an index serves or a read of the newest rows of a small table
(runs, imports, export batches, pushes), and the module imports nothing but the standard
library, so ``pv2simkl status`` does not pay for the store's writing machinery. A store
that does not exist yet is read as empty (and not created); one whose schema is older than
these queries is opened through :class:`pv2simkl.store.Store` (which brings it up to date)
by the caller.

Instants are stored as UTC text (``2024-04-23T19:12:38.433Z``, one format everywhere), so
they compare and sort as text; :func:`instant` turns one into an aware ``datetime``.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

RUNS_SHOWN = 8  # activities `status` lists, newest first
_LOOK_BACK = 40  # newest rows of each table read to find them


def instant(text: str | None) -> datetime | None:
    """A stored UTC text instant as an aware ``datetime`` (None stays None)."""
    if not text:
        return None
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def stored(value: datetime) -> str:
    """An aware instant in the store's text form (what :func:`instant` reads back)."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def local_iso(value: datetime | str | None) -> str | None:
    """ISO 8601 in local time with its offset, to the second (``2026-11-29T21:04:00+01:00``)."""
    if isinstance(value, str):
        value = instant(value)
    if value is None:
        return None
    return value.astimezone().replace(microsecond=0).isoformat()


# ---- opening ------------------------------------------------------------------------------


# The newest migration of pv2simkl.store.schema (a test holds the two equal): a store that
# has not run it is brought up to date before it is read, without loading sqlite_utils for
# the stores that are current.
LATEST_MIGRATION = "m009_pushes"


def connect(path: Path) -> sqlite3.Connection | None:
    """A connection that only reads ``path``; None when there is no store there yet. A store
    written by an older pv2simkl is migrated first (as opening it to write would), so that
    what is read is what the identity rule of today says."""
    if not path.is_file() or path.stat().st_size == 0:
        return None
    conn = _reader(path)
    if _current(conn):
        return conn
    conn.close()
    from pv2simkl.store import open_store

    open_store(path).close()
    return _reader(path)


def _reader(path: Path) -> sqlite3.Connection:
    uri = "file:" + path.resolve().as_posix().replace("?", "%3f").replace("#", "%23")
    conn = sqlite3.connect(uri, uri=True, timeout=30.0, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA query_only = ON")
    return conn


def _current(conn: sqlite3.Connection) -> bool:
    try:
        row = conn.execute(
            "SELECT 1 FROM _sqlite_migrations WHERE migration_set = 'pv2simkl' AND name = ?",
            [LATEST_MIGRATION],
        ).fetchone()
    except sqlite3.DatabaseError:  # no such table (older, or not a store): open_store says
        return False
    return row is not None


# ---- counts -------------------------------------------------------------------------------


def counts(conn: sqlite3.Connection) -> dict[str, int]:
    """Watches, titles, watches not in an export batch, titles whose ids the next export
    sends again, watches not pushed, kept as *not found* at Simkl, pushes in flight."""
    row = conn.execute(
        "SELECT (SELECT count(*) FROM events),"
        " (SELECT count(*) FROM works),"
        " (SELECT count(*) FROM events WHERE batch_id IS NULL),"
        " (SELECT count(*) FROM works w WHERE w.ids_pending = 1"
        "  AND (EXISTS (SELECT 1 FROM events e WHERE e.work_id = w.id)"
        "       OR EXISTS (SELECT 1 FROM watchlist l WHERE l.work_id = w.id))),"
        " (SELECT count(*) FROM events WHERE push_id IS NULL),"
        " (SELECT count(*) FROM push_not_found n JOIN events e ON e.id = n.event_id"
        "   WHERE e.push_id IS NULL),"
        " (SELECT count(*) FROM pushes WHERE state = 'in_flight')"
    ).fetchone()
    names = ("events", "works", "unexported", "ids_pending", "not_pushed", "not_found",
             "in_flight")  # fmt: skip
    return dict(zip(names, row, strict=True))


def match_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """Titles by match state: ``matched``, ``pinned``, ``unmatched``, ``new`` (not looked up)."""
    rows = conn.execute(
        "SELECT coalesce(match_status, 'new'), count(*) FROM works GROUP BY 1 ORDER BY 1"
    )
    return {state: n for state, n in rows}


def last_push(conn: sqlite3.Connection) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT created_at, finished_at, state, plays, added, not_found FROM pushes"
        " WHERE state != 'in_flight' ORDER BY id DESC LIMIT 1"
    ).fetchone()
    if row is None:
        return None
    return {"started": local_iso(row["created_at"]), "finished": local_iso(row["finished_at"]),
            "status": row["state"], "sent": row["plays"], "added": row["added"],
            "not_found": row["not_found"]}  # fmt: skip


# ---- what the last runs did ---------------------------------------------------------------


@dataclass
class Activity:
    """One thing pv2simkl did, as ``status`` lists it (see README, "Status")."""

    kind: str  # sync | fetch | inbox | import | export | push
    started: str  # stored UTC text (sorts as text)
    finished: str | None
    status: str
    name: str | None = None
    by: str | None = None  # a sync: "daemon" (scheduled) or "command"
    fetched: int | None = None
    new_watches: int | None = None
    inbox_taken: int | None = None
    inbox_failed: int | None = None
    csvs: int | None = None
    rows: int | None = None
    pushed: int | None = None
    not_found: int | None = None
    errors: tuple[str, ...] = ()

    def public(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "by": self.by, "name": self.name,
            "started": local_iso(self.started), "finished": local_iso(self.finished),
            "status": self.status, "fetched": self.fetched, "new_watches": self.new_watches,
            "inbox_taken": self.inbox_taken, "inbox_failed": self.inbox_failed,
            "csvs": self.csvs, "rows": self.rows, "pushed": self.pushed,
            "not_found": self.not_found, "errors": list(self.errors),
        }  # fmt: skip


def _syncs(conn: sqlite3.Connection) -> list[Activity]:
    out = []
    for r in conn.execute(
        "SELECT kind, started_at, finished_at, status, summary FROM runs ORDER BY id DESC LIMIT ?",
        [_LOOK_BACK],
    ):
        s = json.loads(r["summary"] or "{}")
        out.append(Activity(
            "sync", r["started_at"], r["finished_at"], r["status"],
            by="daemon" if r["kind"] == "scheduled" else "command",
            fetched=s.get("fetched"), new_watches=s.get("new_events"),
            inbox_taken=s.get("inbox_ok"), inbox_failed=s.get("inbox_failed"),
            csvs=len(s["csv"]) if "csv" in s else None, pushed=s.get("pushed"),
            errors=tuple(s.get("errors") or ()),
        ))  # fmt: skip
    return out


def _imports(conn: sqlite3.Connection, inbox: Path | None) -> list[Activity]:
    folders = {str(inbox), str(inbox.resolve())} if inbox else set()
    out = []
    for r in conn.execute(
        "SELECT path, source, started_at, finished_at, status, events_added, message"
        " FROM imports ORDER BY id DESC LIMIT ?",
        [_LOOK_BACK],
    ):
        path = r["path"] or ""
        if r["source"] == "api" or path.startswith("amazon:") or path == "browser":
            kind, name = "fetch", None
        elif os.path.dirname(path) in folders:  # imported from the inbox, then moved
            kind, name = "inbox", os.path.basename(path)
        else:
            kind, name = "import", path
        status = {"done": "ok", "partial": "partial"}.get(r["status"], r["status"])
        out.append(Activity(
            kind, r["started_at"], r["finished_at"], status, name=name,
            new_watches=r["events_added"], inbox_taken=1 if kind == "inbox" else None,
            errors=(r["message"],) if r["message"] else (),
        ))  # fmt: skip
    return out


def _inbox_failures(inbox: Path | None) -> list[Activity]:
    """Files the inbox moved to ``failed/``, dated by their ``.error.txt`` (written then)."""
    folder = inbox / "failed" if inbox else None
    if folder is None or not folder.is_dir():
        return []
    notes = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.endswith(".error.txt") and entry.is_file():
                notes.append((entry.stat().st_mtime, entry))
    out = []
    for mtime, entry in sorted(notes, key=lambda n: n[0], reverse=True)[:_LOOK_BACK]:
        try:
            reason = Path(entry.path).read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            reason = ""
        when = stored(datetime.fromtimestamp(mtime, UTC))
        name = entry.name[: -len(".error.txt")]
        out.append(Activity("inbox", when, when, "failed", name=name, inbox_taken=0,
                            inbox_failed=1, errors=(reason,) if reason else ()))  # fmt: skip
    return out


def _exports(conn: sqlite3.Connection) -> list[Activity]:
    out = []
    for r in conn.execute(
        "SELECT created_at, finished_at, status, files, rows FROM export_batches"
        " WHERE files != '[]' ORDER BY id DESC LIMIT ?",
        [_LOOK_BACK],
    ):
        status = {"done": "ok", "writing": "running", "rolled_back": "rolled back"}.get(
            r["status"], r["status"]
        )
        files = json.loads(r["files"] or "[]")
        out.append(Activity("export", r["created_at"], r["finished_at"], status,
                            csvs=len(files), rows=r["rows"]))  # fmt: skip
    return out


def _pushes(conn: sqlite3.Connection) -> list[Activity]:
    """Pushes, one activity per run of ``push``: the requests of one run follow each other
    (each is recorded when the one before it is answered), so they are grouped."""
    rows = conn.execute(
        "SELECT created_at, finished_at, state, plays, added, not_found FROM pushes"
        " ORDER BY id DESC LIMIT ?",
        [_LOOK_BACK * 4],
    ).fetchall()
    out: list[Activity] = []
    for r in reversed(rows):
        status = {"done": "ok", "in_flight": "in flight"}.get(r["state"], r["state"])
        last = out[-1] if out else None
        if last and last.finished and r["created_at"] <= _plus_seconds(last.finished, 5):
            last.finished = r["finished_at"] or last.finished
            last.pushed = (last.pushed or 0) + (r["added"] or 0)
            last.not_found = (last.not_found or 0) + (r["not_found"] or 0)
            last.rows = (last.rows or 0) + (r["plays"] or 0)
            if status != "ok":
                last.status = status
            continue
        out.append(Activity("push", r["created_at"], r["finished_at"], status, rows=r["plays"],
                            pushed=r["added"], not_found=r["not_found"]))  # fmt: skip
    out.reverse()
    return out


def _plus_seconds(text: str, seconds: float) -> str:
    value = instant(text)
    assert value is not None
    return stored(datetime.fromtimestamp(value.timestamp() + seconds, UTC))


def activity(
    conn: sqlite3.Connection | None, inbox: Path | None, *, shown: int = RUNS_SHOWN
) -> list[Activity]:
    """What the last runs did, newest first: syncs (with what their steps did), and the
    fetches, inbox files, imports, exports and pushes that ran on their own. A step that
    ran inside a sync is counted in that sync's line, not listed again."""
    syncs = _syncs(conn) if conn is not None else []
    others = _inbox_failures(inbox)
    if conn is not None:
        others += _imports(conn, inbox) + _exports(conn) + _pushes(conn)
    windows = [(s.started, s.finished or "~") for s in syncs]  # "~" sorts after any digit
    alone = [a for a in others if not any(lo <= a.started <= hi for lo, hi in windows)]
    # the same instant (a fast step, a frozen clock): a run's steps in the order they happen
    rank = {"fetch": 0, "inbox": 1, "import": 1, "export": 2, "push": 3, "sync": 4}
    everything = sorted(syncs + alone, key=lambda a: (a.started, rank[a.kind]), reverse=True)
    return everything[:shown]


def newest_csv(export_dir: Path) -> tuple[Path, float] | None:
    """The newest ``simkl-*.csv`` in the export folder, with its mtime."""
    if not export_dir.is_dir():
        return None
    best: tuple[Path, float] | None = None
    with os.scandir(export_dir) as entries:
        for entry in entries:
            name = entry.name
            if name.startswith("simkl-") and name.endswith(".csv") and entry.is_file():
                mtime = entry.stat().st_mtime
                if best is None or (mtime, name) > (best[1], best[0].name):
                    best = (Path(entry.path), mtime)
    return best


# ---- the daemon ---------------------------------------------------------------------------


def daemon(state_file: Path) -> dict[str, Any]:
    """The daemon's real state from its ``state_file`` (:attr:`pv2simkl.config.Paths.daemon_state`):
    ``running`` (its pid, next sync, inbox), ``stopped``, or ``killed`` (it left its state
    file behind: SIGKILL, a crash; ``pid`` names it)."""
    out: dict[str, Any] = {"state": "stopped", "pid": None, "next_sync": None, "inbox": None,
                           "since": None}  # fmt: skip
    try:
        state = json.loads(state_file.read_text(encoding="utf-8"))
        written = state_file.stat().st_mtime
    except (OSError, ValueError):
        return out
    if not isinstance(state, dict):
        return out
    pid = state.get("pid")
    out["pid"] = pid if isinstance(pid, int) else None
    if not daemon_alive(pid, written):
        out["state"] = "killed"
        return out
    next_run = state.get("next_run")
    try:
        next_sync = datetime.fromisoformat(next_run) if isinstance(next_run, str) else None
    except ValueError:
        next_sync = None
    out.update(state="running", next_sync=local_iso(next_sync), inbox=state.get("inbox"),
               since=local_iso(datetime.fromtimestamp(written, UTC)))  # fmt: skip
    return out


def daemon_alive(pid: object, state_written: float) -> bool:
    """Whether the daemon that wrote its state file (at ``state_written``) still runs.

    A SIGKILLed daemon leaves ``daemon.json`` behind: its pid must name a live process
    (not a zombie) that started before the file was written, or the pid was reused.
    """
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, owned by another user
    started, zombie = process_start(pid)
    if zombie:
        return False
    return started is None or started <= state_written + 1.0  # /proc/stat is to the second


def process_start(pid: int) -> tuple[float | None, bool]:
    """(start time as a Unix time, is a zombie) from Linux's /proc; (None, False) elsewhere."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
        boot = next(
            float(line.split()[1])
            for line in Path("/proc/stat").read_text(encoding="ascii").splitlines()
            if line.startswith("btime ")
        )
    except (OSError, StopIteration, ValueError, IndexError):
        return None, False
    fields = stat[stat.rfind(")") + 2 :].split()  # the name in (…) may hold spaces
    try:
        state, ticks = fields[0], int(fields[19])
    except (IndexError, ValueError):
        return None, False
    return boot + ticks / os.sysconf("SC_CLK_TCK"), state in {"Z", "X"}


# ---- history ------------------------------------------------------------------------------

HISTORY_COLUMNS = ("kind", "title", "season", "episode", "episode_title", "watched_at",
                   "precision", "source", "source_ref", "gti", "locale", "year")  # fmt: skip


def public(row: tuple) -> dict[str, Any]:
    """A row of :func:`history` in the stable form of ``WatchEvent.to_public`` (``history
    --format jsonl|csv``; the store keeps its instants in that very text form)."""
    at = row[5]
    if not at.endswith("Z"):  # written otherwise by an old version: the one form
        at = stored(instant(at))  # type: ignore[arg-type]
    return {"kind": row[0], "title": row[1], "season": row[2], "episode": row[3],
            "episode_title": row[4], "watched_at": at, "precision": row[6],
            "source": row[7], "gti": row[9]}  # fmt: skip


def since_bound(text: str) -> str:
    """``--since``: a date (its local midnight) or an ISO 8601 instant (local time when it
    has no offset), as the stored text it compares with. ValueError when it is neither."""
    text = text.strip()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T", 1))
    else:
        value = datetime.combine(day, time())
    if value.tzinfo is None:
        value = value.astimezone()  # local time
    return stored(value)


def _fold(text: str | None) -> str:
    return (text or "").casefold()


def history(
    conn: sqlite3.Connection,
    *,
    since: str | None = None,
    title: str | None = None,
    kind: str | None = None,
    limit: int | None = None,
) -> Iterator[tuple]:
    """Stored watches, oldest first, as tuples of :data:`HISTORY_COLUMNS`, filtered in SQL:
    ``since`` (stored text, see :func:`since_bound`), ``title`` (a case-insensitive part of
    the title), ``kind`` (movie or episode), ``limit`` (the newest that many)."""
    where, args = [], []
    if since:
        where.append("e.watched_at >= ?")
        args.append(since)
    if kind:
        where.append("e.kind = ?")
        args.append(kind)
    if title:
        conn.create_function("pv2simkl_fold", 1, _fold, deterministic=True)
        where.append("e.work_id IN (SELECT id FROM works WHERE instr(pv2simkl_fold(title), ?))")
        args.append(_fold(title))
    sql = (
        "SELECT e.kind, w.title, e.season, e.episode, e.episode_title, e.watched_at,"
        " e.precision, e.source, e.source_ref, e.gti, e.locale, w.year, e.id"
        " FROM events e JOIN works w ON w.id = e.work_id"
        + (" WHERE " + " AND ".join(where) if where else "")
    )
    if limit is not None:
        sql = f"SELECT * FROM ({sql} ORDER BY e.watched_at DESC, e.id DESC LIMIT ?)"
        args.append(max(limit, 0))
        sql += " ORDER BY watched_at, id"
    else:
        sql += " ORDER BY e.watched_at, e.id"
    cursor = conn.execute(sql, args)
    cursor.row_factory = None  # plain tuples, whatever the connection's factory
    for row in cursor:
        yield row[:-1]


# ---- status -------------------------------------------------------------------------------


def status(
    *, db: Path, export_dir: Path, inbox: Path | None, daemon_state: Path, push_enabled: bool,
    now: datetime | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Everything ``pv2simkl status`` shows, as ``status --json`` prints it (README, "Status").

    Reads only: a missing store is empty (and not created). A store older than these
    queries is brought up to date first (:func:`pv2simkl.store.open_store`)."""
    now = now or datetime.now(UTC)
    conn = connect(db)
    try:
        try:
            return _status(conn, db, export_dir, inbox, daemon_state, push_enabled, now)
        except sqlite3.OperationalError:  # no such table / column: an older schema
            if conn is None:
                raise
    finally:
        if conn is not None:
            conn.close()
    from pv2simkl.store import open_store

    open_store(db).close()
    conn = connect(db)
    try:
        return _status(conn, db, export_dir, inbox, daemon_state, push_enabled, now)
    finally:
        if conn is not None:
            conn.close()


def _status(
    conn: sqlite3.Connection | None, db: Path, export_dir: Path, inbox: Path | None,
    daemon_state: Path, push_enabled: bool, now: datetime,
) -> dict[str, Any]:  # fmt: skip
    if conn is not None:
        c, matches, pushed_last = counts(conn), match_counts(conn), last_push(conn)
    else:
        c = dict.fromkeys(("events", "works", "unexported", "ids_pending", "not_pushed",
                           "not_found", "in_flight"), 0)  # fmt: skip
        matches, pushed_last = {}, None
    csv = newest_csv(export_dir)
    return {
        "now": local_iso(now),
        "store": str(db),
        "daemon": daemon(daemon_state),
        "events": c["events"],
        "titles": c["works"],
        "matches": matches,
        "unmatched": matches.get("unmatched", 0),
        "unexported": c["unexported"],
        "ids_pending": c["ids_pending"],
        "push": {
            "enabled": push_enabled,
            "waiting": c["not_pushed"],
            "not_found": c["not_found"],
            "in_flight": c["in_flight"],
            "last": pushed_last,
        },
        "newest_csv": str(csv[0]) if csv else None,
        "newest_csv_at": local_iso(datetime.fromtimestamp(csv[1], UTC)) if csv else None,
        "runs": [a.public() for a in activity(conn, inbox)],
    }
