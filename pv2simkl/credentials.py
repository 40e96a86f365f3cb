"""Secrets: the Amazon account and the metadata keys, kept in the system keyring.

Stored as service ``pv2simkl``, user ``<section>.<key>`` (``amazon.password``,
``tmdb.token`` …). Headless servers without a keyring use environment variables
(``PV2SIMKL_AMAZON_EMAIL``, ``PV2SIMKL_AMAZON_PASSWORD``, ``PV2SIMKL_AMAZON_TOTP_SECRET``,
``PV2SIMKL_TMDB_TOKEN`` …), which :mod:`pv2simkl.config` reads. No secret is ever
printed: :func:`describe` says where each one lives, never what it is.
"""

from __future__ import annotations

import binascii
import os
from dataclasses import fields

import pyotp

from pv2simkl.config import (
    KEYRING_SERVICE,
    PROVIDER_SECTIONS,
    SECRET_KEYS,
    AmazonSettings,
    Settings,
)
from pv2simkl.errors import ConfigError

AMAZON_KEYS = ("email", "password", "totp_secret")


def secret_keys(section: str) -> list[str]:
    """The secret settings of a section (``amazon`` or a provider)."""
    if section == "amazon":
        return list(AMAZON_KEYS)
    if section not in PROVIDER_SECTIONS:
        known = ", ".join(["amazon", *PROVIDER_SECTIONS])
        raise ConfigError(f"There are no credentials for {section!r}; known: {known}.")
    return [f.name for f in fields(PROVIDER_SECTIONS[section]) if f.name in SECRET_KEYS]


def normalise_totp_secret(secret: str) -> str:
    """Amazon shows the secret in groups of four: strip spaces, upper-case, and check it.

    Raises ConfigError (without the secret in it) when it is not a usable TOTP secret.
    """
    clean = "".join(secret.split()).upper()
    try:
        pyotp.TOTP(clean).now()
    except (binascii.Error, ValueError):
        raise ConfigError(
            "That TOTP secret is not valid base32 of at least 112 bits; copy it again from "
            "Amazon's two-step verification page ('Can't scan the barcode?')."
        ) from None
    return clean


def _keyring():
    import keyring
    from keyring.errors import KeyringError

    return keyring, KeyringError


def _unavailable(exc: Exception, section: str) -> ConfigError:
    names = ", ".join(f"PV2SIMKL_{section.upper()}_{k.upper()}" for k in secret_keys(section))
    return ConfigError(
        f"No system keyring is available ({type(exc).__name__}); on a headless server set "
        f"the environment variables {names} instead."
    )


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
    keyring, keyring_error = _keyring()
    target = settings.section(section)
    out = []
    for key in secret_keys(section):
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
    """The Amazon settings with secrets from the keyring filled in (env and file win)."""
    from pv2simkl.config import fill_secrets_from_keyring

    fill_secrets_from_keyring(settings)
    return settings.amazon
