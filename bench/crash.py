"""Proof that nothing is lost: `pv2simkl sync` killed with SIGKILL at random instants.

A large inbox (a generated history as a data export, a saved page and API pages) is
synced again and again, each run killed at a random moment — during import, the CSV
writing, the rename, the mark-as-exported — then one clean run finishes the job. The
union of every delta CSV left in the export folder must hold every expected work exactly
once, with its latest episode, and the store must pass ``PRAGMA integrity_check``.

    python bench/crash.py [--kills 60] [--n 3000] [--seed 3]

``tests/daemon/test_crash.py`` runs the same check with fewer kills.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fixtures import generator  # noqa: E402
from pv2simkl.titles import identity_key  # noqa: E402


def prepare(folder: Path, seed: int, n: int) -> tuple[Path, dict[tuple[str, str], str]]:
    """An inbox of several files and the expected (type, title) → LastEpWatched."""
    shutil.rmtree(folder, ignore_errors=True)
    inbox = folder / "inbox"
    inbox.mkdir(parents=True)
    history = generator.build_history(seed, n, "en-US")
    options = generator.PageOptions("primevideo", "na", 20, "current-dom", False)
    generator.write_export_c(history, inbox / "export.zip")
    generator.write_saved_page(history, inbox / "page.html", variant="expanded", options=options)
    api = folder / "api"
    generator.write_api_pages(history, api, options)
    for page in sorted(api.glob("page-*.json")):
        shutil.copy(page, inbox / f"api-{page.name}")
    expected: dict[tuple[str, str], tuple[int, int] | None] = {}
    for source in (inbox / "export.expected.jsonl", inbox / "page.expected.jsonl",
                   folder / "api.expected.jsonl"):  # fmt: skip
        for line in source.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            key = ("movie" if row["kind"] == "movie" else "tv", identity_key(row["title"]))
            best = expected.get(key)
            if row["season"] is not None and row["episode"] is not None:
                mark = (row["season"], row["episode"])
                expected[key] = max(best, mark) if best else mark
            else:
                expected.setdefault(key, None)
        if source.parent == inbox:
            source.unlink()
    want = {k: (f"s{v[0]}e{v[1]}" if v else "") for k, v in expected.items()}
    return inbox, want


def env(folder: Path) -> dict[str, str]:
    return {
        **os.environ, "PV2SIMKL_DATA_DIR": str(folder / "data"),
        "PV2SIMKL_INBOX": str(folder / "inbox"), "PV2SIMKL_OFFLINE": "1",
        "PV2SIMKL_DAEMON_SETTLE_SECONDS": "0", "PV2SIMKL_DAEMON_FETCH": "0",
        "PV2SIMKL_DAEMON_ENRICH": "0", "PV2SIMKL_EXPORT_MAX_ROWS": "150",
        "PV2SIMKL_EXPORT_KEEP_FILES": "0", "PV2SIMKL_EXPORT_TIMEZONE": "UTC",
    }  # fmt: skip


def sync(folder: Path, kill_after: float | None) -> int | None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "pv2simkl", "-q", "sync"], env=env(folder), cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    if kill_after is None:
        _, err = proc.communicate(timeout=600)
        if proc.returncode != 0:
            raise SystemExit(f"the final sync failed:\n{err.decode()}")
        return proc.returncode
    try:
        proc.wait(timeout=kill_after)
        return proc.returncode  # finished before its kill
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return None


def check(folder: Path, want: dict[tuple[str, str], str]) -> list[str]:
    """Problems found; an empty list means nothing was lost and nothing written twice."""
    problems = []
    seen: dict[tuple[str, str], str] = {}
    for path in sorted((folder / "data" / "exports").glob("simkl-*.csv")):
        with open(path, encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                key = (row["Type"], identity_key(row["Title"]))
                if key in seen:
                    problems.append(f"{key} exported twice")
                seen[key] = row["LastEpWatched"]
    for key, last in want.items():
        if key not in seen:
            problems.append(f"{key} missing")
        elif seen[key] != last:
            problems.append(f"{key}: LastEpWatched {seen[key]!r}, expected {last!r}")
    problems += [f"{key} not expected" for key in seen.keys() - want.keys()]
    db = sqlite3.connect(folder / "data" / "pv2simkl.sqlite3")
    verdict = db.execute("PRAGMA integrity_check").fetchone()[0]
    if verdict != "ok":
        problems.append(f"integrity_check: {verdict}")
    leftovers = list((folder / "data" / "exports").glob(".*.tmp"))
    if leftovers:
        problems.append(f"temp files left: {leftovers}")
    return problems


def _remaining(folder: Path) -> tuple[int, int]:
    """(files waiting in the inbox, events not yet exported)."""
    files = [p for p in (folder / "inbox").iterdir() if p.is_file()]
    db_path = folder / "data" / "pv2simkl.sqlite3"
    if not db_path.exists():
        return len(files), 1
    db = sqlite3.connect(db_path, timeout=30)
    try:
        unexported = db.execute("SELECT count(*) FROM events WHERE batch_id IS NULL").fetchone()[0]
    except sqlite3.OperationalError:  # killed before the schema was made
        unexported = 1
    db.close()
    return len(files), unexported


def _batches(folder: Path) -> dict[str, int]:
    db = sqlite3.connect(folder / "data" / "pv2simkl.sqlite3")
    rows = db.execute("SELECT status, count(*) FROM export_batches GROUP BY status").fetchall()
    db.close()
    return dict(rows)


def run(folder: Path, *, kills: int, n: int, seed: int, verbose: bool = True) -> dict:
    """Rounds of: a fresh inbox, syncs killed at random instants while work remains, one
    clean sync, the check. Kill instants are drawn over the work left, so they land in
    every phase: imports early on, the CSV writing and the bookkeeping at the end."""
    rng = random.Random(seed)
    start = time.perf_counter()
    killed = finished = rounds = 0
    problems: list[str] = []
    works = 0
    batch_states: dict[str, int] = {}
    while killed < kills:
        round_dir = folder / f"round-{rounds}"
        inbox, want = prepare(round_dir, seed + rounds, n)
        works += len(want)
        probe = folder / "probe"
        shutil.rmtree(probe, ignore_errors=True)
        shutil.copytree(round_dir, probe)
        t = time.perf_counter()
        sync(probe, None)
        duration = time.perf_counter() - t
        shutil.rmtree(probe)
        total_files = len([p for p in inbox.iterdir() if p.is_file()])
        while killed < kills:
            files, unexported = _remaining(round_dir)
            if not files and not unexported:
                break
            share = files / total_files if files else 0.35
            window = 0.4 + duration * share  # interpreter start-up, then the work left
            if sync(round_dir, rng.uniform(0.05, window)) is None:
                killed += 1
            else:
                finished += 1
        sync(round_dir, None)
        problems += [f"round {rounds}: {p}" for p in check(round_dir, want)]
        for state, count in _batches(round_dir).items():
            batch_states[state] = batch_states.get(state, 0) + count
        rounds += 1
    result = {"rounds": rounds, "works": works, "killed": killed, "finished_before_kill": finished,
              "export_batches": batch_states, "problems": problems[:20],
              "wall_s": round(time.perf_counter() - start, 1)}  # fmt: skip
    if verbose:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=60)
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "crash")
    args = parser.parse_args()
    result = run(args.out, kills=args.kills, n=args.n, seed=args.seed)
    raise SystemExit(1 if result["problems"] else 0)


if __name__ == "__main__":
    main()
