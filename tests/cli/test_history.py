"""`pv2simkl history`: filters done in SQL, plain aligned columns in local time, a pager on a
terminal (a real pty), a quiet end into a closed pipe."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import struct
import subprocess
import sys
import termios
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from pv2simkl.cli import app

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "fixtures" / "samples" / "en-US" / "saved-page-expanded.html"
EXPECTED = [
    json.loads(line)
    for line in (ROOT / "fixtures" / "samples" / "en-US" / "saved-page-expanded.expected.jsonl")
    .read_text(encoding="utf-8")
    .splitlines()
]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The en-US sample page (59 watches, 20 of them movies) and a file of two movies with
    non-ASCII titles."""
    folder = tmp_path_factory.mktemp("history")
    extra = folder / "two.csv"
    extra.write_text('Date Watched,Type,Title,Episode\n2026-09-02,Movie,"Ärger im Paradies",\n'
                     '2026-09-01,Movie,"ÉCOLE DES FEMMES",\n', encoding="utf-8")  # fmt: skip
    result = CliRunner().invoke(
        app, ["--data-dir", str(folder / "data"), "import", str(PAGE), str(extra)],
        env={"PV2SIMKL_OFFLINE": "1"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return folder / "data"


@pytest.fixture
def berlin(monkeypatch: pytest.MonkeyPatch):
    """Local time is Berlin's for this test."""
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    yield ZoneInfo("Europe/Berlin")
    monkeypatch.undo()
    time.tzset()


def history(data: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--data-dir", str(data), "history", *args])
    return result.exit_code, result.stdout, result.stderr


def jsonl(data: Path, *args: str) -> list[dict]:
    code, out, err = history(data, "--format", "jsonl", *args)
    assert code == 0, err
    return [json.loads(line) for line in out.splitlines()]


# ---- filters ------------------------------------------------------------------------------


def test_every_watch_oldest_first_without_filters(store: Path) -> None:
    rows = jsonl(store)
    assert len(rows) == 61
    assert [r["watched_at"] for r in rows] == sorted(r["watched_at"] for r in rows)
    assert sorted(json.dumps(r, sort_keys=True) for r in rows if r["source"] == "page") == sorted(
        json.dumps(r, sort_keys=True) for r in EXPECTED)  # fmt: skip


def test_kind_title_since_and_limit_filter(store: Path, berlin) -> None:
    everything = jsonl(store)
    movies = jsonl(store, "--kind", "movie")
    assert len(movies) == 22 and {r["kind"] for r in movies} == {"movie"}
    episodes = jsonl(store, "--kind", "episode")
    assert len(episodes) == 39 and {r["kind"] for r in episodes} == {"episode"}
    mentalist = jsonl(store, "--title", "mENTALIST")
    assert mentalist and {r["title"] for r in mentalist} == {"The Mentalist"}
    # any case, beyond ASCII too
    assert [r["title"] for r in jsonl(store, "--title", "ärger")] == ["Ärger im Paradies"]
    assert [r["title"] for r in jsonl(store, "--title", "école")] == ["ÉCOLE DES FEMMES"]
    assert jsonl(store, "--title", "100%_") == []  # LIKE's wildcards mean nothing here
    # --since a date: from its local midnight (Berlin: 22:00 UTC the day before in summer)
    since = jsonl(store, "--since", "2026-08-29")
    bound = datetime(2026, 8, 29, tzinfo=berlin)
    assert since == [r for r in everything if datetime.fromisoformat(r["watched_at"]) >= bound]
    assert 0 < len(since) < len(everything)
    # --since an instant, with or without an offset
    assert jsonl(store, "--since", "2026-08-28T22:00:00Z") == since
    assert jsonl(store, "--since", "2026-08-29T00:00") == since
    # --limit N: the newest N, still oldest first
    assert jsonl(store, "--limit", "3") == everything[-3:]
    assert jsonl(store, "--limit", "0") == []
    both = jsonl(store, "--kind", "movie", "--since", "2026-01-01", "--limit", "2")
    assert both == [r for r in movies if r["watched_at"] >= "2025-12-31T23"][-2:]


def test_a_since_that_is_no_date_is_refused(store: Path) -> None:
    code, _, err = history(store, "--since", "last tuesday")
    assert code == 2
    assert "'last tuesday' is not a date (2024-04-23) or an ISO 8601 instant" in err


def test_help_says_what_limit_keeps(store: Path) -> None:
    code, out, _ = history(store, "--help")
    assert code == 0
    assert "newest N" in out and "oldest first" in out and "--no-pager" in out


# ---- the table ----------------------------------------------------------------------------


def test_the_table_is_plain_aligned_columns_in_local_time(store: Path, berlin) -> None:
    code, out, err = history(store)
    assert code == 0, err
    lines = out.splitlines()
    header, rows, count = lines[0], lines[1:-1], lines[-1]
    assert header.split() == ["watched", "kind", "title", "S", "E", "episode", "source"]
    assert count == "61 watches" and len(rows) == 61
    at = header.index("kind")
    assert all(row[at - 2 : at] == "  " and row[at] in "em" for row in rows)  # one column
    once = [r for r in EXPECTED if sum(x["title"] == r["title"] for x in EXPECTED) == 1]
    exact = next(r for r in once if r["precision"] == "exact")
    local = datetime.fromisoformat(exact["watched_at"]).astimezone(berlin)
    line = next(row for row in rows if f"  {exact['title']}  " in row)
    assert line.startswith(local.strftime("%Y-%m-%d %H:%M") + "  ")
    day = next(r for r in once if r["precision"] == "day" and r["kind"] == "movie")
    line = next(row for row in rows if f"  {day['title']}  " in row)
    assert line.startswith(day["watched_at"][:10] + "        ")  # the date alone
    assert "Ärger im Paradies" in out


def test_one_watch_and_no_watch(store: Path, tmp_path: Path) -> None:
    code, out, _ = history(store, "--title", "ärger")
    assert code == 0 and out.splitlines()[-1] == "1 watch"
    assert history(store, "--title", "no such title")[1] == (
        "No stored watch matches these filters.\n"
    )
    code, out, _ = history(tmp_path / "empty")
    assert code == 0
    assert out == "No watches stored yet: run `pv2simkl import FILE` (or `pv2simkl fetch`).\n"


def test_the_table_into_a_closed_pipe_ends_quietly_with_141(store: Path) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first write
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pv2simkl", "--data-dir", str(store), "history"],
            stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=120, cwd=ROOT,
        )  # fmt: skip
    finally:
        os.close(write_end)
    assert (done.returncode, done.stderr) == (141, "")


# ---- the pager, on a real terminal --------------------------------------------------------


def on_a_terminal(args: list[str], env: dict[str, str], rows: int = 10) -> tuple[int, str]:
    """Run pv2simkl on a pty of ``rows`` lines; (exit code, what the terminal showed)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, 200, 0, 0))
    environ = {k: v for k, v in os.environ.items() if k not in ("LINES", "COLUMNS")}
    command = [sys.executable, "-m", "pv2simkl", *args]
    proc = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave,
                            env={**environ, **env}, cwd=ROOT)  # fmt: skip
    os.close(slave)
    shown = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: every writer of the terminal is gone
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    return proc.wait(timeout=120), shown.decode("utf-8", "replace").replace("\r\n", "\n")


@pytest.fixture
def pager(tmp_path: Path) -> tuple[str, Path]:
    """A $PAGER that keeps what it is given in a file."""
    kept = tmp_path / "paged.txt"
    script = tmp_path / "pager.py"
    script.write_text(f"import sys\nopen({str(kept)!r}, 'w').write(sys.stdin.read())\n")
    return f"{sys.executable} {script}", kept


def test_long_output_on_a_terminal_goes_through_the_pager(store: Path, pager) -> None:
    command, kept = pager
    code, shown = on_a_terminal(["--data-dir", str(store), "history"], {"PAGER": command})
    assert code == 0, shown
    paged = kept.read_text().splitlines()
    assert paged[0].split()[:3] == ["watched", "kind", "title"] and paged[-1] == "61 watches"
    assert "61 watches" not in shown  # the terminal got it only through the pager


def test_no_pager_and_short_output_print_at_once(store: Path, pager) -> None:
    command, kept = pager
    code, shown = on_a_terminal(["--data-dir", str(store), "history", "--no-pager"],
                                {"PAGER": command})  # fmt: skip
    assert code == 0 and shown.splitlines()[-1] == "61 watches" and not kept.exists()
    code, shown = on_a_terminal(["--data-dir", str(store), "history", "--limit", "3"],
                                {"PAGER": command})  # fmt: skip
    assert code == 0 and shown.splitlines()[-1] == "3 watches" and not kept.exists()
    code, shown = on_a_terminal(["--data-dir", str(store), "history", "--format", "jsonl"],
                                {"PAGER": command})  # fmt: skip
    assert code == 0 and len(kept.read_text().splitlines()) == 61  # jsonl is paged too


def test_history_reads_without_the_pipeline_or_sqlite_utils(store: Path) -> None:
    """What keeps a short `history` quick: it reads through store.views alone."""
    code = (
        "import sys\nfrom pv2simkl.cli import app\n"
        f"try:\n    app(['--data-dir', {str(store)!r}, 'history', '--limit', '2'])\n"
        "except SystemExit:\n    pass\n"
        "heavy = ('sqlite_utils', 'pv2simkl.pipeline', 'rich', 'httpx', 'keyring')\n"
        "print('loaded:', sorted(m for m in heavy if m in sys.modules), file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)  # fmt: skip
    assert done.stdout.splitlines()[-1] == "2 watches", done.stderr
    assert "loaded: []" in done.stderr, done.stderr
