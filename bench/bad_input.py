"""Bad input: a thousand malformed files dropped into a running daemon's inbox.

Truncated pages, exports and replies, random bytes, huge files, the wrong encoding, valid
JSON of the wrong shape, empty files. Each must end in ``failed/`` with a one-sentence
``.error.txt``, the daemon must stay up, and SIGTERM must still end it with exit code 0.

    python bench/bad_input.py [--files 1000]

``tests/daemon/test_bad_input.py`` drops a few dozen.
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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "fixtures" / "samples"


def malformed(rng: random.Random, i: int) -> tuple[str, bytes]:
    """One bad file: (name, bytes). Every kind fails for a reason a person can act on."""
    page = (SAMPLES / "de-DE" / "saved-page-expanded.html").read_bytes()
    api = (SAMPLES / "en-US" / "api" / "page-0001.json").read_bytes()
    kind = i % 8
    if kind == 0:  # a page cut before its end
        return f"page-{i}.html", page[: rng.randrange(100, len(page) - 200)]
    if kind == 1:  # an API reply cut short
        return f"reply-{i}.json", api[: rng.randrange(10, len(api) - 10)]
    if kind == 2:  # random bytes
        return f"random-{i}.bin", rng.randbytes(rng.randrange(1, 20_000))
    if kind == 3:  # the wrong encoding: the page re-encoded as UTF-16
        return f"utf16-{i}.html", page.decode("utf-8").encode("utf-16")
    if kind == 4:  # valid JSON of the wrong shape
        shape = rng.choice([[], {}, {"widgets": []}, {"props": {"widgets": [1, 2]}}, "text", 42])
        return f"shape-{i}.json", json.dumps(shape).encode()
    if kind == 5:  # huge and meaningless
        return f"huge-{i}.txt", b"x" * rng.randrange(5_000_000, 12_000_000)
    if kind == 6:  # a ZIP cut in half
        data = (SAMPLES / "fr-FR" / "export-c.zip").read_bytes()
        return f"export-{i}.zip", data[: len(data) // 2]
    return f"empty-{i}.csv", b""  # empty


def run(folder: Path, files: int, *, verbose: bool = True) -> dict:
    shutil.rmtree(folder, ignore_errors=True)
    inbox = folder / "inbox"
    inbox.mkdir(parents=True)
    env = {
        **os.environ, "PV2SIMKL_DATA_DIR": str(folder / "data"), "PV2SIMKL_INBOX": str(inbox),
        "PV2SIMKL_OFFLINE": "1", "PV2SIMKL_DAEMON_SETTLE_SECONDS": "0.2",
        "PV2SIMKL_DAEMON_FETCH": "0", "PV2SIMKL_DAEMON_ENRICH": "0",
    }  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-m", "pv2simkl", "daemon"], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    rng = random.Random(5)
    start = time.perf_counter()
    try:
        for i in range(files):
            name, data = malformed(rng, i)
            tmp = inbox / f".{name}.part"
            tmp.write_bytes(data)
            tmp.rename(inbox / name)  # as a browser does: write, then rename
        deadline = time.monotonic() + 60 + files * 0.5
        failed = inbox / "failed"
        while time.monotonic() < deadline:
            done = len(list(failed.glob("*.error.txt"))) if failed.exists() else 0
            if (
                done + len(list((inbox / "processed").glob("*"))) >= files
                or proc.poll() is not None
            ):
                break
            time.sleep(0.5)
        alive = proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    notes = list((inbox / "failed").glob("*.error.txt"))
    one_line = all(len(p.read_text(encoding="utf-8").strip().splitlines()) == 1 for p in notes)
    processed = list((inbox / "processed").glob("*")) if (inbox / "processed").exists() else []
    result = {"files": files, "failed_with_reason": len(notes), "processed": len(processed),
              "left_in_inbox": len([p for p in inbox.iterdir() if p.is_file()]),
              "daemon_alive_throughout": alive, "exit_code_on_sigterm": code,
              "one_sentence_reasons": one_line, "wall_s": round(time.perf_counter() - start, 1),
              "reasons": sorted({p.read_text()[:70] for p in notes})[:12]}  # fmt: skip
    if verbose:
        print(json.dumps(result, indent=2))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "bad-input")
    args = parser.parse_args()
    result = run(args.out, args.files)
    ok = result["failed_with_reason"] == args.files and result["daemon_alive_throughout"]
    raise SystemExit(0 if ok and result["exit_code_on_sigterm"] == 0 else 1)


if __name__ == "__main__":
    main()
