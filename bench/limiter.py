"""The rate limiter against a server that counts requests per window, in real time.

The tests check the limiter's windows, margin and holds exactly on a fake clock
(``tests/providers/test_http.py``). What only real time shows is how much of the margin
the trip from the limiter to the server eats: a request leaves the limiter, waits for a
thread, a connection and the server's accept, and arrives later than it was counted.
Each run sends requests from 16 threads through :class:`RateLimiter` (10 a second) to a
local server that refuses (429) the eleventh request inside any second, with the margin
off and at its default, on an idle machine and with a busy-looping process beside it.

    python bench/limiter.py [--requests 60]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pv2simkl.net import RateLimiter  # noqa: E402

CALLS, SECONDS = 10, 1.0


class Window:
    """Arrivals admitted inside the last ``SECONDS``; the rest refused."""

    def __init__(self) -> None:
        self.accepted: list[float] = []
        self.refused = 0
        self.lock = threading.Lock()

    def admit(self) -> bool:
        now = time.monotonic()
        with self.lock:
            if sum(now - t < SECONDS for t in self.accepted) >= CALLS:
                self.refused += 1
                return False
            self.accepted.append(now)
            return True


def serve(window: Window) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_GET(self) -> None:  # noqa: N802 - stdlib name
            status = 200 if window.admit() else 429
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def one_run(margin: float, requests: int) -> dict:
    window = Window()
    server = serve(window)
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    limiter = RateLimiter([(CALLS, SECONDS)], margin)
    start = time.perf_counter()
    with httpx.Client(limits=httpx.Limits(max_connections=16)) as client:

        def send(_: int) -> int:
            limiter.acquire()
            return client.get(url).status_code

        with ThreadPoolExecutor(16) as pool:
            statuses = list(pool.map(send, range(requests)))
    wall = time.perf_counter() - start
    server.shutdown()
    server.server_close()
    return {
        "margin": margin, "requests": requests, "refused_429": statuses.count(429),
        "wall_s": round(wall, 2), "rate_per_s": round(requests / wall, 2),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=60)
    args = parser.parse_args()
    results = []
    for load in (False, True):
        hog = None
        if load:
            hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            for margin in (0.0, 0.05):
                results.append({"busy_process": load, **one_run(margin, args.requests)})
        finally:
            if hog is not None:
                hog.kill()
                hog.wait()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
