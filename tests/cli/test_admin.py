"""`pv2simkl doctor`, `credentials` and `simkl login` as a person meets them: the keyring
backend named for what it is, unknown sections and unusable keyrings said in one sentence
before any secret is typed, offline mode refused at once (exit 20), a malformed TOTP
secret named by where it came from (exit 3), and doctor bounded with a silent network."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from click.testing import CliRunner

from pv2simkl.cli import app
from tests.test_offline import BlackHole, all_services_at, amazon_env

BAD = "not-base32-!!-secret"


def cli(data: Path, *args: str, stdin: str | None = None, env: dict[str, str] | None = None):
    result = CliRunner().invoke(app, ["--data-dir", str(data), *args], input=stdin, env=env)
    return result.exit_code, result.stdout, result.stderr


def one_sentence(text: str) -> bool:
    lines = text.strip().splitlines()
    return len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in text


# ---- credentials ----------------------------------------------------------------------------


@pytest.mark.parametrize("verb", ["show", "set", "clear"])
def test_an_unknown_section_names_the_known_ones(tmp_path: Path, verb: str) -> None:
    code, out, err = cli(tmp_path, "credentials", verb, "bogus", stdin="x\n")
    assert code == 3 and one_sentence(err), err
    assert "'bogus'" in err and "known: amazon, simkl, tmdb, tvdb" in err
    assert "AttributeError" not in err and out == ""


def test_set_without_a_usable_keyring_asks_for_nothing(tmp_path: Path, fail_keyring) -> None:
    code, out, err = cli(tmp_path, "credentials", "set", "tmdb", stdin="tok-123\n\n")
    assert code == 3 and one_sentence(err), err
    assert "fail backend" in err and "PV2SIMKL_TMDB_TOKEN" in err
    assert "token" not in out  # no prompt was shown


def test_set_show_with_a_real_backend(tmp_path: Path, file_keyring: Path) -> None:
    key = bytes(range(10))  # an 80-bit authenticator secret, typed grouped and lower-case
    typed = " ".join(base64.b32encode(key).decode().lower()[i : i + 4] for i in range(0, 16, 4))
    code, out, err = cli(tmp_path, "credentials", "set", "amazon",
                         stdin=f"ana@example.com\npw-1\n{typed}\n")  # fmt: skip
    assert code == 0, err
    assert base64.b32encode(key).decode() in file_keyring.read_text()
    code, out, err = cli(tmp_path, "credentials", "show", "amazon")
    assert code == 0 and "amazon.totp_secret: keyring" in out


def test_set_refuses_a_malformed_totp_secret_without_echoing_it(
    tmp_path: Path, file_keyring: Path
) -> None:
    code, out, err = cli(tmp_path, "credentials", "set", "amazon",
                         stdin=f"ana@example.com\npw-1\n{BAD}\n")  # fmt: skip
    assert code == 3 and one_sentence(err), err
    assert "The TOTP secret typed in is not a valid TOTP secret" in err and BAD not in err


# ---- doctor ---------------------------------------------------------------------------------


def test_doctor_names_the_fail_backend(tmp_path: Path, fail_keyring) -> None:
    code, out, err = cli(tmp_path, "doctor", "--no-probe")
    assert code == 0, err
    assert "keyring backend: none (fail backend): set secrets in environment variables" in out


def test_doctor_names_a_real_backend_by_its_class(tmp_path: Path, file_keyring: Path) -> None:
    code, out, _ = cli(tmp_path, "doctor", "--no-probe")
    assert "keyring backend: fixtures.test_keyring.FileKeyring" in out


def test_doctor_offline_says_so_and_asks_nobody(tmp_path: Path) -> None:
    hole = BlackHole()
    try:
        env = {**all_services_at(hole.url), "PV2SIMKL_OFFLINE": "0"}
        code, out, err = cli(tmp_path, "--offline", "doctor", env=env)
    finally:
        hole.close()
    assert code == 0, err
    assert "offline mode: on" in out and hole.accepted == 0
    rows = [line.split() for line in out.splitlines() if line.startswith("  ")]
    assert rows and all(row[1] == "offline" for row in rows)


def test_doctor_with_a_silent_network_ends_with_unreachable(tmp_path: Path) -> None:
    hole = BlackHole()
    try:
        env = {**all_services_at(hole.url), "PV2SIMKL_OFFLINE": "0"}
        code, out, err = cli(tmp_path, "doctor", env=env)
    finally:
        hole.close()
    assert code == 0, err
    rows = [line.split() for line in out.splitlines() if line.startswith("  ")]
    assert len(rows) == 8 and all(row[1] == "unreachable" for row in rows), out


# ---- offline and secrets at the commands that need them -------------------------------------


@pytest.mark.parametrize(
    "args",
    [["simkl", "login"], ["simkl", "login", "--print-token"], ["fetch"], ["push"],
     ["login", "--browser"]],
    ids=" ".join,
)  # fmt: skip
def test_network_commands_offline_exit_20_at_once(tmp_path: Path, args: list[str]) -> None:
    hole = BlackHole()
    try:
        env = {**amazon_env(hole.url, tmp_path / "d"), **all_services_at(hole.url)}
        code, out, err = cli(tmp_path, "--offline", *args, env=env)
    finally:
        hole.close()
    assert code == 20 and one_sentence(err), err
    assert "offline mode is on" in err and hole.accepted == 0
    assert "Open " not in out


def test_login_browser_offline_announces_no_window(tmp_path: Path) -> None:
    code, out, err = cli(tmp_path, "--offline", "login", "--browser")
    assert code == 20 and "browser window" not in out


def test_fetch_with_a_malformed_secret_in_the_environment(tmp_path: Path) -> None:
    hole = BlackHole()
    try:
        env = {**amazon_env(hole.url, tmp_path / "d"), "PV2SIMKL_OFFLINE": "0",
               "PV2SIMKL_AMAZON_TOTP_SECRET": BAD}  # fmt: skip
        code, out, err = cli(tmp_path, "fetch", env=env)
    finally:
        hole.close()
    assert code == 3 and one_sentence(err), err
    assert "PV2SIMKL_AMAZON_TOTP_SECRET is not a valid TOTP secret" in err and BAD not in err
    assert hole.accepted == 0
