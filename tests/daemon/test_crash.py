"""SIGKILL at random instants of `pv2simkl sync` and of `pv2simkl export`'s part files:
nothing lost, nothing written twice, no final-named part ever deleted or rewritten.

The long versions (≥ 50 kills on a larger history) are bench/crash.py; these run the same
checks with a dozen kills.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import crash


@pytest.mark.slow
def test_killed_syncs_lose_nothing_and_write_nothing_twice(tmp_path: Path) -> None:
    result = crash.run(tmp_path / "crash", kills=12, n=600, seed=11, verbose=False)
    assert result["problems"] == []
    assert result["killed"] == 12
    assert result["works"] > 100


@pytest.mark.slow
def test_killed_exports_never_delete_or_rewrite_a_final_part(tmp_path: Path) -> None:
    """Regression: a crash between two parts left final-named parts that the next run
    deleted and wrote again (an uploader would have sent their rows twice)."""
    result = crash.run_exports(tmp_path / "export", kills=6, n=400, seed=7, max_rows=2,
                               verbose=False)  # fmt: skip
    assert result["problems"] == [] and result["problem_count"] == 0
    assert result["killed"] == 6 and result["parts_per_export"] > 50
    assert result["works_per_round"] > 100
    landed = result["kills_landed"]
    assert (
        landed.get("while the parts were written", 0)
        + landed.get("while the parts were renamed", 0)
        > 0
    )  # the kills did reach the part files
