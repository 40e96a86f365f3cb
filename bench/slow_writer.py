"""Slow writers: files copied into a running daemon's inbox chunk by chunk (issue 9).

Each of ``--files`` history files (saved pages, console-exporter CSVs, history JSON replies
and data-export CSVs from ``fixtures/samples``) is written under its final name in 5 to 15
chunks over 2 to 5 seconds, every pause shorter than the settle time, as a slow copy or a
download without a temporary name does. The writers start spread over ``--spread``
seconds; the first ones are already half written when the daemon starts, so the start-up
scan, the sync at start, the watcher and the scheduled syncs (cron every minute) all meet
files still being written.

When every file has been moved aside and the daemon has stopped, the check is: no file in
``failed/``, every file in ``processed/`` byte for byte as written, and the store holding
exactly the events one sequential ``import`` of the same files gives (the same multiset of
events: nothing missing, nothing twice).

    python bench/slow_writer.py [--files 120] [--settle 1.0] [--spread 75] [--seed 3]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pv2simkl import pipeline  # noqa: E402
from pv2simkl.config import load_settings  # noqa: E402
from pv2simkl.sources.files import parse_file  # noqa: E402

SAMPLES = ROOT / "fixtures" / "samples"
OUT = ROOT / "bench" / "out" / "slow-writer"


def pick_files(count: int, rng: random.Random) -> list[tuple[str, bytes]]:
    """``count`` distinct sample files that import whole: (inbox name, bytes)."""
    found: list[tuple[str, bytes]] = []
    seen: set[bytes] = set()
    for path in sorted(SAMPLES.rglob("*")):
        if path.suffix not in {".html", ".json", ".csv"} or not path.is_file():
            continue
        data = path.read_bytes()
        if data in seen or len(data) > 400_000:
            continue
        try:
            flat = parse_file(path).flat
        except Exception:  # noqa: BLE001 - a sample that is not a history (manifest, tokens)
            continue
        if flat.events and not flat.unreadable and not flat.errors:
            seen.add(data)
            label = str(path.relative_to(SAMPLES)).replace("/", "_")
            found.append((label, data))
    rng.shuffle(found)
    if len(found) < count:
        raise SystemExit(f"only {len(found)} usable sample files for {count}")
    return [(f"{i:03d}-{label}", data) for i, (label, data) in enumerate(found[:count])]


def listing(folder: Path) -> list[Path]:
    return list(folder.iterdir()) if folder.is_dir() else []


def writer(path: Path, data: bytes, rng: random.Random, settle: float, log: dict) -> None:
    """Write ``data`` to ``path`` in chunks over 2 to 5 seconds, each pause < settle."""
    pieces = rng.randint(5, 15)
    size = -(-len(data) // pieces)
    pause = min(rng.uniform(2.0, 5.0) / pieces, settle * 0.5)
    with open(path, "wb") as fh:
        for start in range(0, len(data), size):
            fh.write(data[start : start + size])
            fh.flush()
            time.sleep(pause)
    log[path.name] = {"pieces": pieces, "pause_s": round(pause, 3), "done": time.monotonic()}


def events_of(data_dir: Path, env: dict[str, str]) -> Counter[str]:
    """The stored events, counted by their public form without ``source``: one watch two
    files hold is stored once, under the source of whichever file came first."""
    ctx = pipeline.Context.create(load_settings(env={**env, "PV2SIMKL_DATA_DIR": str(data_dir)}))
    try:
        return Counter(
            json.dumps({**e.to_public(), "source": None}, sort_keys=True, ensure_ascii=False)
            for e in pipeline.history(ctx)
        )
    finally:
        ctx.close()


def import_order(log: str, names: set[str]) -> list[str]:
    """The files in the order the daemon imported them (its log's ``inbox: NAME: N new
    events`` lines, from the watcher's path and the syncs' alike)."""
    order: list[str] = []
    for line in log.splitlines():
        if ": inbox: " in line and line.endswith("new events"):
            name = line.split(": inbox: ", 1)[1].rsplit(": ", 1)[0]
            if name in names and name not in order:
                order.append(name)
    return order


def sequential(
    files: list[tuple[str, bytes]], order: list[str], folder: Path, env: dict[str, str]
) -> Counter[str]:
    """One plain `import` of the same files into a fresh store, in ``order`` (the
    daemon's): the identity rule matches exact times within a window, so which of three
    copies of one watch hours apart come first decides how many events they make."""
    source = folder / "files"
    source.mkdir(parents=True)
    for name, data in files:
        (source / name).write_bytes(data)
    rest = sorted({name for name, _ in files} - set(order))
    done = subprocess.run(
        [sys.executable, "-m", "pv2simkl", "--data-dir", str(folder / "data"), "import",
         *(str(source / name) for name in [*order, *rest])],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"the sequential import failed: {done.stderr[-500:]}")
    return events_of(folder / "data", env)


def run(files: int, settle: float, spread: float, seed: int, *, verbose: bool = True) -> dict:
    shutil.rmtree(OUT, ignore_errors=True)
    inbox = OUT / "inbox"
    inbox.mkdir(parents=True)
    env = {
        **os.environ, "PV2SIMKL_DATA_DIR": str(OUT / "data"), "PV2SIMKL_INBOX": str(inbox),
        "PV2SIMKL_OFFLINE": "1", "PV2SIMKL_DAEMON_SETTLE_SECONDS": str(settle),
        "PV2SIMKL_DAEMON_FETCH": "0", "PV2SIMKL_DAEMON_ENRICH": "0",
        "PV2SIMKL_DAEMON_CRON": "* * * * *", "PV2SIMKL_DAEMON_JITTER_SECONDS": "0",
        "PV2SIMKL_EXPORT_TIMEZONE": "UTC",
    }  # fmt: skip
    rng = random.Random(seed)
    chosen = pick_files(files, rng)
    starts = sorted(rng.uniform(0, spread) for _ in chosen)
    written: dict[str, dict] = {}
    threads = []
    begin = time.monotonic()
    proc = None
    try:
        for (name, data), start in zip(chosen, starts, strict=True):
            if proc is None and time.monotonic() - begin >= 1.5:  # some files half written
                proc = subprocess.Popen([sys.executable, "-m", "pv2simkl", "daemon"], env=env,
                                        cwd=ROOT, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)  # fmt: skip
            time.sleep(max(0.0, begin + start - time.monotonic()))
            thread = threading.Thread(
                target=writer,
                args=(inbox / name, data, random.Random(rng.random()), settle, written),
            )
            thread.start()
            threads.append(thread)
        if proc is None:
            proc = subprocess.Popen([sys.executable, "-m", "pv2simkl", "daemon"], env=env,
                                    cwd=ROOT, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)  # fmt: skip
        for thread in threads:
            thread.join()
        last_write = time.monotonic()
        names = {name for name, _ in chosen}
        deadline = last_write + 120 + settle * 10
        while time.monotonic() < deadline and proc.poll() is None:
            moved = {p.name for d in ("processed", "failed") if (inbox / d).is_dir()
                     for p in (inbox / d).iterdir()}  # fmt: skip
            if names <= moved:
                break
            time.sleep(0.2)
        drained = time.monotonic() - last_write
        alive = proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
    processed = {p.name: p for p in listing(inbox / "processed")}
    failed = sorted(p.name for p in listing(inbox / "failed") if not p.name.endswith(".txt"))
    left = sorted(p.name for p in inbox.iterdir() if p.is_file())
    intact = sum(
        1 for name, data in chosen if name in processed and processed[name].read_bytes() == data
    )
    stored = events_of(OUT / "data", env)
    log = (OUT / "data" / "state" / "log" / "pv2simkl.log").read_text(encoding="utf-8")
    order = import_order(log, {name for name, _ in chosen})
    reference = sequential(chosen, order, OUT / "sequential", env)
    result = {
        "files": files, "settle_s": settle, "spread_s": spread,
        "chunks_per_file": f"{min(w['pieces'] for w in written.values())}-"
                           f"{max(w['pieces'] for w in written.values())}",
        "longest_pause_s": max(w["pause_s"] for w in written.values()),
        "processed_intact": intact, "failed": len(failed), "left_in_inbox": len(left),
        "events_stored": sum(stored.values()), "events_sequential": sum(reference.values()),
        "missing": sum((reference - stored).values()), "extra": sum((stored - reference).values()),
        "imports_logged": len(order),
        "imported_by_a_sync": sum(
            1 for line in log.splitlines()
            if "pv2simkl.pipeline: inbox: " in line and line.endswith("new events")
        ),
        "taken_again_after_a_change": log.count("was written to while it was read"),
        "scheduled_syncs": log.count("sync: {"),
        "daemon_alive_throughout": alive, "exit_code_on_sigterm": code,
        "drain_after_last_write_s": round(drained, 1),
        "wall_s": round(time.monotonic() - begin, 1),
        "failed_names": failed[:5], "left_names": left[:5],
    }  # fmt: skip
    if verbose:
        print(json.dumps(result, indent=2))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=120)
    parser.add_argument("--settle", type=float, default=1.0)
    parser.add_argument("--spread", type=float, default=75.0)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    result = run(args.files, args.settle, args.spread, args.seed)
    ok = result["processed_intact"] == args.files and not result["failed"]
    ok = (
        ok and not result["missing"] and not result["extra"] and result["exit_code_on_sigterm"] == 0
    )
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
