"""Helpers of the provider tests (fixtures live in ``conftest.py``)."""

from __future__ import annotations

import pytest

from fixtures.services import DEFAULT_KEYS

# Every secret a provider may hold: none may show up in an error or a log line.
SECRETS = [
    DEFAULT_KEYS[k] for k in ("simkl", "tmdb", "tmdb_api_key", "tvdb", "mal", "omdb")
]  # fmt: skip


def assert_no_secret(texts: list[str]) -> None:
    """None of the mock's keys (nor the TVDB tokens it hands out) in any of ``texts``."""
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, f"a secret leaked: {text!r}"
        assert "mock-tvdb." not in text, f"a TVDB token leaked: {text!r}"


def own_records(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Every message pv2simkl's own loggers wrote during the test."""
    return [r.getMessage() for r in caplog.records if r.name.startswith("pv2simkl")]


def all_records(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Every message any logger wrote (httpx, httpcore included)."""
    return [r.getMessage() for r in caplog.records]
