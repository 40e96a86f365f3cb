"""Secrets: the Amazon account and the metadata keys, kept in the system keyring.

Stored as service ``pv2simkl``, user ``<section>.<key>`` (``amazon.password``,
``tmdb.token`` …). Headless servers without a keyring use environment variables
(``PV2SIMKL_AMAZON_EMAIL``, ``PV2SIMKL_AMAZON_PASSWORD``, ``PV2SIMKL_AMAZON_TOTP_SECRET``,
``PV2SIMKL_TMDB_TOKEN`` …), which :mod:`pv2simkl.config` reads. No secret is ever
printed: :func:`describe` says where each one lives, never what it is.
"""

from __future__ import annotations

import os
from dataclasses import fields

from pv2simkl.config import (
    KEYRING_SERVICE,
    AmazonSettings,
    Settings,
    is_secret,
    provider_names,
    provider_section,
)
from pv2simkl.errors import ConfigError

AMAZON_KEYS = ("email", "password", "totp_secret")


def secret_keys(section: str) -> list[str]:
    """The secret settings of a section (``amazon`` or a provider)."""
    if section == "amazon":
        return list(AMAZON_KEYS)
    if section not in provider_names():
        known = ", ".join(["amazon", *provider_names()])
        raise ConfigError(f"There are no credentials for {section!r}; known: {known}.")
    cls = provider_section(section)  # that one provider's module only
    return [f.name for f in fields(cls) if is_secret(cls, f.name)]


# Authenticator apps accept secrets from 80 bits (16 base32 characters, what many
# services hand out) up; pyotp's own default refuses anything under 112 bits.
TOTP_MIN_BITS = 80
_BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def _totp_class():
    import pyotp

    class Totp(pyotp.TOTP):
        """pyotp's TOTP for every secret an authenticator app takes: 80 bits and up, of any
        length (base32 without the padding an app never asks for; trailing bits dropped)."""

        min_secret_length_bits = TOTP_MIN_BITS

        def byte_secret(self) -> bytes:
            return decode_totp_secret(self.secret)

    return Totp


def decode_totp_secret(secret: str) -> bytes:
    """The key bytes of a base32 TOTP secret, read as authenticator apps read it: spaces,
    dashes, case and ``=`` padding ignored, bits past the last whole byte dropped.

    Raises ValueError (with no part of the secret in it) when it is not base32 or holds
    fewer than :data:`TOTP_MIN_BITS` bits."""
    # Not base64.b32decode: it refuses lengths no padding makes whole (17 characters, 85
    # bits), which authenticator apps take.
    clean = normalise(secret)
    bad = {c for c in clean if c not in _BASE32}
    if bad:
        raise ValueError(
            "it holds characters a TOTP secret never has (only the letters A-Z and the digits 2-7)"
        )
    bits = len(clean) * 5
    if bits < TOTP_MIN_BITS:
        raise ValueError(
            f"it is too short ({len(clean)} characters; a secret has at least {TOTP_MIN_BITS // 5})"
        )
    number = 0
    for char in clean:
        number = number << 5 | _BASE32.index(char)
    extra = bits % 8
    return (number >> extra).to_bytes(bits // 8, "big")


def make_totp(secret: str):
    """A ``pyotp.TOTP`` for ``secret`` (see :func:`decode_totp_secret`); ValueError when the
    secret is unusable."""
    return _totp_class()(normalise(secret))


def normalise(secret: str) -> str:
    """Spaces and dashes out, upper case, no ``=`` padding: the form that is stored."""
    return "".join(secret.split()).replace("-", "").upper().rstrip("=")


TOTP_FIX = "copy it again from Amazon's Two-Step Verification settings ('Can't scan the barcode?')"


def normalise_totp_secret(secret: str, where: str = "That TOTP secret") -> str:
    """Amazon shows the secret in groups of four: strip spaces, upper-case, and check it.

    Raises ConfigError naming ``where`` it came from (never the secret) when it is not a
    usable TOTP secret."""
    try:
        decode_totp_secret(secret)
    except ValueError as exc:
        raise ConfigError(f"{where} is not a valid TOTP secret: {exc}; {TOTP_FIX}.") from None
    return normalise(secret)


def _keyring():
    import keyring
    from keyring.errors import KeyringError

    return keyring, KeyringError


def _unavailable(exc: Exception | str, section: str, keys: list[str] | None = None) -> ConfigError:
    keys = keys or secret_keys(section)
    names = ", ".join(f"PV2SIMKL_{section.upper()}_{k.upper()}" for k in keys)
    why = exc if isinstance(exc, str) else type(exc).__name__
    return ConfigError(
        f"No system keyring is available ({why}); on a headless server set "
        f"the environment variable{'s' if len(keys) > 1 else ''} {names} instead."
    )


NO_BACKEND = "none ({}): set secrets in environment variables"


def backend_name() -> str:
    """The keyring backend in use, as ``doctor`` names it: its module and class, or
    ``none (fail backend): set secrets in environment variables`` when keyring found none."""
    problem = keyring_problem()
    if problem:
        return NO_BACKEND.format(problem)
    keyring, _ = _keyring()
    kr = keyring.get_keyring()
    from keyring.backends.chainer import ChainerBackend

    if isinstance(kr, ChainerBackend):
        inner = ", ".join(_qualname(b) for b in kr.backends)
        return f"{_qualname(kr)} of {inner}"
    return _qualname(kr)


def _qualname(obj: object) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


def keyring_problem() -> str | None:
    """Why no secret can be kept in the keyring (``fail backend``, ``null backend, it
    stores nothing``, ``keyring cannot start: …``); None when a backend can keep them."""
    try:
        keyring, _ = _keyring()
        kr = keyring.get_keyring()
    except Exception as exc:  # a broken backend's import raises anything
        return f"keyring cannot start: {type(exc).__name__}"
    from keyring.backends import fail, null

    if isinstance(kr, fail.Keyring):
        return "fail backend"
    if isinstance(kr, null.Keyring):
        return "null backend, it stores nothing"
    from keyring.backends.chainer import ChainerBackend

    if isinstance(kr, ChainerBackend) and not kr.backends:
        return "fail backend"
    return None


def require_keyring(section: str, keys: list[str] | None = None) -> None:
    """ConfigError (what to set instead) when no keyring backend can keep secrets: asked
    before any secret is typed in, so that nobody types one for nothing."""
    keys = keys or secret_keys(section)
    problem = keyring_problem()
    if problem:
        raise _unavailable(problem, section, keys)


def store(section: str, values: dict[str, str]) -> list[str]:
    """Save secrets in the keyring; empty values are skipped. Returns the names saved."""
    keyring, keyring_error = _keyring()
    saved = []
    for key, value in values.items():
        if key not in secret_keys(section):
            raise ConfigError(f"{key!r} is not a secret of [{section}].")
        if not value:
            continue
        try:
            keyring.set_password(KEYRING_SERVICE, f"{section}.{key}", value)
        except (keyring_error, RuntimeError, OSError) as exc:
            raise _unavailable(exc, section) from None
        saved.append(key)
    return saved


def clear(section: str) -> list[str]:
    """Remove a section's secrets from the keyring. Returns the names removed."""
    keyring, keyring_error = _keyring()
    from keyring.errors import PasswordDeleteError

    removed = []
    for key in secret_keys(section):
        try:
            keyring.delete_password(KEYRING_SERVICE, f"{section}.{key}")
            removed.append(key)
        except PasswordDeleteError:
            continue
        except (keyring_error, RuntimeError, OSError) as exc:
            raise _unavailable(exc, section) from None
    return removed


def forget(section: str, key: str) -> bool:
    """Remove one secret from the keyring (``simkl logout``: the token, not the app id).

    True when it was stored there.
    """
    if key not in secret_keys(section):
        raise ConfigError(f"{key!r} is not a secret of [{section}].")
    keyring, keyring_error = _keyring()
    from keyring.errors import PasswordDeleteError

    try:
        keyring.delete_password(KEYRING_SERVICE, f"{section}.{key}")
    except PasswordDeleteError:
        return False
    except (keyring_error, RuntimeError, OSError) as exc:
        raise _unavailable(exc, section) from None
    return True


def describe(section: str, settings: Settings) -> list[tuple[str, str]]:
    """(name, where) for each secret: ``keyring``, ``environment``, ``config file``, ``not set``.

    The email is shown masked (``a…@example.com``) so a person can tell accounts apart.
    """
    keys = secret_keys(section)  # an unknown section: one sentence naming the known ones
    keyring, keyring_error = _keyring()
    target = settings.section(section)
    out = []
    for key in keys:
        env = f"PV2SIMKL_{section.upper()}_{key.upper()}"
        try:
            stored = keyring.get_password(KEYRING_SERVICE, f"{section}.{key}")
        except (keyring_error, RuntimeError, OSError):
            stored = None
        if os.environ.get(env):
            where = f"environment ({env})"
        elif stored:
            where = "keyring"
        elif getattr(target, key, ""):
            where = "config file"
        else:
            where = "not set"
        value = os.environ.get(env) or stored or getattr(target, key, "")
        if key == "email" and value and "@" in value:
            where += f": {value[0]}…@{value.split('@', 1)[1]}"
        out.append((key, where))
    return out


def amazon(settings: Settings) -> AmazonSettings:
    """The Amazon settings with secrets from the keyring filled in (env and file win; the
    keyring is asked only for what they leave empty), the TOTP secret checked and
    normalised: a malformed one is a ConfigError that says where it came from."""
    from pv2simkl.config import fill_secrets_from_keyring

    before = settings.amazon.totp_secret
    fill_secrets_from_keyring(settings, ["amazon"])
    secret = settings.amazon.totp_secret
    if secret:
        settings.amazon.totp_secret = normalise_totp_secret(secret, totp_source(settings, before))
    return settings.amazon


def totp_source(settings: Settings, before_keyring: str) -> str:
    """Where the Amazon TOTP secret was read from, as a message names it."""
    env = "PV2SIMKL_AMAZON_TOTP_SECRET"
    if os.environ.get(env):
        return f"The TOTP secret in {env}"
    if not before_keyring:
        return "The TOTP secret in the system keyring (amazon.totp_secret)"
    where = settings.config_file or "the config file"
    return f"The TOTP secret in {where} ([amazon] totp_secret)"
