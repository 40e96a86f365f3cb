"""A few dozen scheduler cycles with faults (the long soak is bench/soak.py)."""

from __future__ import annotations

from pathlib import Path

from bench import soak


def test_cycles_with_faults_export_every_good_event_once(tmp_path: Path) -> None:
    result = soak.run(tmp_path / "soak", 24, verbose=False)
    assert result["problems"] == [] and result["integrity_ok"]
    assert result["new_events_added"] == 24 and result["events"] > 200  # one new watch a cycle
    assert result["failed_inbox_files"] == 5  # every malformed drop, with its reason
    assert result["step_errors_absorbed"].get("export", 0) >= 2  # the blocked export folder
