"""`pv2simkl status`: the daemon's real state, what the last runs did, what waits, in local
time and humanised on a fixed clock; `status --json` with the keys the README documents."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from click.testing import CliRunner

from pv2simkl import pipeline
from pv2simkl.cli import app
from pv2simkl.cli.show import humanise
from pv2simkl.config import load_settings

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "fixtures" / "samples" / "en-US" / "saved-page-expanded.html"
BERLIN = ZoneInfo("Europe/Berlin")
# Saturday 28 November 2026, 21:04 in Berlin (UTC+1)
T0 = datetime(2026, 11, 28, 21, 4, 0, tzinfo=BERLIN)


def cli(data: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--data-dir", str(data), *args])
    return result.exit_code, result.stdout, result.stderr


def status_json(data: Path) -> dict:
    code, out, err = cli(data, "status", "--json")
    assert code == 0, err
    return json.loads(out)


def one_watch_file(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "one.csv"
    path.write_text('Date Watched,Type,Title,Episode\n2020-01-05,Movie,"Zzyzx Road",\n')
    return path


# ---- humanised instants -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "said"),
    [
        (T0 - timedelta(seconds=20), "just now"),
        (T0 - timedelta(minutes=1), "1 minute ago"),
        (T0 - timedelta(minutes=25), "25 minutes ago"),
        (T0 + timedelta(minutes=12), "in 12 minutes"),
        (T0 - timedelta(hours=2), "2 hours ago"),
        (T0 + timedelta(hours=1, minutes=40), "in 2 hours"),
        (T0 - timedelta(hours=10), "today at 11:04"),
        (datetime(2026, 11, 27, 21, 4, tzinfo=BERLIN), "yesterday at 21:04"),
        (datetime(2026, 11, 29, 6, 0, tzinfo=BERLIN), "tomorrow at 06:00"),
        (datetime(2026, 11, 23, 8, 15, tzinfo=BERLIN), "last Monday at 08:15"),
        (datetime(2026, 11, 2, 8, 15, 59, 999, tzinfo=BERLIN), "2026-11-02 08:15"),
        ("2026-11-27T20:04:00.123Z", "yesterday at 21:04"),  # the store's UTC text
    ],
)
def test_instants_are_said_as_people_say_them(when, said) -> None:
    with time_machine.travel(T0, tick=False):  # local time is Berlin's
        assert humanise(when, datetime.now(UTC)) == said


# ---- the printed status -------------------------------------------------------------------


def test_an_empty_store_says_so_and_what_to_run(tmp_path: Path) -> None:
    code, out, _ = cli(tmp_path / "data", "status")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "daemon: not running"
    assert lines[1].startswith("store: empty, no watches yet. Run `pv2simkl import FILE`")
    assert not any(line.rstrip().endswith(":") for line in lines)  # never "titles: " alone
    assert not (tmp_path / "data" / "pv2simkl.sqlite3").exists()  # status creates nothing
    info = status_json(tmp_path / "data")
    assert (info["events"], info["titles"], info["runs"], info["newest_csv"]) == (0, 0, [], None)


def test_plurals_are_right_for_one(tmp_path: Path) -> None:
    data = tmp_path / "data"
    code, _, err = cli(data, "import", str(one_watch_file(tmp_path / "in")))
    assert code == 0, err
    out = cli(data, "status")[1]
    assert "store: 1 watch of 1 title\n" in out
    assert "waiting: 1 watch not exported yet" in out
    assert "titles: 1 not looked up yet" in out
    assert re.search(r"import +ok +\S*one.csv: 1 new watch$", out, re.M), out


def test_status_in_local_time_humanised_without_microseconds(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with time_machine.travel(T0, tick=False):
        code, _, err = cli(data, "import", str(PAGE), "--export")
        assert code == 0, err
    (csv,) = (data / "exports").glob("simkl-*.csv")
    os.utime(csv, (T0.timestamp(), T0.timestamp()))
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        out = cli(data, "status")[1]
        info = status_json(data)
    assert f"newest CSV: {csv} (2 hours ago)" in out
    assert "store: 59 watches of 34 titles" in out
    assert "waiting: nothing; every watch is in a CSV" in out
    assert re.search(r"^  2 hours ago  export +ok +1 CSV, 34 rows$", out, re.M), out
    assert re.search(r"^  2 hours ago  import +ok +\S+saved-page-expanded.html: 59 new watches$",
                     out, re.M), out  # fmt: skip
    assert not re.search(r"\d\d:\d\d:\d\d\.\d", out) and "+00:00" not in out
    with time_machine.travel(datetime(2026, 11, 29, 10, 0, tzinfo=BERLIN), tick=False):
        out = cli(data, "status")[1]
    assert "(yesterday at 21:04)" in out and "  yesterday at 21:04  import" in out
    # --json: local ISO 8601 with the offset, to the second
    assert info["now"] == "2026-11-28T23:04:00+01:00"
    assert info["newest_csv"] == str(csv) and info["newest_csv_at"] == "2026-11-28T21:04:00+01:00"
    assert [r["kind"] for r in info["runs"]] == ["export", "import"]
    export, imported = info["runs"]
    assert (export["csvs"], export["rows"], export["status"]) == (1, 34, "ok")
    assert (imported["new_watches"], imported["name"]) == (59, str(PAGE))
    assert imported["started"] == "2026-11-28T21:04:00+01:00"
    assert info["matches"] == {"new": 34} and info["unmatched"] == 0


# ---- the daemon ---------------------------------------------------------------------------


def test_the_daemon_running_killed_or_stopped(tmp_path: Path) -> None:
    data = tmp_path / "data"
    state = data / "state" / "daemon.json"
    state.parent.mkdir(parents=True)
    with time_machine.travel(T0, tick=False):
        next_run = (T0 + timedelta(minutes=12)).isoformat()
        state.write_text(json.dumps({"pid": os.getpid(), "next_run": next_run, "inbox": "x"}))
        out = cli(data, "status")[1]
        info = status_json(data)
    assert out.splitlines()[0] == f"daemon: running (pid {os.getpid()}), next sync in 12 minutes"
    assert info["daemon"]["state"] == "running" and info["daemon"]["pid"] == os.getpid()
    assert info["daemon"]["next_sync"] == "2026-11-28T21:16:00+01:00"

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    pid = int(gone.stdout)
    state.write_text(json.dumps({"pid": pid, "next_run": next_run}))
    out = cli(data, "status")[1]
    assert out.splitlines()[0] == (
        f"daemon: not running (pid {pid} ended without stopping cleanly: killed or crashed; "
        "`pv2simkl service logs` may say why)"
    )
    assert status_json(data)["daemon"] == {"state": "killed", "pid": pid, "next_sync": None,
                                           "inbox": None, "since": None}  # fmt: skip
    state.unlink()
    assert cli(data, "status")[1].splitlines()[0] == "daemon: not running"
    assert status_json(data)["daemon"]["state"] == "stopped"


# ---- what the last runs did ---------------------------------------------------------------


def settings_for(data: Path):
    return load_settings(env={"PV2SIMKL_DATA_DIR": str(data), "PV2SIMKL_OFFLINE": "1",
                              "PV2SIMKL_DAEMON_SETTLE_SECONDS": "0",
                              "PV2SIMKL_DAEMON_FETCH": "0"})  # fmt: skip


def test_a_sync_line_holds_what_its_steps_did_and_inbox_files_alone_are_listed(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    ctx = pipeline.Context.create(settings_for(data))
    try:
        inbox = ctx.paths.inbox
        inbox.mkdir(parents=True, exist_ok=True)
        (inbox / "page.html").write_bytes(PAGE.read_bytes())
        (inbox / "broken.json").write_text('{"not": "history"}')
        report = pipeline.sync(ctx)
        assert (report.inbox_ok, report.inbox_failed) == (1, 1)
        info = pipeline.status(ctx)
        assert len(info["runs"]) == 1  # its import, export and the failed file are in it
        run = info["runs"][0]
        assert (run["kind"], run["by"], run["status"]) == ("sync", "command", "error")
        assert (run["inbox_taken"], run["inbox_failed"], run["new_watches"], run["csvs"]) == (
            1, 1, 59, 1)  # fmt: skip
        assert run["fetched"] is None and "broken.json" in run["errors"][0]
        # the daemon's own inbox path: a file taken on its own, between syncs
        (inbox / "one.csv").write_bytes(one_watch_file(tmp_path / "in").read_bytes())
        (inbox / "junk.bin").write_bytes(b"\xff\xfe not text")
        assert pipeline.import_inbox_file(ctx, inbox / "one.csv", enrich_after=False).ok
        assert not pipeline.import_inbox_file(ctx, inbox / "junk.bin", enrich_after=False).ok
        runs = pipeline.status(ctx)["runs"]
    finally:
        ctx.close()
    kinds = [(r["kind"], r["name"], r["status"]) for r in runs]
    assert ("inbox", "one.csv", "ok") in kinds and ("inbox", "junk.bin", "failed") in kinds
    assert kinds[-1][0] == "sync"
    taken = next(r for r in runs if r["name"] == "one.csv")
    assert taken["new_watches"] == 1
    out = cli(data, "status")[1]
    assert re.search(r"inbox +ok +one\.csv: 1 new watch$", out, re.M), out
    assert re.search(r"inbox +failed +junk\.bin: [a-z]", out, re.M), out
    assert re.search(r"sync +error +inbox 1 taken, 1 failed, 59 new watches, 1 CSV — inbox: "
                     r"broken\.json", out, re.M), out  # fmt: skip


# ---- status --json: every key documented --------------------------------------------------


def key_paths(value, prefix: str = "") -> set[str]:
    """Dotted key paths of a JSON value; a list of objects is ``name[].key``; ``matches``
    (state → count) is one key."""
    out: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            path = f"{prefix}.{key}" if prefix else key
            out.add(path)
            if path != "matches":
                out |= key_paths(inner, path)
    elif isinstance(value, list):
        for item in value:
            out |= key_paths(item, prefix + "[]")
    return out


def test_every_key_of_status_json_is_in_the_readme(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert cli(data, "import", str(PAGE), "--export")[0] == 0
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    part = readme[readme.index("### `status --json`") :]
    part = part[: part.index("\n## ")]
    first_cells = re.findall(r"^\| (`[^|]+)\|", part, re.M)
    documented = {key for cell in first_cells for key in re.findall(r"`([^`]+)`", cell)}
    found = key_paths(status_json(data))
    assert found <= documented, sorted(found - documented)
    assert "push.last.added" in documented and "runs[].inbox_failed" in documented


def test_status_loads_neither_the_pipeline_nor_sqlite_utils(tmp_path: Path) -> None:
    """What keeps `status` fast on a big store: it reads through store.views alone."""
    data = tmp_path / "data"
    assert cli(data, "import", str(PAGE))[0] == 0
    code = (
        "import sys\nfrom pv2simkl.cli import app\n"
        f"try:\n    app(['--data-dir', {str(data)!r}, 'status'])\nexcept SystemExit:\n    pass\n"
        "heavy = ('sqlite_utils', 'pv2simkl.pipeline', 'rich', 'httpx', 'keyring')\n"
        "print('loaded:', sorted(m for m in heavy if m in sys.modules), file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PV2SIMKL_OFFLINE": "1"}, timeout=120)  # fmt: skip
    assert "store: 59 watches of 34 titles" in done.stdout, done.stderr
    assert "loaded: []" in done.stderr, done.stderr
