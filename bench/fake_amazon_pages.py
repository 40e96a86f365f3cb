"""How fast the fake Amazon serves a 20,000-event account, page by page.

The client tests page through this account with the default timeouts, so each page must
come back well under them. The test suite only checks that every page is served and
every event arrives (``tests/fixtures_gen/test_fake_amazon.py``); the times are here.

    python bench/fake_amazon_pages.py [--events 20000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import quote

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fixtures.fake_amazon import FakeAmazon  # noqa: E402
from fixtures.generator import build_history  # noqa: E402
from pv2simkl.formats.history_json import find_history_widget  # noqa: E402

HISTORY = "/region/na/api/getWatchHistorySettingsPage"


def page_times(fake: FakeAmazon) -> list[float]:
    """Seconds each page of the history API took, first to last, on one kept-alive client."""
    times: list[float] = []
    token: str | None = None
    with httpx.Client(
        base_url=fake.url, cookies=fake.issue_session(), timeout=30,
        headers={"x-requested-with": "XMLHttpRequest"},
    ) as client:  # fmt: skip
        while len(times) <= len(fake.tokens):
            args = quote(json.dumps({"nextToken": token} if token else {}), safe="")
            start = time.perf_counter()
            r = client.get(f"{HISTORY}?widgetArgs={args}")
            times.append(time.perf_counter() - start)
            r.raise_for_status()
            token = find_history_widget(r.json())["content"]["content"].get("nextToken")
            if not token:
                break
    return times


def run(events: int, rounds: int) -> dict:
    start = time.perf_counter()
    history = build_history(8, events)
    built = time.perf_counter() - start
    with FakeAmazon(history) as fake:
        times = [t for _ in range(rounds) for t in page_times(fake)]
    ms = sorted(t * 1000 for t in times)
    return {
        "events": events, "pages_per_round": len(times) // rounds, "rounds": rounds,
        "history_build_s": round(built, 2),
        "page_ms_median": round(statistics.median(ms), 1),
        "page_ms_p95": round(ms[int(len(ms) * 0.95)], 1), "page_ms_max": round(ms[-1], 1),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(run(args.events, args.rounds), indent=2))


if __name__ == "__main__":
    main()
