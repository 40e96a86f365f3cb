"""``pv2simkl history`` (and ``status``) on a store of 20,000 watch events, through a pipe.

A generated en-US history of ``--n`` watch events (the saved page, episode lists expanded)
is imported through the CLI once; then ``pv2simkl history --format F`` runs ``--repeat``
times with its stdout into a pipe that a reader drains (as ``| less`` or ``| grep`` would),
and the median wall time of each is printed, next to ``python -c pass`` measured in the
same run. ``status`` and a filtered ``history`` are timed the same way.

    python bench/history.py [--n 20000] [--seed 42] [--repeat 5]
"""

from __future__ import annotations

import argparse
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

OUT = ROOT / "bench" / "out" / "history"


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "pv2simkl", *args]


def prepare(folder: Path, n: int, seed: int, environ: dict[str, str]) -> int:
    """The store, imported from the generated saved page; its event count."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    page = folder / "page.html"
    options = generator.PageOptions("primevideo", "na", 20, "current-dom", False)
    generator.write_saved_page(generator.build_history(seed, n, "en-US"), page,
                               variant="expanded", options=options)  # fmt: skip
    done = subprocess.run(cli("-q", "import", str(page)), env=environ, capture_output=True,
                          text=True, cwd=ROOT)  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"import failed:\n{done.stderr}")
    count = subprocess.run(cli("history", "--format", "jsonl"), env=environ, cwd=ROOT,
                           capture_output=True, check=True).stdout.count(b"\n")  # fmt: skip
    return count


def timed(cmd: list[str], environ: dict[str, str], repeat: int) -> tuple[float, int]:
    """Median wall seconds of ``cmd`` writing into a drained pipe; bytes it wrote."""
    times, size = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(cmd, env=environ, cwd=ROOT, capture_output=True)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr.decode()}")
        size = len(done.stdout)
    return statistics.median(times), size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="reuse the store of a former run")
    args = parser.parse_args()
    folder = OUT / f"n{args.n}-s{args.seed}"
    environ = {**os.environ, "PV2SIMKL_DATA_DIR": str(folder / "data"), "PV2SIMKL_OFFLINE": "1",
               "PYTHONDONTWRITEBYTECODE": "1"}  # fmt: skip
    environ = {k: v for k, v in environ.items() if k not in ("PV2SIMKL_DB", "PV2SIMKL_CONFIG")}
    if args.keep and (folder / "data" / "pv2simkl.sqlite3").exists():
        events = subprocess.run(cli("history", "--format", "jsonl"), env=environ, cwd=ROOT,
                                capture_output=True, check=True).stdout.count(b"\n")  # fmt: skip
    else:
        events = prepare(folder, args.n, args.seed, environ)
    print(f"store: {events} events ({folder / 'data'})")
    base, _ = timed([sys.executable, "-c", "pass"], environ, args.repeat)
    print(f"{'python -c pass':44} {base:7.3f} s")
    runs = [
        ("history (table)", cli("history")),
        ("history --format jsonl", cli("history", "--format", "jsonl")),
        ("history --format csv", cli("history", "--format", "csv")),
        (
            "history --title the --kind episode",
            cli("history", "--title", "the", "--kind", "episode"),
        ),
        ("history --limit 20", cli("history", "--limit", "20")),
        ("status", cli("status")),
        ("status --json", cli("status", "--json")),
    ]
    for name, cmd in runs:
        seconds, size = timed(cmd, environ, args.repeat)
        print(f"{name:44} {seconds:7.3f} s  {seconds / base:5.1f}× pass  {size / 1e6:6.2f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
