"""TOTP secrets and the other secrets' messages: checked where they are read, every length an
authenticator app takes, one sentence naming where a bad one came from (never the secret).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct
from pathlib import Path

import keyring
import pytest

from pv2simkl import credentials, pipeline
from pv2simkl.config import load_settings
from pv2simkl.errors import ConfigError
from pv2simkl.sources.amazon import AmazonSession, Credentials
from tests.fake_clock import FakeClock

BAD = "not-base32-!!-secret"


def rfc_code(key: bytes, at: float, digits: int = 6) -> str:
    """RFC 6238 by hand (SHA-1, 30 s steps), to check pyotp with our decoder."""
    mac = hmac.new(key, struct.pack(">Q", int(at // 30)), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    number = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**digits).zfill(digits)


# ---- every length an app takes -----------------------------------------------------------


@pytest.mark.parametrize("size", [10, 16, 20, 32, 33, 64])  # 80 bits (16 chars) to 512 bits
def test_every_secret_length_gives_the_rfc_code(size: int) -> None:
    key = bytes(range(7, 7 + size))
    secret = base64.b32encode(key).decode().rstrip("=")
    assert credentials.decode_totp_secret(secret) == key
    at = 1_700_000_000.0
    assert credentials.make_totp(secret).at(at) == rfc_code(key, at)


def test_rfc_6238_vector() -> None:
    key = b"12345678901234567890"
    totp = credentials.make_totp(base64.b32encode(key).decode())
    assert totp.at(59) == "287082"  # RFC 6238 appendix B, 59 s, the last 6 of 94287082


def test_spaces_lowercase_dashes_and_padding_are_the_same_secret() -> None:
    key = bytes(range(10))  # an 80-bit secret, which pyotp's default minimum refuses
    plain = base64.b32encode(key).decode()
    grouped = " ".join(plain[i : i + 4] for i in range(0, len(plain), 4)).lower()
    for form in (plain, grouped, plain + "====", "-".join(grouped.split())):
        assert credentials.normalise_totp_secret(form) == plain.rstrip("=")
        assert credentials.decode_totp_secret(form) == key


def test_a_length_base32_pads_oddly_still_works() -> None:
    secret = "JBSWY3DPEHPK3PXPJ"  # 17 characters: 85 bits, the last 5 dropped as apps do
    assert len(credentials.decode_totp_secret(secret)) == 10
    assert len(credentials.make_totp(secret).now()) == 6


@pytest.mark.parametrize(
    ("secret", "why"),
    [("JBSWY3DPEHPK3PX", "too short (15 characters"), ("JBSWY3DPEHPK3PX0", "only the letters"),
     (BAD, "only the letters"), ("", "too short")],
)  # fmt: skip
def test_malformed_secrets_are_one_sentence_without_the_secret(secret: str, why: str) -> None:
    with pytest.raises(ConfigError) as info:
        credentials.normalise_totp_secret(secret, "The TOTP secret in X")
    message = str(info.value)
    assert info.value.exit_code == 3 and why in message and message.startswith("The TOTP secret")
    assert (secret not in message) or not secret
    assert "Two-Step Verification" in message


# ---- checked where it is read, naming the place ------------------------------------------


def test_bad_secret_in_the_environment_is_named(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PV2SIMKL_AMAZON_TOTP_SECRET", BAD)
    settings = load_settings()
    with pytest.raises(ConfigError, match="PV2SIMKL_AMAZON_TOTP_SECRET is not a valid") as info:
        credentials.amazon(settings)
    assert BAD not in str(info.value)


def test_bad_secret_in_the_keyring_is_named(file_keyring: Path) -> None:
    keyring.set_password("pv2simkl", "amazon.totp_secret", BAD)
    with pytest.raises(ConfigError, match="system keyring") as info:
        credentials.amazon(load_settings(env={}))
    assert BAD not in str(info.value)


def test_bad_secret_in_the_config_file_is_named(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[amazon]\ntotp_secret = "{BAD}"\n')
    config.chmod(0o600)
    with pytest.raises(ConfigError, match="config.toml") as info:
        credentials.amazon(load_settings(config, env={}))
    assert BAD not in str(info.value) and "[amazon] totp_secret" in str(info.value)


def test_a_short_app_secret_in_the_environment_is_read_and_normalised(monkeypatch) -> None:
    key = bytes(range(10))
    spaced = " ".join(base64.b32encode(key).decode().lower()[i : i + 4] for i in range(0, 16, 4))
    monkeypatch.setenv("PV2SIMKL_AMAZON_TOTP_SECRET", spaced)
    amazon = credentials.amazon(load_settings())
    assert amazon.totp_secret == base64.b32encode(key).decode()


def test_fetch_with_a_bad_secret_stops_before_amazon(tmp_path: Path, monkeypatch) -> None:
    """The check happens when the secret is read: `fetch` says it before any request."""
    monkeypatch.setenv("PV2SIMKL_OFFLINE", "0")
    monkeypatch.setenv("PV2SIMKL_AMAZON_TOTP_SECRET", BAD)
    monkeypatch.setenv("PV2SIMKL_AMAZON_EMAIL", "ana@example.com")
    monkeypatch.setenv("PV2SIMKL_AMAZON_PASSWORD", "pw")
    monkeypatch.setenv("PV2SIMKL_AMAZON_SIGNIN_URL", "http://127.0.0.1:9/ap/signin")
    monkeypatch.setenv("PV2SIMKL_DATA_DIR", str(tmp_path))
    ctx = pipeline.Context.create()
    try:
        with pytest.raises(ConfigError, match="PV2SIMKL_AMAZON_TOTP_SECRET"):
            pipeline.fetch(ctx)
    finally:
        ctx.close()


def test_the_session_computes_codes_for_an_80_bit_secret(tmp_path: Path) -> None:
    key = bytes(range(40, 50))
    secret = base64.b32encode(key).decode().lower()
    settings = load_settings(env={}).amazon
    s = AmazonSession(settings, cookie_path=tmp_path / "c.lwp", state_dir=tmp_path / "s",
                      credentials=Credentials("a@b.c", "pw", secret))  # fmt: skip
    clock = FakeClock(start=1_700_000_010.0)
    s.clock, s.sleep = clock, clock.sleep
    try:
        assert s._code() == rfc_code(key, 1_700_000_010.0)
    finally:
        s.close()


# ---- sections and keyrings ---------------------------------------------------------------


def test_an_unknown_section_lists_the_known_ones() -> None:
    settings = load_settings(env={})
    for call in (lambda: credentials.describe("bogus", settings),
                 lambda: credentials.secret_keys("bogus"),
                 lambda: credentials.store("bogus", {"x": "y"}),
                 lambda: credentials.clear("bogus")):  # fmt: skip
        with pytest.raises(ConfigError) as info:
            call()
        assert "'bogus'" in str(info.value) and "amazon, simkl, tmdb" in str(info.value)


def test_the_fail_backend_is_named_and_refused_before_any_secret(fail_keyring) -> None:
    assert credentials.backend_name() == (
        "none (fail backend): set secrets in environment variables"
    )
    with pytest.raises(ConfigError) as info:
        credentials.require_keyring("tmdb")
    assert "PV2SIMKL_TMDB_TOKEN, PV2SIMKL_TMDB_API_KEY" in str(info.value)


def test_a_real_backend_is_named_by_its_class(file_keyring: Path) -> None:
    assert credentials.backend_name() == "fixtures.test_keyring.FileKeyring"
    credentials.require_keyring("tmdb")  # no error


def test_secrets_are_read_from_the_keyring_only_when_missing(file_keyring: Path) -> None:
    from pv2simkl.config import fill_secrets_from_keyring

    keyring.set_password("pv2simkl", "tmdb.token", "from-keyring")
    keyring.set_password("pv2simkl", "amazon.password", "pw-keyring")
    settings = load_settings(env={"PV2SIMKL_TMDB_TOKEN": "from-env"})
    assert fill_secrets_from_keyring(settings, ["tmdb"]) == []  # api_key: not stored
    assert settings.tmdb.token == "from-env"
    assert settings.amazon.password == ""  # another section: not read
    assert fill_secrets_from_keyring(settings, ["amazon"]) == ["amazon.password"]
    assert os.environ.get("PV2SIMKL_TMDB_TOKEN") is None
