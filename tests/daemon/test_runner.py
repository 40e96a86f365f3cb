"""The daemon's log: a private folder and private files, rotated ones included."""

from __future__ import annotations

import logging
import logging.handlers
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from pv2simkl.daemon.runner import setup_logging


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def log_dir(tmp_path: Path) -> Iterator[Path]:
    """A log folder; the handler setup_logging adds to the root logger goes at teardown."""
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    yield tmp_path / "state" / "log"
    for handler in root.handlers[:]:
        if handler not in before:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


def file_handler() -> logging.handlers.RotatingFileHandler:
    return next(
        h for h in logging.getLogger().handlers
        if isinstance(h, logging.handlers.RotatingFileHandler)
    )  # fmt: skip


def test_log_folder_0700_and_files_0600_after_rotation(log_dir: Path) -> None:
    setup_logging(log_dir / "pv2simkl.log")
    logging.getLogger("pv2simkl.test").info("Der Pate watched")
    log = log_dir / "pv2simkl.log"
    assert "Der Pate" in log.read_text(encoding="utf-8")
    assert mode(log_dir) == mode(log_dir.parent) == 0o700 and mode(log) == 0o600
    file_handler().doRollover()
    logging.getLogger("pv2simkl.test").info("Face/Off watched")
    rotated = log_dir / "pv2simkl.log.1"
    assert "Der Pate" in rotated.read_text(encoding="utf-8")
    assert "Face/Off" in log.read_text(encoding="utf-8")
    assert mode(rotated) == mode(log) == 0o600


def test_logs_of_an_earlier_version_are_tightened(log_dir: Path) -> None:
    log_dir.mkdir(parents=True)
    for name in ("pv2simkl.log", "pv2simkl.log.1", "pv2simkl.log.2"):
        (log_dir / name).write_text("old\n")
        (log_dir / name).chmod(0o644)
    log_dir.chmod(0o755)
    setup_logging(log_dir / "pv2simkl.log")
    assert mode(log_dir) == 0o700
    assert {mode(p) for p in log_dir.iterdir()} == {0o600}
    assert (log_dir / "pv2simkl.log").read_text().startswith("old\n")  # appended, not reset
