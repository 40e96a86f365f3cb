"""`pv2simkl simkl login|logout` and doctor's Simkl sign-in line, against the mock Simkl.

Login runs in-process (click's runner) so that the PIN flow's waits are on a fake clock
shared with the mock: a 5 s poll interval or a 15-minute expiry costs nothing and is
checked exactly. Doctor runs as a real process against the mock on 127.0.0.1. The token
goes to a real keyring backend in a temp file (fixtures/test_keyring.py), never the
developer's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from fixtures.generator import build_history
from fixtures.services import DEFAULT_KEYS, SERVICES, MockServices
from fixtures.services.catalog import Catalog, catalog_from_history
from pv2simkl.cli import app
from pv2simkl.sinks import simkl_api
from tests.fake_clock import FakeClock, patch_mock_services

ROOT = Path(__file__).resolve().parents[2]
TOKEN = DEFAULT_KEYS["simkl_token"]
KEY = "pv2simkl/simkl.access_token"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return catalog_from_history(build_history(3, 200))


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """One fake clock under the mock and under the client the command builds."""
    fake = FakeClock()
    patch_mock_services(monkeypatch, fake)
    fake_time = SimpleNamespace(monotonic=fake, sleep=fake.sleep, time=time.time)
    monkeypatch.setattr(simkl_api, "time", fake_time)
    return fake


@pytest.fixture
def mock(catalog: Catalog, clock: FakeClock, tmp_path: Path,
         monkeypatch: pytest.MonkeyPatch) -> Iterator[MockServices]:  # fmt: skip
    with MockServices(catalog) as services:
        monkeypatch.setenv("PV2SIMKL_SIMKL_BASE_URL", services.base_urls["simkl"])
        monkeypatch.setenv("PV2SIMKL_SIMKL_CLIENT_ID", DEFAULT_KEYS["simkl"])
        monkeypatch.setenv("PV2SIMKL_DATA_DIR", str(tmp_path / "data"))
        monkeypatch.setenv("PV2SIMKL_OFFLINE", "0")  # the sign-in goes to the mock
        yield services


def login(*args: str):
    return CliRunner().invoke(app, ["simkl", "login", *args])


def stored(path: Path) -> dict[str, str]:
    return json.loads(path.read_text()) if path.exists() else {}


def test_login_waits_while_pending_then_keeps_the_token(
    mock: MockServices, clock: FakeClock, file_keyring: Path
) -> None:
    mock.simkl_pin_pending = 2
    mock.simkl_pin_enforce_interval = True  # a poll before the interval would be refused
    r = login()
    assert r.exit_code == 0, r.output
    assert "Open https://simkl.com/pin and enter the code MK0001" in r.output
    assert "Signed in to Simkl" in r.output and TOKEN not in r.output
    assert stored(file_keyring) == {KEY: TOKEN}
    assert clock.sleeps == [5, 5, 5]
    polls = mock.requests("simkl", path_prefix="/oauth/pin/")
    assert [p.t for p in polls] == [1005, 1010, 1015]
    assert all(p.query["client_id"] == DEFAULT_KEYS["simkl"] for p in polls)


def test_login_slows_down_when_told(mock: MockServices, clock: FakeClock,
                                    file_keyring: Path) -> None:  # fmt: skip
    mock.simkl_pin_slow_down = 1
    r = login()
    assert r.exit_code == 0, r.output
    assert clock.sleeps == [5, 10, 10] and stored(file_keyring) == {KEY: TOKEN}


def test_login_gives_up_when_the_code_expires(mock: MockServices, clock: FakeClock,
                                              file_keyring: Path) -> None:  # fmt: skip
    mock.simkl_pin_pending, mock.simkl_pin_expires_in = 1000, 12
    r = login()
    assert r.exit_code == 19
    assert "The code MK0001 expired before it was entered at https://simkl.com/pin" in r.output
    assert "run `pv2simkl simkl login` again" in r.output
    assert clock.sleeps == [5, 5] and stored(file_keyring) == {}


def test_login_stops_cleanly_on_ctrl_c(mock: MockServices, file_keyring: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(simkl_api.time, "sleep", interrupted)
    r = login()
    assert r.exit_code == 130
    assert "Sign-in to Simkl stopped; nothing was stored." in r.output
    assert "Traceback" not in r.output and stored(file_keyring) == {}


def test_login_print_token_for_a_server(mock: MockServices, file_keyring: Path) -> None:
    r = login("--print-token")
    assert r.exit_code == 0, r.output
    assert r.stdout.strip().splitlines()[-1] == TOKEN and stored(file_keyring) == {}


def test_logout_forgets_the_token(mock: MockServices, file_keyring: Path) -> None:
    file_keyring.write_text(json.dumps({KEY: TOKEN, "pv2simkl/simkl.client_id": "app"}))
    r = CliRunner().invoke(app, ["simkl", "logout"])
    assert r.exit_code == 0, r.output
    assert "Signed out of Simkl" in r.output
    assert stored(file_keyring) == {"pv2simkl/simkl.client_id": "app"}  # the app id stays
    r = CliRunner().invoke(app, ["simkl", "logout"])
    assert r.exit_code == 0 and "No Simkl token was in the keyring." in r.output


# -- doctor, as a real process ------------------------------------------------------------


def doctor(tmp_path: Path, services: MockServices, token: str | None,
           **env: str) -> subprocess.CompletedProcess:  # fmt: skip
    """``pv2simkl doctor`` with every service pointed at the mock and ``token`` stored."""
    keyring_path = tmp_path / "doctor-keyring.json"
    keyring_path.write_text(json.dumps({KEY: token} if token else {}))
    full = {
        **os.environ, "PV2SIMKL_OFFLINE": "0", "PYTHONPATH": str(ROOT),
        "PYTHON_KEYRING_BACKEND": "fixtures.test_keyring.FileKeyring",
        "PV2SIMKL_TEST_KEYRING_FILE": str(keyring_path),
        "PV2SIMKL_SIMKL_CLIENT_ID": DEFAULT_KEYS["simkl"],
        **{f"PV2SIMKL_{s.upper()}_BASE_URL": services.base_urls[s] for s in SERVICES},
        **env,
    }  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "pv2simkl", "--data-dir", str(tmp_path / "d"), "doctor"],
        capture_output=True, text=True, env=full, cwd=ROOT, timeout=120,
    )  # fmt: skip


def sign_in_line(r: subprocess.CompletedProcess) -> str:
    return next(line for line in r.stdout.splitlines() if line.split()[:1] == ["simkl-login"])


def test_doctor_says_whether_the_sign_in_works(tmp_path: Path, catalog: Catalog) -> None:
    with MockServices(catalog) as services:
        r = doctor(tmp_path, services, TOKEN)
        assert r.returncode == 0, r.stderr
        assert "ok" in sign_in_line(r) and "token in the keyring or config works" in r.stdout
        services.revoke_simkl_token()
        r = doctor(tmp_path, services, TOKEN)
        line = sign_in_line(r)
        assert "refused" in line and "run `pv2simkl simkl login` again" in line
        assert TOKEN not in r.stdout + r.stderr
        r = doctor(tmp_path, services, None)
        assert "not signed in" in sign_in_line(r)
        r = doctor(tmp_path, services, None, PV2SIMKL_SIMKL_ACCESS_TOKEN=services.keys[
            "simkl_token"])  # fmt: skip
        assert "ok" in sign_in_line(r) and "token in the environment works" in r.stdout
        assert services.keys["simkl_token"] not in r.stdout + r.stderr
