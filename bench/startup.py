"""Start-up cost of pv2simkl, as ratios to ``python -c pass`` measured in the same run.

Times (median wall seconds of ``--repeat`` runs, each a fresh process):

* ``python -c pass`` — the floor every ratio is against;
* ``pv2simkl --version`` and ``pv2simkl --help``;
* ``pv2simkl status`` on a store of ``--n`` (20,000) watch events, imported once from a
  generated en-US saved page (episode lists expanded);
* the daily cycle: ``pv2simkl import <page with 5 new watches> --export`` on that store
  (already exported once, so the delta holds the 5), each run on a fresh copy of the
  store. Offline (``PV2SIMKL_OFFLINE=1``): the cycle's own cost, start-up included; the
  metadata look-ups of the new titles wait on the services' rate limits, not on pv2simkl,
  and are measured by bench/bench_enrich.py.

Targets (issue 12): ``--version`` and ``--help`` ≤ 5×, ``status`` ≤ 8×, daily cycle ≤ 0.8 s.

    python bench/startup.py [--n 20000] [--repeat 7] [--seed 42]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fixtures import generator  # noqa: E402

OUT = ROOT / "bench" / "out" / "startup"
TARGETS = {"--version": 5.0, "--help": 5.0, "status": 8.0}
CYCLE_TARGET = 0.8  # seconds


def pv2simkl(*args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "pv2simkl"), *args]


def page(path: Path, seed: int, n: int, *, newest: int | None = None) -> Path:
    """A generated en-US saved page of ``n`` events, or of only the ``newest`` of them."""
    options = generator.PageOptions("primevideo", "na", 20, "current-dom", False)
    history = generator.build_history(seed, n, "en-US")
    if newest is not None:
        history = dataclasses.replace(history, n=newest, events=history.events[:newest],
                                      extras=[], _models={})  # fmt: skip
    generator.write_saved_page(history, path, variant="expanded", options=options)
    return path


def run(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr.decode()}")
    return elapsed


def median(cmd: list[str], env: dict[str, str], repeat: int, before=None) -> float:
    times = []
    for _ in range(repeat):
        if before:
            before()
        times.append(run(cmd, env))
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000, help="events in the store")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    data, base = OUT / "data", OUT / "base"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PV2SIMKL_")}
    env.update({"PV2SIMKL_DATA_DIR": str(data), "PV2SIMKL_OFFLINE": "1",
                "PV2SIMKL_CONFIG": str(OUT / "none.toml")})  # fmt: skip
    # Bytecode caches as an installed copy has them (pip compiles on install): a shell with
    # PYTHONDONTWRITEBYTECODE=1 would compile every module from source on every run. They
    # go to a folder of the bench's own, not into the source tree.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(OUT / "pycache")
    (OUT / "none.toml").write_text("")

    print(f"building a store of {args.n:,} events …", flush=True)
    run(pv2simkl("-q", "import", str(page(OUT / "big.html", args.seed, args.n))), env)
    run(pv2simkl("-q", "export"), env)  # the history went to Simkl before: the delta is empty
    shutil.copytree(data, base)
    new = page(OUT / "today.html", args.seed + 1000, 50, newest=5)

    def fresh_store() -> None:
        shutil.rmtree(data)
        shutil.copytree(base, data)

    for warm in (["--help"], ["status"], ["import", str(new), "--export"]):  # write the caches
        fresh_store()
        run(pv2simkl(*warm), env)
    floor = median([sys.executable, "-c", "pass"], env, args.repeat)
    rows = [("python -c pass", floor, None)]
    for name, cmd in [("--version", pv2simkl("--version")), ("--help", pv2simkl("--help")),
                      ("status", pv2simkl("status"))]:  # fmt: skip
        rows.append((f"pv2simkl {name}", median(cmd, env, args.repeat), TARGETS[name]))
    cycle = median(pv2simkl("import", str(new), "--export"), env, args.repeat, before=fresh_store)
    rows.append(("daily cycle (import 5 new + export)", cycle, None))

    print(f"\n{args.n:,}-event store, median of {args.repeat} runs, {os.cpu_count()} CPUs\n")
    print(f"| {'what':38} | seconds | × python -c pass | target |")
    print(f"|{'-' * 40}|---------|------------------|--------|")
    for name, seconds, target in rows:
        goal = f"≤ {target:g}×" if target else ""
        if name.startswith("daily"):
            goal = f"≤ {CYCLE_TARGET} s"
        print(f"| {name:38} | {seconds:7.3f} | {seconds / floor:16.1f} | {goal:6} |")
    misses = [n for n, s, t in rows if t and s / floor > t]
    if cycle > CYCLE_TARGET:
        misses.append("daily cycle")
    print("\nall targets met" if not misses else f"\nmissed: {', '.join(misses)}")


if __name__ == "__main__":
    main()
