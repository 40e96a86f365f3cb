"""SIGKILL at random instants of `pv2simkl sync`: nothing lost, nothing written twice.

The long version (≥ 50 kills on a larger inbox) is bench/crash.py; this runs the same
check with a dozen kills.
"""

from __future__ import annotations

from pathlib import Path

from bench import crash


def test_killed_syncs_lose_nothing_and_write_nothing_twice(tmp_path: Path) -> None:
    result = crash.run(tmp_path / "crash", kills=12, n=600, seed=11, verbose=False)
    assert result["problems"] == []
    assert result["killed"] == 12
    assert result["works"] > 100
