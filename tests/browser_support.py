"""What a test with a real browser needs: Playwright and a system Chromium."""

from __future__ import annotations

import os
import shutil

import pytest


def require_chromium() -> None:
    """Skip the calling module when there is no browser to drive, except on CI, which
    installs both (.ci/run): a missing one there is a failure, not a skip."""
    if os.environ.get("CI"):
        import playwright  # noqa: F401

        assert shutil.which("chromium"), "CI must install Debian's chromium (.ci/run)"
        return
    pytest.importorskip("playwright", reason="the [browser] extra is not installed")
    if not shutil.which("chromium") and not shutil.which("google-chrome"):
        pytest.skip("no system Chromium (apt-get install chromium)", allow_module_level=True)
