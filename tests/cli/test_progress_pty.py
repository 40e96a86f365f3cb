"""The progress bar: drawn on a real terminal (a pty), never into a pipe or with ``-q``."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.generator import build_history, write_export_a

ROOT = Path(__file__).resolve().parents[2]


def on_a_terminal(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run pv2simkl with stdin, stdout and stderr on one pty; (exit code, what it showed)."""
    master, slave = pty.openpty()
    terminal = {**os.environ, **env, "TERM": "xterm", "COLUMNS": "100"}
    proc = subprocess.Popen([sys.executable, "-m", "pv2simkl", *args], stdin=slave,
                            stdout=slave, stderr=slave, cwd=ROOT, close_fds=True,
                            env=terminal)  # fmt: skip
    os.close(slave)
    shown = bytearray()
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the other end closed
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    return proc.wait(timeout=300), shown.decode("utf-8", "replace")


@pytest.fixture(scope="module")
def export_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("export")
    paths = write_export_a(build_history(5, 3000, "en-US"), folder, expected=False)
    return next(p for p in paths if p.suffix == ".csv")


def test_a_terminal_shows_the_bar_with_the_file_name(tmp_path: Path, export_file: Path) -> None:
    code, shown = on_a_terminal(["--data-dir", str(tmp_path), "import", str(export_file)], {})
    assert code == 0, shown
    assert export_file.name[:40] in shown and "━" in shown  # rich's bar, named per file
    assert "Stored " in shown


def test_no_bar_into_a_pipe_nor_with_q(tmp_path: Path, export_file: Path) -> None:
    piped = subprocess.run([sys.executable, "-m", "pv2simkl", "--data-dir", str(tmp_path / "a"),
                            "import", str(export_file)], capture_output=True, text=True,
                           cwd=ROOT, timeout=300)  # fmt: skip
    assert piped.returncode == 0 and "━" not in piped.stderr + piped.stdout
    assert "\x1b[" not in piped.stderr + piped.stdout  # no terminal control codes either
    code, shown = on_a_terminal(
        ["-q", "--data-dir", str(tmp_path / "b"), "import", str(export_file)], {}
    )
    assert code == 0 and "━" not in shown and shown.strip() == ""
