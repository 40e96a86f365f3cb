"""Signing in to Simkl: the token a push needs, where it lives, and whether it works.

``pv2simkl simkl login`` runs Simkl's PIN flow (:func:`pv2simkl.sinks.simkl_api.login`) and
keeps the token in the system keyring as ``simkl.access_token``; a server without a
keyring sets ``PV2SIMKL_SIMKL_ACCESS_TOKEN`` instead, which wins over the keyring (as
every secret's environment variable does). ``simkl logout`` forgets the keyring's copy,
and ``doctor`` asks Simkl whether the token still works. The token is never printed,
logged or part of an error, except on request (``login --print-token``), for a server.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pv2simkl.config import Settings, fill_secrets_from_keyring
from pv2simkl.errors import ConfigError, SimklApiError, SimklAuthError, require_online

if TYPE_CHECKING:
    from pv2simkl.sinks.simkl_api import SimklApi

TOKEN_KEY = "access_token"
TOKEN_ENV = "PV2SIMKL_SIMKL_ACCESS_TOKEN"


def api(
    settings: Settings, *, token: bool = True, clock: Callable[[], float] | None = None,
    sleep: Callable[[float], None] | None = None,
) -> SimklApi:  # fmt: skip
    """A :class:`SimklApi` from the settings, app id and token from env, file or keyring.

    ``token=False`` for the sign-in itself. Raises ConfigError without a client_id, and
    OfflineError in offline mode (nothing is sent).
    """
    if token:
        require_online(settings.metadata.offline, "Talking to Simkl's API")
    else:
        require_online(settings.metadata.offline, "Signing in to Simkl")
    resolve(settings, token=token)
    from pv2simkl.sinks.simkl_api import SimklApi

    simkl = settings.simkl
    return SimklApi(simkl.base_url, simkl.client_id, simkl.access_token if token else None,
                    clock=clock, sleep=sleep, timeout=simkl.timeout)  # fmt: skip


def push_client(settings: Settings) -> SimklApi:
    """The Simkl API client a push sends with: the signed-in user's token (``[simkl]
    access_token``, the keyring's ``simkl.access_token``, or ``PV2SIMKL_SIMKL_ACCESS_TOKEN``)."""
    require_online(
        settings.metadata.offline, "Pushing to Simkl",
        "`pv2simkl push --dry-run` shows what would be sent",
    )  # fmt: skip
    resolve(settings)
    simkl = settings.simkl
    if not simkl.access_token:
        raise ConfigError(
            "pv2simkl is not signed in to Simkl: run `pv2simkl simkl login` "
            "(or set PV2SIMKL_SIMKL_ACCESS_TOKEN)."
        )
    from pv2simkl.sinks.simkl_api import SimklApi

    return SimklApi(simkl.base_url, simkl.client_id, simkl.access_token, timeout=simkl.timeout)


def resolve(settings: Settings, *, token: bool = True) -> None:
    """The app id (and the token) from the keyring, when neither the environment nor the
    file gives them: the keyring is not touched when they do."""
    simkl = settings.simkl
    if not simkl.client_id or (token and not simkl.access_token):
        fill_secrets_from_keyring(settings, ["simkl"])


@dataclass
class SignIn:
    """What ``simkl login`` did: the token, whether the keyring kept it, and whether the
    environment variable (which wins) is set too."""

    token: str
    stored: bool
    env_wins: bool


def sign_in(
    settings: Settings, *, show: Callable[[str, str], None], store: bool = True,
    clock: Callable[[], float] | None = None, sleep: Callable[[float], None] | None = None,
) -> SignIn:  # fmt: skip
    """The PIN flow to a token, kept in the keyring unless ``store`` is False.

    A keyring that cannot keep the token is found out before the code is shown (it would
    be lost after the person typed it in)."""
    from pv2simkl import credentials
    from pv2simkl.sinks.simkl_api import login

    require_online(settings.metadata.offline, "Signing in to Simkl")
    if store and credentials.keyring_problem():
        raise ConfigError(
            f"No system keyring can keep the Simkl token ({credentials.keyring_problem()}); "
            f"run `pv2simkl simkl login --print-token` and put the token in {TOKEN_ENV}."
        )
    with api(settings, token=False, clock=clock, sleep=sleep) as client:
        token = login(client, show=show)
    if store:
        try:
            credentials.store("simkl", {TOKEN_KEY: token})
        except ConfigError:
            raise ConfigError(
                "Signed in, but no system keyring is available to keep the token; run "
                f"`pv2simkl simkl login --print-token` and put it in {TOKEN_ENV}."
            ) from None
    return SignIn(token=token, stored=store, env_wins=bool(os.environ.get(TOKEN_ENV)))


def sign_out() -> bool:
    """Forget the keyring's token; True when one was stored. The env variable stays."""
    from pv2simkl import credentials

    return credentials.forget("simkl", TOKEN_KEY)


def doctor_line(
    settings: Settings, *, probe: bool = True, hurry: float = 3.0
) -> tuple[str, str, str]:
    """``doctor``'s row for the Simkl sign-in: (name, state, what to do); the check is one
    try of ``hurry`` seconds at most."""
    name = "simkl-login"
    resolve(settings)
    if not settings.simkl.access_token:
        return name, "not signed in", "run `pv2simkl simkl login` to push to Simkl"
    where = "environment" if os.environ.get(TOKEN_ENV) else "keyring or config"
    if not settings.simkl.client_id:
        return name, "no key", "set [simkl] client_id (PV2SIMKL_SIMKL_CLIENT_ID)"
    if settings.metadata.offline:
        return name, "offline", f"token in the {where}; not checked (PV2SIMKL_OFFLINE is set)"
    if not probe:
        return name, "token set", f"token in the {where}; not checked (--no-probe)"
    try:
        with api(settings, clock=None, sleep=None) as client:
            client.hurry(hurry)  # a doctor answers quickly
            client.check()
    except SimklAuthError:
        return name, "refused", "Simkl refused the token (401): run `pv2simkl simkl login` again"
    except SimklApiError as exc:
        return name, "unreachable", str(exc)
    return name, "ok", f"token in the {where} works"
