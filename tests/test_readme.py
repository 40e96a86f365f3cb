"""The README's two quick-start commands stay true."""

from __future__ import annotations

import csv
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def quick_start() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "the quick start has no ```sh block"
    return [line for line in block[1].splitlines() if line.strip() and not line.startswith("#")]


def test_exactly_two_commands() -> None:
    assert len(quick_start()) == 2


def test_ci_runs_the_readme_test_command() -> None:
    _, tests = quick_start()
    assert tests in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert "pytest" in tests and "'.[test]'" in tests


def test_main_job_on_the_bundled_sample(tmp_path: Path) -> None:
    main, _ = quick_start()
    job = main.split("&&")[-1].strip()
    args = shlex.split(job)
    assert Path(args[0]).name == "pv2simkl"
    exe = Path(sys.executable).with_name("pv2simkl")
    assert exe.exists(), "the console script pv2simkl is not installed"
    i = args.index("--data-dir")
    args[i + 1] = str(tmp_path / "data")  # same command, isolated data folder
    r = subprocess.run([str(exe), *args[1:]], cwd=ROOT, capture_output=True, text=True,
                       timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr
    written = [line.split("Wrote ", 1)[1] for line in r.stdout.splitlines() if "Wrote " in line]
    assert len(written) == 1
    with open(written[0], encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][0] == "simkl_id" and len(rows[0]) == 13
    assert len(rows) > 20 and {r[5] for r in rows[1:]} == {"movie", "tv"}
