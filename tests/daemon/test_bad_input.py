"""Malformed inbox files never end the daemon; each lands in failed/ with its reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import bad_input


@pytest.mark.slow
def test_malformed_drops_fail_one_by_one_and_the_daemon_stays_up(tmp_path: Path) -> None:
    result = bad_input.run(tmp_path / "bad", 40, verbose=False)
    assert result["daemon_alive_throughout"] and result["exit_code_on_sigterm"] == 0
    assert result["failed_with_reason"] == 40 and result["processed"] == 0
    assert result["left_in_inbox"] == 0 and result["one_sentence_reasons"]
