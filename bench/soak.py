"""Soak: many sync cycles at an accelerated clock, with faults, in one process.

Each cycle is what the daemon's scheduler runs (``pipeline.sync``) against a fake Amazon
and the mock metadata services, with no waiting between cycles (the accelerated clock).
Faults rotate through the cycles: provider 5xx bursts, 429s, timeouts, malformed JSON; a
malformed and a half-written inbox file; an expired Amazon session; an export folder that
cannot be written (a file where the folder should be: root ignores read-only modes).
New watch events arrive every cycle. At the end every good event must be exported, none
twice in a batch, the store intact; memory growth after warm-up is reported.

    python bench/soak.py [--cycles 1000]

``tests/daemon/test_soak.py`` runs the same loop for a few dozen cycles.
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fixtures.fake_amazon import (  # noqa: E402
    TEST_EMAIL,
    TEST_PASSWORD,
    TEST_TOTP_SECRET,
    FakeAmazon,
)
from fixtures.generator import build_history  # noqa: E402
from fixtures.services import DEFAULT_KEYS, MockServices  # noqa: E402
from fixtures.services.catalog import catalog_from_history  # noqa: E402
from pv2simkl import net, pipeline  # noqa: E402
from pv2simkl.config import load_settings  # noqa: E402
from pv2simkl.store import integrity_ok  # noqa: E402

FAST = {s: [(500, 1.0)] for s in ("simkl", "tmdb", "tvdb", "mal", "jikan", "imdbapi", "omdb")}
PROVIDER_FAULTS = [
    ("simkl", "503"), ("tmdb", "429"), ("jikan", "timeout"), ("imdbapi", "malformed-json"),
    ("omdb", "500"), ("tvdb", "expired-token"),
]  # fmt: skip


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run(folder: Path, cycles: int, *, verbose: bool = True) -> dict:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    history = build_history(17, 200, "en-US")
    problems: list[str] = []
    memory: list[float] = []
    errors_seen: dict[str, int] = {}
    added_rows = 0
    with (
        FakeAmazon(history, page_sections=10) as amazon,
        MockServices(catalog_from_history(history), limits=FAST) as services,
        net.no_backoff(attempts=3),
    ):
        env = {
            "PV2SIMKL_DATA_DIR": str(folder / "data"), "PV2SIMKL_INBOX": str(folder / "inbox"),
            "PV2SIMKL_AMAZON_SIGNIN_URL": amazon.signin_url,
            "PV2SIMKL_AMAZON_STARTUP_CONFIG_URL": amazon.startup_config_url,
            "PV2SIMKL_AMAZON_CATALOG_URL": amazon.url, "PV2SIMKL_AMAZON_EMAIL": TEST_EMAIL,
            "PV2SIMKL_AMAZON_PASSWORD": TEST_PASSWORD,
            "PV2SIMKL_AMAZON_TOTP_SECRET": TEST_TOTP_SECRET,
            "PV2SIMKL_DAEMON_SETTLE_SECONDS": "0", "PV2SIMKL_EXPORT_TIMEZONE": "UTC",
            "PV2SIMKL_EXPORT_KEEP_FILES": "0",
            "PV2SIMKL_SIMKL_CLIENT_ID": DEFAULT_KEYS["simkl"],
            "PV2SIMKL_TMDB_TOKEN": DEFAULT_KEYS["tmdb"],
            "PV2SIMKL_TVDB_API_KEY": DEFAULT_KEYS["tvdb"],
            "PV2SIMKL_OMDB_API_KEY": DEFAULT_KEYS["omdb"],
            "PV2SIMKL_MAL_CLIENT_ID": DEFAULT_KEYS["mal"],
        }  # fmt: skip
        for service, url in services.base_urls.items():
            env[f"PV2SIMKL_{service.upper()}_BASE_URL"] = url
            env[f"PV2SIMKL_{service.upper()}_LIMITS"] = "400/1"
            env[f"PV2SIMKL_{service.upper()}_TIMEOUT"] = "0.5"
        ctx = pipeline.Context.create(load_settings(env=env))
        inbox = ctx.paths.inbox
        inbox.mkdir(parents=True, exist_ok=True)
        exports = ctx.paths.export_dir
        start = time.perf_counter()
        for cycle in range(cycles):
            services.clear_faults()
            service, mode = PROVIDER_FAULTS[cycle % len(PROVIDER_FAULTS)]
            services.fault(service, mode, times=1 if mode == "timeout" else 3)
            added_rows += len(amazon.add_events(1))
            if cycle % 5 == 1:
                (inbox / f"bad-{cycle}.json").write_bytes(b'{"widgets": [{"widgetType": "wat')
            if cycle % 5 == 2:
                (inbox / f"half-{cycle}.html.part").write_bytes(b"<!DOCTYPE html><html><bo")
            if cycle % 7 == 3:
                amazon.expire_session()
            blocked = cycle % 11 == 5
            aside = exports.with_name("exports-aside")
            if blocked:  # the export folder cannot be written this cycle
                exports.mkdir(parents=True, exist_ok=True)
                exports.rename(aside)
                exports.write_text("in the way")
            report = pipeline.sync(ctx, kind="soak")
            for error in report.errors:
                step = error.split(":", 1)[0]
                errors_seen[step] = errors_seen.get(step, 0) + 1
            if blocked:
                exports.unlink()
                aside.rename(exports)
            # The fakes run in this process: their request logs are theirs, not pv2simkl's.
            services.reset_log()
            amazon.reset_log()
            if cycle % 10 == 0 or cycle == cycles - 1:
                gc.collect()
                memory.append(round(rss_mb(), 1))
        wall = time.perf_counter() - start
        pipeline.sync(ctx, kind="soak-final")
        counts = ctx.store.counts()
        if counts["unexported"]:
            problems.append(f"{counts['unexported']} events never exported")
        batches: dict[str, set] = {}
        for path in sorted(exports.glob("simkl-*.csv")):
            stamp = path.name.split("-part")[0]
            with open(path, encoding="utf-8", newline="") as fh:
                for row in csv.DictReader(fh):
                    key = (row["Type"], row["Title"])
                    if key in batches.setdefault(stamp, set()):
                        problems.append(f"{key} twice in {stamp}")
                    batches[stamp].add(key)
        titles = {t for keys in batches.values() for _, t in keys}
        for row in ctx.store.iter_events():
            if row.title not in titles:
                problems.append(f"{row.title!r} stored but in no CSV")
                break
        failed = len(list((inbox / "failed").glob("*.error.txt")))
        ctx.close()
        ok = integrity_ok(folder / "data" / "pv2simkl.sqlite3")
    warm = memory[len(memory) // 5] if len(memory) > 5 else memory[0]
    result = {
        "cycles": cycles, "wall_s": round(wall, 1), "events": counts["events"],
        "new_events_added": added_rows, "failed_inbox_files": failed,
        "step_errors_absorbed": errors_seen, "rss_mb_after_warmup": warm,
        "rss_mb_end": memory[-1],
        "growth_after_warmup_pct": round((memory[-1] - warm) / warm * 100, 1),
        "integrity_ok": ok, "problems": problems[:10],
    }  # fmt: skip
    if verbose:
        print(json.dumps(result, indent=2))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "soak")
    args = parser.parse_args()
    result = run(args.out, args.cycles)
    raise SystemExit(1 if result["problems"] or not result["integrity_ok"] else 0)


if __name__ == "__main__":
    main()
