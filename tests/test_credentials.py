"""`pv2simkl credentials`: secrets into a real keyring backend, never onto the screen."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.fake_amazon_keys import TOTP_SECRET_SPACED
from pv2simkl import credentials
from pv2simkl.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def run(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHON_KEYRING_BACKEND": "fixtures.test_keyring.FileKeyring",
        "PV2SIMKL_TEST_KEYRING_FILE": str(tmp_path / "keyring.json"),
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.run(
        [sys.executable, "-m", "pv2simkl", "--data-dir", str(tmp_path / "d"), *args],
        input=stdin, capture_output=True, text=True, env=env, cwd=ROOT, timeout=60,
    )  # fmt: skip


def test_set_show_clear_amazon(tmp_path: Path) -> None:
    r = run(tmp_path, "credentials", "set", "amazon",
            stdin=f"ana@example.com\nhunter2-secret\n{TOTP_SECRET_SPACED}\n")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "email, password, totp_secret" in r.stdout
    stored = (tmp_path / "keyring.json").read_text()
    assert "hunter2-secret" in stored and TOTP_SECRET_SPACED.replace(" ", "").upper() in stored
    r = run(tmp_path, "credentials", "show", "amazon")
    assert "amazon.password: keyring" in r.stdout and "a…@example.com" in r.stdout
    assert "hunter2-secret" not in r.stdout + r.stderr and "ana@" not in r.stdout
    r = run(tmp_path, "credentials", "clear", "amazon")
    assert "email, password, totp_secret" in r.stdout
    r = run(tmp_path, "credentials", "show", "amazon")
    assert r.stdout.count("not set") == 3


def test_bad_totp_secret_is_refused_without_echoing_it(tmp_path: Path) -> None:
    r = run(tmp_path, "credentials", "set", "amazon", stdin="a@b.c\npw\nnot-base32-!!\n")
    assert r.returncode == 3 and "TOTP secret" in r.stderr and "not-base32" not in r.stderr


def test_provider_keys_too(tmp_path: Path) -> None:
    r = run(tmp_path, "credentials", "set", "tmdb", stdin="tok-123\n\n")
    assert r.returncode == 0, r.stderr
    r = run(tmp_path, "credentials", "show", "tmdb")
    assert "tmdb.token: keyring" in r.stdout and "tmdb.api_key: not set" in r.stdout


def test_normalise_totp_secret() -> None:
    assert credentials.normalise_totp_secret("jbsw y3dp ehpk 3pxp jbsw y3dp ehpk 3pxp") == (
        "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    )
    with pytest.raises(ConfigError):
        credentials.normalise_totp_secret("short")
    with pytest.raises(ConfigError, match="no credentials"):
        credentials.secret_keys("nosuch")
