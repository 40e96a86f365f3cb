"""Proof that nothing is lost: `pv2simkl sync` killed with SIGKILL at random instants.

A large inbox (a generated history as a data export, a saved page and API pages) is
synced again and again, each run killed at a random moment — during import, the CSV
writing, the rename, the mark-as-exported — then one clean run finishes the job. The
union of every delta CSV left in the export folder must hold every expected work exactly
once, with its latest episode, and the store must pass ``PRAGMA integrity_check``.

    python bench/crash.py [--kills 60] [--n 3000] [--seed 3]

``--export-kills N`` aims at the export's part files instead: the history is imported
once, then `pv2simkl export` (many small parts) is killed N times at random instants of
its part writing and renaming. After every run, each final-named part seen so far must
still be there, byte for byte (an uploader may have sent it: it is never deleted or
rewritten), and the clean run at the end leaves every work exported exactly once.

    python bench/crash.py --export-kills 60 [--n 3000] [--max-rows 10] [--code DIR]

``--code DIR`` runs the pv2simkl of another checkout (to measure the code before).
``tests/daemon/test_crash.py`` runs both checks with fewer kills.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
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


def env(folder: Path, max_rows: int = 150) -> dict[str, str]:
    return {
        **os.environ, "PV2SIMKL_DATA_DIR": str(folder / "data"),
        "PV2SIMKL_INBOX": str(folder / "inbox"), "PV2SIMKL_OFFLINE": "1",
        "PV2SIMKL_DAEMON_SETTLE_SECONDS": "0", "PV2SIMKL_DAEMON_FETCH": "0",
        "PV2SIMKL_DAEMON_ENRICH": "0", "PV2SIMKL_EXPORT_MAX_ROWS": str(max_rows),
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


# ---- the export's part files ----------------------------------------------------------


def _cli(folder: Path, code: Path, max_rows: int, *args: str, stderr=subprocess.PIPE):
    return subprocess.Popen(
        [sys.executable, "-m", "pv2simkl", "-q", *args], env=env(folder, max_rows), cwd=code,
        stdout=subprocess.DEVNULL, stderr=stderr,
    )  # fmt: skip


def imported(folder: Path, seed: int, n: int, code: Path) -> dict[tuple[str, str], str]:
    """A store holding the whole generated history, nothing exported yet; the expected rows."""
    inbox, want = prepare(folder, seed, n)
    proc = _cli(folder, code, 150, "import", str(inbox))
    _, err = proc.communicate(timeout=600)
    if proc.returncode != 0:
        raise SystemExit(f"the import failed:\n{err.decode()}")
    return want


def _exports(folder: Path) -> Path:
    return folder / "data" / "exports"


def _files(folder: Path, pattern: str) -> set[tuple[str, int]]:
    """(name, inode) of the files matching ``pattern`` in the export folder: a file made
    anew under an old name is another file."""
    out = _exports(folder)
    found = set()
    for path in out.glob(pattern) if out.is_dir() else []:
        with contextlib.suppress(FileNotFoundError):  # renamed or removed meanwhile
            found.add((path.name, path.stat().st_ino))
    return found


TEMPS, FINALS = ".simkl-*.tmp", "simkl-*.csv"


def export_run(
    folder: Path, code: Path, max_rows: int, kill: tuple[str, float] | None
) -> dict:  # fmt: skip
    """One `pv2simkl export`. With ``kill`` = (pattern, delay): SIGKILLed ``delay`` seconds
    after the first new file matching ``pattern`` appears (a part's temporary file: the
    writing began; a final name: the renaming began), unless it ends first."""
    before = _files(folder, TEMPS) | _files(folder, FINALS)
    log = folder / "export-stderr.log"  # a file, not a pipe: nobody reads while it runs
    with open(log, "wb") as err:
        proc = _cli(folder, code, max_rows, "export", stderr=err)
    started = time.perf_counter()
    first = first_part = None
    while proc.poll() is None and time.perf_counter() - started < 600:
        if first_part is None and _files(folder, TEMPS) - before:
            first_part = time.perf_counter()
        if kill is not None and first is None and _files(folder, kill[0]) - before:
            first = time.perf_counter()
        if first is not None and kill is not None and time.perf_counter() >= first + kill[1]:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.0005)
    proc.wait(timeout=600)
    end = time.perf_counter()
    if kill is None and proc.returncode != 0:
        raise SystemExit(f"the clean export failed:\n{log.read_text(errors='replace')}")
    return {"killed": proc.returncode == -signal.SIGKILL,
            "writing": (end - first_part) if first_part is not None else 0.0}  # fmt: skip


def _finals(folder: Path) -> dict[str, tuple[str, int, int]]:
    """Every final-named part in the export folder → (SHA-256, inode, mtime): a part deleted
    and written again, even with the same bytes, is a new file to an uploader."""
    out = _exports(folder)
    found = {}
    for path in out.glob(FINALS) if out.is_dir() else []:
        info = path.stat()
        found[path.name] = (hashlib.sha256(path.read_bytes()).hexdigest(), info.st_ino,
                            info.st_mtime_ns)  # fmt: skip
    return found


def _where(folder: Path) -> str:
    """Where a kill landed, told by what it left behind."""
    finals, temps = _finals(folder), _files(folder, TEMPS)
    db = sqlite3.connect(folder / "data" / "pv2simkl.sqlite3", timeout=30)
    rows = db.execute("SELECT files FROM export_batches WHERE status = 'writing'").fetchall()
    db.close()
    names = [n for (files,) in rows for n in json.loads(files or "[]")]
    if not names:
        return "before the claim or after the batch was done"
    done = [n for n in names if n in finals]
    if not done:
        return "while the parts were written" if temps else "after the claim, before any part"
    if len(done) < len(names):
        return "while the parts were renamed"
    return "after the renames, before the batch was marked done"


def run_exports(
    folder: Path, *, kills: int, n: int, seed: int, max_rows: int = 10, per_round: int = 3,
    code: Path = ROOT, verbose: bool = True,
) -> dict:  # fmt: skip
    """Rounds of: the imported store, `export` killed up to ``per_round`` times at random
    instants of its part files, one clean export, the checks. A final-named part that
    disappears or changes between two runs is a problem, as is a work missing or twice."""
    rng = random.Random(seed)
    start = time.perf_counter()
    base = folder / "base"
    want = imported(base, seed, n, code)
    probe = folder / "probe"
    shutil.rmtree(probe, ignore_errors=True)
    shutil.copytree(base, probe)
    writing = max(export_run(probe, code, max_rows, None)["writing"], 0.05)
    parts = len(_finals(probe))
    shutil.rmtree(probe)
    killed = rounds = 0
    problems: list[str] = []
    landed: dict[str, int] = {}
    counts = {"deleted": 0, "rewritten": 0, "twice": 0, "missing": 0}
    while killed < kills:
        round_dir = folder / f"export-round-{rounds}"
        shutil.rmtree(round_dir, ignore_errors=True)
        shutil.copytree(base, round_dir)
        seen: dict[str, tuple[str, int, int]] = {}
        for attempt in range(per_round + 1):
            last = attempt == per_round or killed >= kills
            # Two kills in three fall anywhere in the part writing, one just after the
            # first rename (the renames of a hundred parts take milliseconds).
            aim = (TEMPS, rng.uniform(0, writing * 0.9)) if rng.random() < 2 / 3 else (
                FINALS, rng.uniform(0, 0.004))  # fmt: skip
            outcome = export_run(round_dir, code, max_rows, None if last else aim)
            if outcome["killed"]:
                killed += 1
                where = _where(round_dir)
                landed[where] = landed.get(where, 0) + 1
            now = _finals(round_dir)
            for name, identity in list(seen.items()):
                if now.get(name) != identity:
                    what = "deleted" if name not in now else "rewritten"
                    problems.append(f"round {rounds}: {name} was {what}")
                    counts[what] += 1
                    del seen[name]  # told once
            seen.update(now)
            if last:
                break
        found = check(round_dir, want)
        problems += [f"round {rounds}: {p}" for p in found]
        counts["twice"] += sum(p.endswith("exported twice") for p in found)
        counts["missing"] += sum(p.endswith("missing") for p in found)
        rounds += 1
        shutil.rmtree(round_dir)
    wall = round(time.perf_counter() - start, 1)
    result = {"rounds": rounds, "works_per_round": len(want), "parts_per_export": parts,
              "killed": killed, "kills_landed": landed, "final_parts_deleted": counts["deleted"],
              "final_parts_rewritten": counts["rewritten"], "works_exported_twice": counts["twice"],
              "works_missing": counts["missing"], "problems": problems[:20],
              "problem_count": len(problems), "wall_s": wall}  # fmt: skip
    if verbose:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=60)
    parser.add_argument("--export-kills", type=int, default=0,
                        help="kill `export` during its part files instead of `sync`")  # fmt: skip
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--max-rows", type=int, default=10, help="rows per part (--export-kills)")
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout whose pv2simkl runs")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "crash")
    args = parser.parse_args()
    if args.export_kills:
        result = run_exports(args.out, kills=args.export_kills, n=args.n, seed=args.seed,
                             max_rows=args.max_rows, code=args.code.resolve())  # fmt: skip
        raise SystemExit(1 if result["problem_count"] else 0)
    result = run(args.out, kills=args.kills, n=args.n, seed=args.seed)
    raise SystemExit(1 if result["problems"] else 0)


if __name__ == "__main__":
    main()
