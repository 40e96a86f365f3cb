"""Benchmark: enrich a 20,000-event history (about 1,500 works) against the mock services.

Not a test: it prints figures for bench/README.md. The mock services run in this process
with their documented limits and added latency; ``pv2simkl enrich`` runs as its own
process (its peak RSS read from its rusage). The floor is the time the rate limits alone
impose on the requests that were needed; the target is wall ≤ 1.25 × floor.

    python bench/bench_enrich.py [--works 1500] [--events 20000] [--latency 0.05]
"""

from __future__ import annotations

import argparse
import math
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fixtures.mock_catalog import catalog_from_titles  # noqa: E402
from fixtures.mock_services import DEFAULT_KEYS, DEFAULT_LIMITS, MockServices  # noqa: E402
from pv2simkl.models import WatchEvent  # noqa: E402
from pv2simkl.store import Store  # noqa: E402

ADJECTIVES = [
    "Quiet",
    "Northern",
    "Silver",
    "Hidden",
    "Broken",
    "Golden",
    "Last",
    "Distant",
    "Crimson",
    "Endless",
    "Frozen",
    "Wild",
    "Secret",
    "Lonely",
    "Burning",
    "Silent",
    "Electric",
    "Velvet",
    "Iron",
    "Paper",
    "Glass",
    "Midnight",
    "Savage",
    "Gentle",
]
NOUNS = [
    "Harbour",
    "Valley",
    "Signal",
    "Garden",
    "Empire",
    "River",
    "Witness",
    "Orchard",
    "Frontier",
    "Lantern",
    "Kingdom",
    "Compass",
    "Station",
    "Mirror",
    "Harvest",
    "Tide",
    "Circuit",
    "Meadow",
    "Archive",
    "Summit",
    "Canyon",
    "Parade",
    "Covenant",
    "Beacon",
]
PLACES = ["", " of Lima", " in Winter", " at Dawn", " Road", " Files", " Club", " Street"]


def titles(n: int, rng: random.Random) -> list[str]:
    names = sorted({f"The {a} {b}{p}" for a in ADJECTIVES for b in NOUNS for p in PLACES})
    rng.shuffle(names)
    return names[:n]


def build(works: int, events: int, seed: int) -> tuple[list, list[WatchEvent]]:
    """A catalog of ``works`` titles (a third movies) and ``events`` watches of them."""
    rng = random.Random(seed)
    names = titles(works, rng)
    movies, shows = names[: works // 3], names[works // 3 :]
    per_show = (events - len(movies)) / len(shows)
    start = datetime(2018, 1, 1, tzinfo=UTC)
    out: list[WatchEvent] = []
    show_specs = []
    for title in shows:
        count = max(1, round(per_show + rng.uniform(-3, 3)))
        seasons = {s: [f"Chapter {s}-{e}" for e in range(1, 13)] for s in range(1, count // 12 + 2)}
        show_specs.append((title, seasons))
        for i in range(count):
            season, episode = i // 12 + 1, i % 12 + 1
            when = start + timedelta(minutes=rng.randrange(4_000_000))
            out.append(WatchEvent(kind="episode", title=title, season=season, episode=episode,
                                  episode_title=f"Chapter {season}-{episode}", watched_at=when,
                                  source="api", gti=f"g-{title}-{i}"))  # fmt: skip
    for title in movies:
        when = start + timedelta(minutes=rng.randrange(4_000_000))
        out.append(WatchEvent(kind="movie", title=title, watched_at=when, source="api"))
    return catalog_from_titles(seed, movies, show_specs, include_hard_cases=False), out[:events]


def floor_seconds(counts: Counter[str], limits: dict[str, list[tuple[int, float]]]) -> dict:
    """Per service: the least time its limits allow for ``counts`` requests."""
    out = {}
    for service, n in counts.items():
        worst = 0.0
        for calls, seconds in limits.get(service, []):
            worst = max(worst, max(0, math.ceil(n / calls) - 1) * seconds)
        out[service] = worst
    return out


def run_enrich(env: dict[str, str]) -> tuple[float, float, str, str]:
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "pv2simkl", "enrich"], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    out, err = proc.communicate()  # both pipes at once: neither can fill up and block
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"enrich failed:\n{err.decode()}")
    # The largest RSS of any child reaped so far: the first call's is that run's own.
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return wall, peak, out.decode(), err.decode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--works", type=int, default=1500)
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "enrich")
    args = parser.parse_args()

    catalog, events = build(args.works, args.events, args.seed)
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    store = Store(args.out / "pv2simkl.sqlite3")
    store.add_import(events, path="bench", sha256="bench", source="api")
    counts = store.counts()
    store.close()
    print(f"{counts['events']} events of {counts['works']} works; catalog of {len(catalog)}")

    with MockServices(catalog, latency=args.latency) as mock:
        env = {**os.environ, "PV2SIMKL_DATA_DIR": str(args.out),
               "PV2SIMKL_SIMKL_CLIENT_ID": DEFAULT_KEYS["simkl"],
               "PV2SIMKL_TMDB_TOKEN": DEFAULT_KEYS["tmdb"],
               "PV2SIMKL_TVDB_API_KEY": DEFAULT_KEYS["tvdb"],
               "PV2SIMKL_MAL_CLIENT_ID": DEFAULT_KEYS["mal"],
               "PV2SIMKL_OMDB_API_KEY": DEFAULT_KEYS["omdb"]}  # fmt: skip
        for service, url in mock.base_urls.items():
            env[f"PV2SIMKL_{service.upper()}_BASE_URL"] = url
        wall, rss, out, err = run_enrich(env)
        log = list(mock.log)
        mock.reset_log()
        wall2, _, out2, _ = run_enrich(env)
        second = len(mock.log)

    sent = Counter(r.service for r in log)
    refused = Counter(
        r.service for r in log if r.status == 429 or (r.service == "mal" and r.status == 403)
    )
    accepted = sent - refused

    def ident(r) -> tuple:
        return (r.service, r.method, r.path, tuple(sorted(r.query.items())))

    distinct = len({ident(r) for r in log if r.status not in (429, 0)})
    floors = floor_seconds(accepted, DEFAULT_LIMITS)
    floor = max(floors.values(), default=0.0)
    surfaced = sum(1 for line in err.splitlines() if "throttled" in line or "wait" in line)
    print(out.strip())
    print()
    print("| figure | value |")
    print("|---|---|")
    print(f"| works / events | {counts['works']} / {counts['events']} |")
    print(f"| wall time, first run | {wall:.1f} s |")
    print(
        f"| floor set by the limits (bottleneck: {max(floors, key=floors.get)}) | {floor:.1f} s |"
    )
    print(f"| wall / floor | {wall / floor:.3f} |" if floor else "| wall / floor | n/a |")
    print(f"| requests sent (per service) | {sum(sent.values())} ({dict(sent)}) |")
    print(f"| distinct requests needed | {distinct} |")
    print(f"| sent / needed | {sum(sent.values()) / max(distinct, 1):.3f} |")
    absorbed = sum(refused.values())
    print(f"| 429 (or MAL 403) answered by the mock, absorbed by the client | {absorbed} |")
    print(f"| 429s that reached the resolver | {surfaced} |")
    print(f"| peak RSS of `pv2simkl enrich` | {rss:.0f} MB |")
    print(f"| second run: requests / wall | {second} / {wall2:.1f} s |")
    print(f"| per-service floors | { {k: round(v, 1) for k, v in floors.items()} } |")
    repeats = Counter(ident(r) for r in log if r.status not in (429, 0))
    top = [(n, key) for key, n in repeats.most_common(5) if n > 1]
    if top:
        print("\nrequests sent more than once (count, request):")
        for n, (service, method, path, query) in top:
            print(f"  {n} {service} {method} {path} {dict(query)}"[:160])
    if err.strip():
        print("\nstderr of the first run (first lines):")
        print("\n".join(err.splitlines()[:10]))


if __name__ == "__main__":
    main()
