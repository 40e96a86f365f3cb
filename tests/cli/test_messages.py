"""Messages a user meets on a wrong step: each one plain sentence with its own exit code.

A missing --config FILE, a mistyped --db folder (--create makes it), unknown config
sections and settings, an unreadable path beside good files, a folder with no history
files, the quick start without a false warning, and plurals in the import summary.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pv2simkl.cli import app

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "fixtures" / "samples" / "en-US" / "saved-page-expanded.html"
ONE_WATCH = (
    "Playback Hour,Entitlement Type,Video Type,Title\n"
    "05/01/2025 21:00:00,PRIME_SUBSCRIPTION,Feature,Glass Harbor\n"
    "05/02/2025 21:00:00,PRIME_SUBSCRIPTION,Trailer,Glass Harbor - Official Trailer\n"
)


def cli(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def one_error(r: Result) -> str:
    """The one line on stderr, which must be one sentence starting with ``error:``."""
    (line,) = r.stderr.splitlines()
    assert line.startswith("error: ") and "Traceback" not in line
    return line


def history_file(tmp_path: Path) -> Path:
    path = tmp_path / "Digital.PrimeVideo.Viewinghistory.csv"
    path.write_text(ONE_WATCH, encoding="utf-8")
    return path


# -- --config ----------------------------------------------------------------------------


def test_a_config_file_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "conifg.toml"
    r = cli("--config", str(missing), "--data-dir", str(tmp_path / "d"), "history")
    assert r.exit_code == 3
    line = one_error(r)
    assert f"The config file {missing} (--config) does not exist" in line
    assert "config init" in line
    r = cli("--data-dir", str(tmp_path / "d"), "history", "--config", str(missing))
    assert r.exit_code == 3  # after the subcommand too


def test_the_default_config_file_may_be_missing(tmp_path: Path) -> None:
    r = cli("--data-dir", str(tmp_path / "d"), "history")
    assert r.exit_code == 0, r.output


def test_pv2simkl_config_naming_a_missing_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PV2SIMKL_CONFIG", str(tmp_path / "nope.toml"))
    r = cli("--data-dir", str(tmp_path / "d"), "history")
    assert r.exit_code == 3 and "(PV2SIMKL_CONFIG) does not exist" in one_error(r)


def test_unknown_sections_and_settings_name_the_known_ones(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text("[exports]\nmax_rows = 5\n")
    r = cli("--config", str(cfg), "--data-dir", str(tmp_path / "d"), "history")
    line = one_error(r)
    assert r.exit_code == 3 and "unknown section [exports] (did you mean export?)" in line
    assert "known: paths, export, import, metadata, amazon, daemon, simkl, tmdb" in line
    cfg.write_text("[export]\nmaxrows = 5\n")
    r = cli("--config", str(cfg), "--data-dir", str(tmp_path / "d"), "history")
    line = one_error(r)
    assert r.exit_code == 3 and "unknown setting 'maxrows' in [export]" in line
    assert "(did you mean max_rows?)" in line and "known: date_format, timezone, max_rows" in line


# -- --db and --create -------------------------------------------------------------------


def test_a_db_in_a_folder_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "Pv2simkl" / "store.sqlite3"  # mistyped: the folder is pv2simkl
    (tmp_path / "pv2simkl").mkdir()
    r = cli("--db", str(db), "import", str(history_file(tmp_path)))
    assert r.exit_code == 3
    line = one_error(r)
    assert f"The folder of the store {db} (--db) does not exist" in line
    assert "check the path, or add --create" in line
    assert not db.parent.exists()


def test_create_makes_the_folder(tmp_path: Path) -> None:
    db = tmp_path / "new" / "store.sqlite3"
    r = cli("import", str(history_file(tmp_path)), "--db", str(db), "--create")
    assert r.exit_code == 0, r.output
    assert db.is_file() and "1 event read, 1 new" in r.stdout


def test_the_default_location_needs_no_create(tmp_path: Path) -> None:
    data = tmp_path / "fresh"  # not there yet: the data folder is pv2simkl's own to make
    r = cli("--data-dir", str(data), "--db", str(data / "pv2simkl.sqlite3"), "history")
    assert r.exit_code == 0, r.output
    r = cli("--data-dir", str(tmp_path / "other"), "history")
    assert r.exit_code == 0, r.output


def test_pv2simkl_db_in_a_missing_folder_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PV2SIMKL_DB", str(tmp_path / "no" / "x.sqlite3"))
    r = cli("history")
    assert r.exit_code == 3 and "(PV2SIMKL_DB) does not exist" in one_error(r)


# -- import: bad paths beside good ones ---------------------------------------------------


def test_a_name_too_long_does_not_stop_the_good_file_beside_it(tmp_path: Path) -> None:
    bad = str(tmp_path / ("x" * 300))
    r = cli("--data-dir", str(tmp_path / "d"), "import", bad, str(history_file(tmp_path)))
    assert r.exit_code == 4
    assert "1 event read, 1 new" in r.stdout
    assert one_error(r) == f"error: {bad}: cannot be read (File name too long)"


def test_permission_denied_does_not_stop_the_good_file_beside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As root nothing is denied, so the denial comes from the file system call itself.
    locked = tmp_path / "locked" / "page.html"
    real_stat = pathlib.Path.stat

    def stat(self: Path, *, follow_symlinks: bool = True) -> os.stat_result:
        if self == locked:
            raise PermissionError(13, "Permission denied", str(self))
        return real_stat(self, follow_symlinks=follow_symlinks)

    monkeypatch.setattr(pathlib.Path, "stat", stat)
    r = cli("--data-dir", str(tmp_path / "d"), "import", str(locked), str(history_file(tmp_path)))
    assert r.exit_code == 4
    assert "1 event read, 1 new" in r.stdout and "Stored 1 new event;" in r.stdout
    assert one_error(r) == f"error: {locked}: cannot be read (Permission denied)"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_an_unreadable_file_does_not_stop_the_others(tmp_path: Path) -> None:
    locked = tmp_path / "locked.html"
    locked.write_bytes(SAMPLE.read_bytes())
    locked.chmod(0)
    r = cli("--data-dir", str(tmp_path / "d"), "import", str(locked), str(history_file(tmp_path)))
    assert r.exit_code == 4 and "1 event read, 1 new" in r.stdout
    assert "cannot be read (Permission denied)" in r.stderr


def test_a_missing_file_does_not_stop_the_others(tmp_path: Path) -> None:
    missing = tmp_path / "nope.html"
    r = cli("--data-dir", str(tmp_path / "d"), "import", str(missing), str(history_file(tmp_path)))
    assert r.exit_code == 4 and "1 event read, 1 new" in r.stdout
    assert r.stderr.splitlines() == [f"error: {missing}: does not exist; check the path"]


def test_a_folder_with_no_history_files_says_so(tmp_path: Path) -> None:
    folder = tmp_path / "Downloads"
    folder.mkdir()
    (folder / "notes.md").write_text("# not a history\n")
    (folder / "cat.jpg").write_bytes(b"\xff\xd8\xff")
    r = cli("--data-dir", str(tmp_path / "d"), "import", str(folder))
    assert r.exit_code == 5
    line = one_error(r)
    assert line.startswith(f"error: no Prime Video history files in {folder}: none of its files")
    assert "(notes.md) is a saved watch-history page" in line and line.count(str(folder)) == 1


def test_an_empty_folder_says_so(tmp_path: Path) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    r = cli("--data-dir", str(tmp_path / "d"), "import", str(folder))
    assert r.exit_code == 5
    assert one_error(r) == f"error: no Prime Video history files in {folder}: the folder is empty."


def test_a_folder_with_history_files_beside_others_is_fine(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    history_file(folder)
    (folder / "notes.md").write_text("# not a history\n")
    r = cli("--data-dir", str(tmp_path / "d"), "import", str(folder))
    assert r.exit_code == 0 and r.stderr == ""


# -- the quick start and plurals ---------------------------------------------------------


def test_the_quick_start_prints_no_false_warning(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "pv2simkl", "--data-dir", "quickstart-data", "import",
         str(SAMPLE), "--export"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "expanded" not in r.stderr.replace(str(SAMPLE), "") and "season" not in r.stderr
    assert "59 events read, 59 new (page)" in r.stdout
    assert list((tmp_path / "quickstart-data" / "exports").glob("simkl-*.csv"))


def test_one_is_singular_in_the_import_summary(tmp_path: Path) -> None:
    r = cli("--data-dir", str(tmp_path / "d"), "import", str(history_file(tmp_path)))
    assert r.exit_code == 0, r.output
    assert "1 event read, 1 new (export-a); not watches, skipped: 1 trailer" in r.stdout
    assert "Stored 1 new event; the store holds 1 event of 1 title" in r.stdout
