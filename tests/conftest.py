"""Shared fixtures: every test runs with its own data dir and no PV2SIMKL_* from outside."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from hypothesis import settings
from keyring.backends import fail

from fixtures.test_keyring import FileKeyring

# The README's test command passes every time: property tests draw the same examples on
# every run (and no per-example deadline, which a loaded machine would miss). Exploring
# new examples is `HYPOTHESIS_PROFILE=explore pytest`; what it finds becomes a
# regression test named after what broke.
settings.register_profile("pv2simkl", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("explore", deadline=None, print_blob=True, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "pv2simkl"))


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("PV2SIMKL_"):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(var, str(home / var.lower()))
    monkeypatch.setenv("PV2SIMKL_EXPORT_TIMEZONE", "UTC")
    # No test reaches the internet: a run that would ask a real service sends nothing.
    monkeypatch.setenv("PV2SIMKL_OFFLINE", "1")
    # Never read the developer's real keyring.
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The long proofs (marked ``slow``) first: on two workers they then run beside the
    many short tests instead of after them, and the run ends sooner."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture
def file_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A keyring that keeps its secrets in a JSON file (the path), as a real one would."""
    path = tmp_path / "keyring.json"
    monkeypatch.setenv("PV2SIMKL_TEST_KEYRING_FILE", str(path))
    before = keyring.get_keyring()
    keyring.set_keyring(FileKeyring())
    yield path
    keyring.set_keyring(before)


@pytest.fixture
def fail_keyring() -> Iterator[None]:
    """No keyring at all: keyring's own fail backend, as on a headless server."""
    before = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(before)
