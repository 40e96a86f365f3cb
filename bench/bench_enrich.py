"""Benchmark: enrich a 20,000-event history (about 1,500 works) against the mock services.

Not a test: it prints figures for bench/README.md. The mock services run in this process
with their documented limits and added latency; ``pv2simkl enrich`` runs as its own
process (its peak RSS read from its rusage). Two floors: the one of the requests that were
made (each service's limit alone, the slowest decides), and the floor of all services
together (:func:`plan_floor`: the least time the documented limits allow for the works,
whatever service each is asked of). Accuracy: every work's ids checked against the
catalog's, and the hard-case table (:data:`HARD_TABLE`) resolved in a run of its own.

    python bench/bench_enrich.py [--works 1500] [--events 20000] [--latency 0.05]
    python bench/bench_enrich.py --accuracy-only [--code DIR]   # hard cases of other code

``--code DIR`` runs ``pv2simkl`` from ``DIR`` (a checkout's package, put first on
``PYTHONPATH``): the figures of earlier code on the same works.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.append(str(ROOT))  # after PYTHONPATH: ``--code`` may bring another pv2simkl

from fixtures.services import DEFAULT_KEYS, DEFAULT_LIMITS, MockServices  # noqa: E402
from fixtures.services.catalog import Catalog, catalog_from_titles, fold, hard_cases  # noqa: E402
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
    catalog = catalog_from_titles(seed, movies, show_specs, include_hard_cases=False)
    out = out[:events]
    return consistent(catalog, out), out


def consistent(catalog: Catalog, events: list[WatchEvent]) -> Catalog:
    """Nothing in the catalog came out after it was first watched (the catalog's years are
    random, the watches too; the resolver rightly refuses a title released after its first
    watch): each work's release moves to a month before the first watch of its title."""
    first: dict[str, datetime] = {}
    for e in events:
        key = fold(e.title)
        first[key] = min(first.get(key, e.watched_at), e.watched_at)
    for work in catalog:
        seen = [first[k] for k in map(fold, work.all_titles()) if k in first]
        if seen and work.release_date > min(seen).date():
            day = min(seen).date() - timedelta(days=30)
            work.released, work.year = day.isoformat(), day.year
    return catalog


def floor_seconds(counts: Counter[str], limits: dict[str, list[tuple[int, float]]]) -> dict:
    """Per service: the least time its limits allow for ``counts`` requests."""
    out = {}
    for service, n in counts.items():
        worst = 0.0
        for calls, seconds in limits.get(service, []):
            worst = max(worst, max(0, math.ceil(n / calls) - 1) * seconds)
        out[service] = worst
    return out


# The services the request plan routes first searches to, and what each route costs in
# all (search, the ids a row needs, a show's details): pv2simkl.providers.resolver.ROUTES.
# OMDb is left out (a free key has 1,000 requests a day), TheTVDB for movies too (it knows
# about a third of them). An anime: TMDB's search and details and a MAL search for its
# MAL id; its entries are not counted (what they cost is the providers' own affair).
PLAN_SERVICES = ("simkl", "tmdb", "tvdb", "imdbapi", "mal")


def plan_floor(movies: int, shows: int, anime: int, rates: dict[str, float]) -> float:
    """The least time in which ``rates`` (requests a second per service) allow the works.

    Per work the cheapest routes: a movie is one imdbapi.dev search (the IMDb id is its
    row's id), one Simkl search (the Simkl id), or TMDB's search and external ids (2); a
    show one TheTVDB search (its row holds the IMDb and TMDB ids) or one Simkl search, each
    with TMDB's details (1), or TMDB's search, external ids and details (3); an anime two
    TMDB requests and one MAL search. Every Simkl
    request spares TMDB two, whichever kind it serves, so for a time ``t``: imdbapi.dev and
    TheTVDB take all they can, Simkl all it can, TMDB all that is left; ``t`` is feasible
    when TMDB's share and the anime's MAL searches fit. Bisection on ``t``.
    """

    def fits(t: float) -> bool:
        cap = {s: rates[s] * t for s in PLAN_SERVICES}
        by_imdb = min(movies, cap["imdbapi"])
        by_tvdb = min(shows, cap["tvdb"])
        if anime > cap["mal"]:
            return False
        by_simkl = min(cap["simkl"], movies - by_imdb + shows - by_tvdb)
        movies_simkl = min(by_simkl, movies - by_imdb)
        shows_simkl = by_simkl - movies_simkl
        tmdb = 2 * (movies - by_imdb - movies_simkl) + by_tvdb + shows_simkl
        tmdb += 3 * (shows - by_tvdb - shows_simkl) + 2 * anime
        return tmdb <= cap["tmdb"]

    lo, hi = 0.0, 10_000.0
    while hi - lo > 0.05:
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if fits(mid) else (mid, hi)
    return hi


def sustained(limits: list[tuple[int, float]]) -> float:
    """A service's rate when kept busy: its tightest (calls / seconds)."""
    return min(calls / seconds for calls, seconds in limits)


def run_enrich(env: dict[str, str]) -> tuple[float, float, str, str]:
    """``pv2simkl enrich`` in its own process: wall, peak RSS, stdout, stderr. Run from the
    ``--code`` folder when one is given (``-m`` puts the working folder first on the path)."""
    start = time.perf_counter()
    cwd = env.get("PYTHONPATH", "").split(os.pathsep)[0] or ROOT
    proc = subprocess.Popen([sys.executable, "-m", "pv2simkl", "enrich"], env=env, cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    out, err = proc.communicate()  # both pipes at once: neither can fill up and block
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"enrich failed:\n{err.decode()}")
    # The largest RSS of any child reaped so far: the first call's is that run's own.
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return wall, peak, out.decode(), err.decode()


def service_env(mock: MockServices, data: Path, code: Path | None, **extra: str) -> dict:
    """The environment of ``pv2simkl enrich``: the store, every key, the mock's URLs."""
    env = {**os.environ, "PV2SIMKL_DATA_DIR": str(data),
           "PV2SIMKL_SIMKL_CLIENT_ID": DEFAULT_KEYS["simkl"],
           "PV2SIMKL_TMDB_TOKEN": DEFAULT_KEYS["tmdb"],
           "PV2SIMKL_TVDB_API_KEY": DEFAULT_KEYS["tvdb"],
           "PV2SIMKL_MAL_CLIENT_ID": DEFAULT_KEYS["mal"],
           "PV2SIMKL_OMDB_API_KEY": DEFAULT_KEYS["omdb"], **extra}  # fmt: skip
    if code is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(code), env.get("PYTHONPATH", "")]).strip(
            os.pathsep
        )
    for service, url in mock.base_urls.items():
        env[f"PV2SIMKL_{service.upper()}_BASE_URL"] = url
    return env


# -- accuracy ----------------------------------------------------------------------------

IDS = ("simkl", "tmdb", "tvdb", "imdb", "mal")


def verdict(found: dict, truth: object | None) -> str:
    """``right``, ``wrong`` (an id of another work), ``open`` (unmatched) for one work.

    Right when every id stored is the true work's (at least one); for a work that should
    stay open (``truth`` None: a remake with nothing to tell them apart, or a title no
    service knows), right when nothing was matched.
    """
    stored = {f: found[f] for f in IDS if found.get(f) is not None}
    if truth is None:
        return "right" if not stored else "wrong"
    if not stored:
        return "open"
    for f, value in stored.items():
        if getattr(truth, f) != value:
            return "wrong"
    return "right"


def stored_works(data: Path) -> list[dict]:
    import sqlite3

    with sqlite3.connect(data / "pv2simkl.sqlite3") as db:
        db.row_factory = sqlite3.Row
        rows = db.execute(
            "SELECT title, kind, simkl_id AS simkl, tmdb_id AS tmdb, tvdb_id AS tvdb,"
            " imdb_id AS imdb, mal_id AS mal, match_provider FROM works"
        ).fetchall()
    return [dict(r) for r in rows]


def works_accuracy(catalog: Catalog, data: Path) -> Counter[str]:
    """Every stored work against the catalog work of its title."""
    by_title = {(fold(w.title), w.is_movie): w for w in catalog}
    out: Counter[str] = Counter()
    for row in stored_works(data):
        truth = by_title.get((fold(row["title"]), row["kind"] == "movie"))
        out[verdict(row, truth)] += 1
    return out


# (title as Prime shows it, kind, locale, year hint, first watch, the work it is: a key of
# fixtures.services.catalog.hard_cases, or None where the right answer is to ask the user)
HARD_TABLE: list[tuple[str, str, str, int | None, str, str | None]] = [
    ("Dune", "movie", "en_US", None, "1995-05-01", "movie:dune-1984"),  # 2021's came later
    ("Der Pate", "movie", "de_DE", None, "2020-02-01", "movie:der-pate"),
    ("The Office", "show", "en_US", 2005, "2012-03-01", "tv:the-office-us"),
    ("Berserk", "show", "en_US", 2016, "2018-03-01", "tv:berserk-2016"),
    ("Quiet Harbour Lights", "movie", "en_US", None, "2020-01-01", "movie:only-tmdb"),
    ("The Unfindable Nobody Film", "movie", "en_US", None, "2020-01-01", None),
    ("Crouching Tiger, Hidden Dragon", "movie", "en_US", None, "2021-01-01",
     "movie:crouching-tiger"),
    ("#Alive", "movie", "en_US", None, "2021-01-01", "movie:alive"),
    ("100% Wolf", "movie", "en_US", None, "2021-01-01", "movie:100-wolf"),
    ("Face/Off", "movie", "en_US", None, "2021-01-01", "movie:face-off"),
    ("千と千尋の神隠し", "movie", "ja_JP", None, "2021-01-01", "anime:spirited-away"),
    ("Tom & Jerry", "movie", "en_US", None, "2022-01-01", "movie:tom-and-jerry"),
    ("Schindlers Liste", "movie", "de_DE", None, "2021-01-01", "movie:schindlers-list"),
    ("Ocean's Eleven", "movie", "en_US", None, "2019-06-01", None),  # a remake: ask
    ("Die fabelhafte Welt der Amélie", "movie", "de_DE", None, "2021-01-01", "movie:amelie"),
    ("Cidade de Deus", "movie", "pt_BR", None, "2021-01-01", "movie:city-of-god"),
    ("Das Boot", "show", "de_DE", 2018, "2020-01-01", "tv:das-boot"),
    ("Haus des Geldes", "show", "de_DE", None, "2019-01-01", "tv:money-heist"),
    ("REACHER", "show", "en_US", None, "2023-01-01", "tv:reacher"),
    ("Landman", "show", "en_US", None, "2025-01-01", "tv:landman"),
    ("Mentalist", "show", "fr_FR", None, "2015-01-01", "tv:the-mentalist"),
    ("Glass Harbor", "movie", "en_US", None, "2025-05-01", "movie:glass-harbor-2019"),
]  # fmt: skip


def hard_case_accuracy(code: Path | None, out_dir: Path) -> tuple[Counter[str], list[str]]:
    """The hard-case table resolved by ``pv2simkl enrich`` (of ``code``) against a mock of
    the hard cases; the verdict counts and one line per title."""
    works = {w.key: w for w in hard_cases()}
    data = out_dir / "hard"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    events = []
    for title, kind, locale, year, day, _ in HARD_TABLE:
        when = datetime.fromisoformat(day).replace(hour=20, tzinfo=UTC)
        if kind == "movie":
            events.append(WatchEvent(kind="movie", title=title, watched_at=when, source="api",
                                     locale=locale, year=year))  # fmt: skip
        else:
            events.append(WatchEvent(kind="episode", title=title, season=1, episode=1,
                                     watched_at=when, source="api", locale=locale, year=year,
                                     gti=f"hard-{title}"))  # fmt: skip
    store = Store(data / "pv2simkl.sqlite3")
    store.add_import(events, path="hard", sha256="hard", source="api")
    store.close()
    catalog = catalog_from_titles("hard", [], [])
    fast = {s: [(200, 1.0)] for s in ("simkl", "tmdb", "tvdb", "mal", "jikan", "imdbapi", "omdb")}
    with MockServices(catalog, limits=fast) as mock:
        limits = {f"PV2SIMKL_{s.upper()}_LIMITS": "150/1" for s in fast}
        run_enrich(service_env(mock, data, code, **limits))
    found = {(fold(r["title"]), r["kind"]): r for r in stored_works(data)}
    counts: Counter[str] = Counter()
    lines = []
    for title, kind, _, _, _, key in HARD_TABLE:
        row = found[(fold(title), kind)]
        result = verdict(row, works[key] if key else None)
        counts[result] += 1
        lines.append(f"  {result:5}  {title} -> {key or 'left open'} (via {row['match_provider']})")
    return counts, lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--works", type=int, default=1500)
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "enrich")
    parser.add_argument("--code", type=Path, help="run pv2simkl from this package's folder")
    parser.add_argument("--accuracy-only", action="store_true", help="only the hard cases")
    args = parser.parse_args()

    args.out.mkdir(parents=True, exist_ok=True)
    hard, hard_lines = hard_case_accuracy(args.code, args.out)
    print(f"hard-case table ({len(HARD_TABLE)} titles): {dict(hard)}")
    print("\n".join(hard_lines))
    if args.accuracy_only:
        return

    catalog, events = build(args.works, args.events, args.seed)
    data = args.out / "works"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    store = Store(data / "pv2simkl.sqlite3")
    store.add_import(events, path="bench", sha256="bench", source="api")
    counts = store.counts()
    store.close()
    print(f"{counts['events']} events of {counts['works']} works; catalog of {len(catalog)}")

    with MockServices(catalog, latency=args.latency) as mock:
        env = service_env(mock, data, args.code)
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
    movies = sum(1 for w in catalog if w.is_movie)
    anime = sum(1 for w in catalog if w.kind == "anime")
    shows = len(catalog) - movies - anime
    documented = {s: sustained(DEFAULT_LIMITS[s]) for s in PLAN_SERVICES}
    together = plan_floor(movies, shows, anime, documented)
    from pv2simkl.config import load_settings, parse_limits

    settings = load_settings(env={})
    configured = {s: sustained(parse_limits(settings.provider(s).limits)) for s in PLAN_SERVICES}
    together_client = plan_floor(movies, shows, anime, configured)
    surfaced = sum(1 for line in err.splitlines() if "throttled" in line or "wait" in line)
    accuracy = works_accuracy(catalog, data)
    print(out.strip())
    print()
    print("| figure | value |")
    print("|---|---|")
    print(f"| works / events | {counts['works']} / {counts['events']} |")
    print(f"| movies / shows / anime in the catalog | {movies} / {shows} / {anime} |")
    print(f"| wall time, first run | {wall:.1f} s |")
    print(f"| floor of all services together, documented limits | {together:.1f} s |")
    print(f"| floor of all services together, the client's configured limits | "
          f"{together_client:.1f} s |")  # fmt: skip
    print(
        f"| floor of the requests made (bottleneck: {max(floors, key=floors.get)}) "
        f"| {floor:.1f} s |"
    )
    print(f"| wall / floor of the requests made | {wall / floor:.3f} |" if floor else "| n/a |")
    print(f"| requests sent (per service) | {sum(sent.values())} ({dict(sent)}) |")
    print(f"| distinct requests needed | {distinct} |")
    print(f"| sent / needed | {sum(sent.values()) / max(distinct, 1):.3f} |")
    absorbed = sum(refused.values())
    print(f"| 429 (or MAL 403) answered by the mock, absorbed by the client | {absorbed} |")
    print(f"| 429s that reached the resolver | {surfaced} |")
    print(f"| peak RSS of `pv2simkl enrich` | {rss:.0f} MB |")
    print(f"| second run: requests / wall | {second} / {wall2:.1f} s |")
    print(f"| works right / wrong / left open | {accuracy['right']} / {accuracy['wrong']} / "
          f"{accuracy['open']} |")  # fmt: skip
    print(f"| hard-case table right / wrong / left open | {hard['right']} / {hard['wrong']} / "
          f"{hard['open']} of {len(HARD_TABLE)} |")  # fmt: skip
    print(f"| per-service floors | { {k: round(v, 1) for k, v in floors.items()} } |")
    providers = Counter(r["match_provider"] for r in stored_works(data))
    print(f"| works matched per service | {dict(providers)} |")
    paths = Counter((r.service, re.sub(r"/(tt)?\d+", "/{id}", r.path)) for r in log)
    print("\nrequests per route:")
    for (service, path), n in sorted(paths.items()):
        print(f"  {service:8} {path:32} {n}")
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
