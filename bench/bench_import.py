"""Benchmark: import a 20,000-event saved page and data exports, then export the delta.

Not a test: it prints figures for bench/README.md. Each step runs the real CLI in its
own process, timed by wall clock, its peak RSS read from the child's rusage.

    python bench/bench_import.py [--n 20000] [--seed 42] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fixtures import generator  # noqa: E402


def rss_of(args: list[str]) -> tuple[float, float, str]:
    """Like run(), with the peak RSS of exactly this child (wait4 on its pid)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pv2simkl", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        cwd=ROOT, env={**os.environ, "PV2SIMKL_EXPORT_TIMEZONE": "UTC"},
    )  # fmt: skip
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"pv2simkl {' '.join(args)} failed:\n{err.decode()}")
    return wall, usage.ru_maxrss / 1024, out.decode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    args = parser.parse_args()

    fixtures_dir = args.out / f"fixtures-{args.n}"
    if not (fixtures_dir / "saved-page-expanded.html").exists():
        t = time.perf_counter()
        generator.write_all(fixtures_dir, seed=args.seed, n=args.n, locale="en-US")
        print(f"generated {args.n} events in {time.perf_counter() - t:.1f}s")
    page = fixtures_dir / "saved-page-expanded.html"
    export_zip = fixtures_dir / "export-c.zip"
    size = page.stat().st_size / 1e6
    print(f"saved page: {size:.1f} MB; export ZIP: {export_zip.stat().st_size / 1e6:.1f} MB")

    rows = []
    inputs = (
        ("saved page", [page]),
        ("data export (C, ZIP)", [export_zip]),
        ("data export (A, folder)", [fixtures_dir / "export-a"]),
    )
    for label, files in inputs:
        best = None
        for _ in range(args.repeat):
            data = args.out / "data"
            shutil.rmtree(data, ignore_errors=True)
            first = rss_of(["--data-dir", str(data), "import", *map(str, files), "--export"])
            again = rss_of(["--data-dir", str(data), "import", "--force", *map(str, files)])
            skip = rss_of(["--data-dir", str(data), "import", *map(str, files)])
            trial = (first, again, skip)
            if best is None or first[0] < best[0][0]:
                best = trial
        (w1, m1, out1), (w2, m2, out2), (w3, m3, _) = best
        added_again = out2.split("Stored ")[1].split(" new")[0]
        rows.append((label, w1, m1, w2, m2, added_again, w3, m3, out1))

    print()
    print(
        "| input | import + export, empty store | peak RSS | same file again, re-parsed "
        "(`--force`) | peak RSS | new events the 2nd time | same file again (hash match) |"
    )
    print("|---|---|---|---|---|---|---|")
    for label, w1, m1, w2, m2, added, w3, _, _ in rows:
        print(
            f"| {label} | {w1:.2f} s | {m1:.0f} MB | {w2:.2f} s | {m2:.0f} MB | {added} "
            f"| {w3:.2f} s |"
        )
    print()
    for label, *_, out1 in rows:
        print(f"{label}:\n{out1}")


if __name__ == "__main__":
    main()
