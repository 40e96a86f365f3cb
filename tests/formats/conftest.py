"""The ``golden`` fixture: importer output equals the generator's expected events."""

from __future__ import annotations

from pathlib import Path

import pytest
from golden_support import GoldenCheck, imported, read_expected


@pytest.fixture
def golden() -> GoldenCheck:
    """``golden(paths, expected_file)`` asserts an exact match and returns the warnings."""

    def check(paths: list[Path], expected: Path) -> list[str]:
        want = read_expected(expected)
        got, warnings, errors = imported(paths)
        missing, extra = want - got, got - want
        assert not errors
        assert not missing and not extra, (
            f"missing {sorted(missing)[:3]}\nextra {sorted(extra)[:3]}"
        )
        return warnings

    return check
