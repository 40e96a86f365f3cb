"""Many writers, one store (issue 9): the daemon and three CLI imports at once, many rounds.

Each round takes one locale of ``fixtures/samples`` and a fresh data folder, starts
``pv2simkl daemon`` (a sync every minute, a short settle time, no fetch, no enrich), and
once it is up, at the same instant: drops the data export, the saved page and the API
pages (a random part of them) into its inbox, and starts three ``pv2simkl import``
processes of overlapping files (export ZIP + page; API + layout-A export; page + API +
export ZIP). When the CLIs are done and the inbox is empty, the daemon is stopped
(SIGTERM) and the store must hold exactly the events one sequential import of every file
gives: the same multiset of (kind, title, season, episode, gti, precision), so nothing
missing and nothing twice, with every exit code 0 and no file in ``failed/``.

    python bench/concurrency.py [--rounds 50] [--seed 9]

``tests/store/test_store_concurrency.py`` runs one such round.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SAMPLES = ROOT / "fixtures" / "samples"
OUT = ROOT / "bench" / "out" / "concurrency"
LOCALES = ("en-US", "de-DE", "fr-FR", "it-IT", "ja-JP", "pt-BR", "es-ES", "en-GB")
FILES = ("export-c.zip", "saved-page-expanded.html", "api", "export-a")
CLI_LISTS = (
    ("export-c.zip", "saved-page-expanded.html"),
    ("api", "export-a"),
    ("saved-page-expanded.html", "api", "export-c.zip"),
)


def environment(folder: Path) -> dict[str, str]:
    """The daemon's and the CLIs' settings: their own data folder and home, nothing online."""
    home = folder / "home"
    base = {k: v for k, v in os.environ.items() if not k.startswith("PV2SIMKL_")}
    return {
        **base, "HOME": str(home), "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"), "XDG_STATE_HOME": str(home / "state"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        "PV2SIMKL_DATA_DIR": str(folder / "data"), "PV2SIMKL_INBOX": str(folder / "inbox"),
        "PV2SIMKL_OFFLINE": "1", "PV2SIMKL_DAEMON_FETCH": "0", "PV2SIMKL_DAEMON_ENRICH": "0",
        "PV2SIMKL_DAEMON_SETTLE_SECONDS": "0.1", "PV2SIMKL_DAEMON_CRON": "* * * * *",
        "PV2SIMKL_DAEMON_JITTER_SECONDS": "0", "PV2SIMKL_EXPORT_TIMEZONE": "UTC",
    }  # fmt: skip


def signature(db: Path) -> Counter[tuple]:
    """The stored events as a multiset of what identifies them (not which source's row was
    kept, nor its exact instant: those depend on which file came first)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT e.kind, w.title, e.season, e.episode, e.gti, e.precision"
            " FROM events e JOIN works w ON w.id = e.work_id"
        ).fetchall()
    finally:
        conn.close()
    return Counter(rows)


def start(folder: Path, *args: str) -> subprocess.Popen:
    """``pv2simkl ARGS...`` with the round's settings, started now (output captured)."""
    return subprocess.Popen(
        [sys.executable, "-m", "pv2simkl", *args], cwd=ROOT, env=environment(folder),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def cli(folder: Path, *paths: Path) -> subprocess.Popen:
    """``pv2simkl import PATH...`` on the round's store, started now."""
    return start(folder, "-q", "import", *map(str, paths))


def sequential(folder: Path, paths: list[Path]) -> Counter[tuple]:
    """One plain ``import`` of every file, one after the other, into a fresh store."""
    shutil.rmtree(folder, ignore_errors=True)
    done = cli(folder, *paths)
    _, err = done.communicate(timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"the sequential import failed: {err[-500:]}")
    return signature(folder / "data" / "pv2simkl.sqlite3")


def inbox_files(locale: str, rng: random.Random) -> list[Path]:
    """Some of the locale's single files (the inbox takes files, not folders): the export
    ZIP and the page, each most of the time, and two of the API pages."""
    folder = SAMPLES / locale
    files = [folder / "export-c.zip", folder / "saved-page-expanded.html"]
    pages = sorted((folder / "api").glob("page-*.json"))
    return [f for f in files if rng.random() < 0.7] + rng.sample(pages, min(2, len(pages)))


def _wait(condition, timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def _moved(inbox: Path) -> set[str]:
    return {
        p.name for sub in ("processed", "failed") if (inbox / sub).is_dir()
        for p in (inbox / sub).iterdir() if not p.name.endswith(".error.txt")
    }  # fmt: skip


def one_round(folder: Path, locale: str, rng: random.Random) -> dict:
    """The daemon plus three CLI imports at once on one fresh store; what came of it."""
    shutil.rmtree(folder, ignore_errors=True)
    inbox = folder / "inbox"
    inbox.mkdir(parents=True)
    env = environment(folder)
    started = time.monotonic()
    daemon = subprocess.Popen(
        [sys.executable, "-m", "pv2simkl", "daemon"], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        state = folder / "data" / "state" / "daemon.json"
        if not _wait(lambda: state.exists() or daemon.poll() is not None, 60):
            raise SystemExit("the daemon did not start within 60 s")
        dropped = inbox_files(locale, rng)
        for path in dropped:  # under a hidden name first, as a browser saves
            tmp = inbox / f".{path.name}.tmp"
            shutil.copy(path, tmp)
            os.replace(tmp, inbox / path.name)
        clis = [cli(folder, *(SAMPLES / locale / name for name in names)) for names in CLI_LISTS]
        outputs = [p.communicate(timeout=300) for p in clis]
        names = {p.name for p in dropped}
        drained = _wait(lambda: names <= _moved(inbox), 120)
        alive = daemon.poll() is None
        daemon.send_signal(signal.SIGTERM)
        _, daemon_err = daemon.communicate(timeout=60)
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
    failed = sorted(p.name for p in (inbox / "failed").glob("*") if (inbox / "failed").is_dir())
    return {
        "locale": locale,
        "inbox_files": len(dropped),
        "cli_exit_codes": [p.returncode for p in clis],
        "cli_errors": [err.strip()[-300:] for _, err in outputs if err.strip()],
        "daemon_alive": alive,
        "daemon_exit_code": daemon.returncode,
        "daemon_errors": [
            line
            for line in daemon_err.splitlines()
            if line.startswith(("ERROR", "Traceback")) and not _watchdog_shutdown(line)
        ][-3:],
        "watchdog_at_stop": sum(map(_watchdog_shutdown, daemon_err.splitlines())),
        "inbox_drained": drained,
        "failed": failed,
        "stored": signature(folder / "data" / "pv2simkl.sqlite3"),
        "wall_s": time.monotonic() - started,
    }


def _watchdog_shutdown(line: str) -> bool:
    """watchdog's own thread logs this when an inotify event races the observer's stop on
    SIGTERM; no file or event of ours is involved (the counts are judged separately)."""
    return "queue_events() called when the thread is inactive" in line


def judge(result: dict, reference: Counter[tuple]) -> list[str]:
    """What went wrong in a round; empty when it ended as one sequential import would."""
    problems = []
    stored = result["stored"]
    if stored != reference:
        missing, extra = sum((reference - stored).values()), sum((stored - reference).values())
        problems.append(f"events: {missing} missing, {extra} extra")
    if any(result["cli_exit_codes"]) or result["cli_errors"]:
        problems.append(f"CLI: {result['cli_exit_codes']} {result['cli_errors']}")
    if not result["daemon_alive"] or result["daemon_exit_code"] != 0:
        problems.append(f"daemon: exit {result['daemon_exit_code']}")
    if result["daemon_errors"] or result["failed"] or not result["inbox_drained"]:
        problems.append(f"inbox: {result['failed']} {result['daemon_errors']}")
    return problems


def run(rounds: int, seed: int, out: Path = OUT, *, verbose: bool = True) -> dict:
    """``rounds`` rounds; the figures for bench/README.md."""
    rng = random.Random(seed)
    references: dict[str, Counter[tuple]] = {}
    problems: list[str] = []
    walls, events, equal, noise = [], [], 0, 0
    begin = time.monotonic()
    for number in range(rounds):
        locale = LOCALES[number % len(LOCALES)]
        if locale not in references:
            paths = [SAMPLES / locale / name for name in FILES]
            references[locale] = sequential(out / "sequential", paths)
            again = sequential(out / "sequential", paths[::-1])  # the order does not matter
            if again != references[locale]:
                raise SystemExit(f"{locale}: two sequential orders disagree; no reference")
        result = one_round(out / "round", locale, rng)
        found = judge(result, references[locale])
        problems += [f"round {number} ({locale}): {p}" for p in found]
        equal += result["stored"] == references[locale]
        noise += result["watchdog_at_stop"]
        walls.append(result["wall_s"])
        events.append(sum(result["stored"].values()))
        if verbose:
            verdict = "ok" if not found else "; ".join(found)
            files, wall = result["inbox_files"], result["wall_s"]
            print(f"round {number:3d} {locale}: {events[-1]} events, {files} inbox files, "
                  f"{wall:.1f} s: {verdict}")  # fmt: skip
    summary = {
        "rounds": rounds,
        "rounds_with_the_events_of_a_sequential_import": equal,
        "rounds_without_any_problem": rounds - len({p.split(":")[0] for p in problems}),
        "problems": problems,
        "watchdog_shutdown_lines_ignored": noise,
        "events_per_round": f"{min(events)}-{max(events)}",
        "writers_per_round": 1 + len(CLI_LISTS),
        "round_wall_s": f"{min(walls):.1f}-{max(walls):.1f}",
        "wall_s": round(time.monotonic() - begin, 1),
    }
    if verbose:
        print(json.dumps(summary, indent=2))
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--seed", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        out = OUT if OUT.parent.is_dir() else Path(scratch)
        summary = run(args.rounds, args.seed, out)
    raise SystemExit(1 if summary["problems"] else 0)


if __name__ == "__main__":
    main()
