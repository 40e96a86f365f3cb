"""`pv2simkl fetch --browser`: the README's fallback, through the command line, in a real
headless Chromium against the fake Amazon (the session the API sign-in kept is reused)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.fake_amazon import TEST_EMAIL, TEST_PASSWORD, TEST_TOTP_SECRET, FakeAmazon
from fixtures.generator import build_history
from tests.browser_support import require_chromium

require_chromium()

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pv2simkl", *args], capture_output=True,
                          text=True, env={**os.environ, **env}, timeout=300, cwd=ROOT)  # fmt: skip


@pytest.mark.slow
def test_fetch_browser_reads_the_whole_page_with_the_kept_session(tmp_path: Path) -> None:
    with FakeAmazon(build_history(11, 60, "en-US"), mode="password+otp") as fake:
        env = {
            "PV2SIMKL_OFFLINE": "0", "PV2SIMKL_DATA_DIR": str(tmp_path / "data"),
            "PV2SIMKL_AMAZON_SIGNIN_URL": fake.signin_url,
            "PV2SIMKL_AMAZON_STARTUP_CONFIG_URL": fake.startup_config_url,
            "PV2SIMKL_AMAZON_CATALOG_URL": fake.url, "PV2SIMKL_AMAZON_EMAIL": TEST_EMAIL,
            "PV2SIMKL_AMAZON_PASSWORD": TEST_PASSWORD,
            "PV2SIMKL_AMAZON_TOTP_SECRET": TEST_TOTP_SECRET,
        }  # fmt: skip
        api = run("fetch", env=env)  # signs in headlessly and keeps the cookies
        assert api.returncode == 0, api.stderr
        expected = len(fake.expected_events)
        browser = run("fetch", "--browser", env=env)
        assert browser.returncode == 0, browser.stderr
        assert f"Read the history page in the browser: {expected} events, 0 new." in browser.stdout
        offline = run("--offline", "fetch", "--browser", env=env)
        assert offline.returncode == 20 and "offline" in offline.stderr
