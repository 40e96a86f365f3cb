"""Metadata providers (Simkl, TMDB, TVDB, MAL / Jikan, IMDb via imdbapi.dev / OMDb).

Each is one class behind :class:`~pv2simkl.providers.base.Provider`, in its own module
with its own settings section (``settings_class``), and one line of :data:`REGISTRY`.
:func:`build` makes the enabled ones, each with its own
:class:`~pv2simkl.providers.http.HttpClient` (limiter, retries, cache, breaker).

Adding a service: its module (the provider class and its settings class), its line here,
its test (and its fake service in ``fixtures/``). Nothing here loads a provider module or
the HTTP stack until it is asked for: the config reads the registry's names at every start.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pv2simkl.config import Settings
    from pv2simkl.providers.base import Provider
    from pv2simkl.providers.http import ResponseCache

# config section (and provider name) → "module:class"; the order is the sections' order.
REGISTRY = {
    "simkl": "pv2simkl.providers.simkl:Simkl",
    "tmdb": "pv2simkl.providers.tmdb:Tmdb",
    "tvdb": "pv2simkl.providers.tvdb:Tvdb",
    "mal": "pv2simkl.providers.mal:MyAnimeList",
    "jikan": "pv2simkl.providers.jikan:Jikan",
    "imdbapi": "pv2simkl.providers.imdbapi:ImdbApiDev",
    "omdb": "pv2simkl.providers.omdb:Omdb",
}


def provider_class(name: str) -> type[Provider]:
    """The Provider subclass registered as ``name`` (its module is loaded now)."""
    module, _, attr = REGISTRY[name].partition(":")
    return getattr(importlib.import_module(module), attr)


@dataclass
class ProviderState:
    """Why a provider is or is not in use: ``ok``, ``disabled``, ``no key`` (+ ``missing``),
    ``unreachable`` (its host took no connection)."""

    name: str
    state: str
    missing: list[str]
    provider: Provider | None = None


def build(
    settings: Settings, db_path: Path | None
) -> tuple[list[ProviderState], ResponseCache | None]:
    """Every provider of the config, in ``[metadata] order``, usable ones built.

    The keyring is asked only for a provider that lacks a required key (a key in the
    environment or the file wins, and then the keyring is not touched at all)."""
    from pv2simkl.config import fill_secrets_from_keyring, parse_limits
    from pv2simkl.providers.http import HttpClient, ResponseCache

    cache = ResponseCache(db_path) if db_path else None
    order = [n for n in settings.metadata.order if n in REGISTRY]
    order += [n for n in REGISTRY if n not in order]
    states = []
    for name in order:
        section = settings.provider(name)
        if not section.enabled or name not in settings.metadata.order:
            states.append(ProviderState(name, "disabled", []))
            continue
        cls = provider_class(name)
        missing = cls.missing(section)
        if missing and fill_secrets_from_keyring(settings, [name]):
            missing = cls.missing(section)
        if missing:
            states.append(ProviderState(name, "no key", missing))
            continue
        headers, secret = cls.auth(section)
        client = HttpClient(
            name, section.base_url, limits=parse_limits(section.limits), headers=headers,
            secret_params=secret, timeout=section.timeout, attempts=section.attempts,
            cache=cache, offline=settings.metadata.offline,
        )  # fmt: skip
        states.append(ProviderState(name, "ok", [], cls(section, client)))
    return states, cache


def close(states: list[ProviderState], cache: ResponseCache | None) -> None:
    for state in states:
        if state.provider is not None:
            state.provider.client.close()
    if cache is not None:
        cache.close()


REACH_TIMEOUT = 3.0  # seconds for every usable service to accept a connection, together


def _connects(url: str, timeout: float) -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        import socket

        socket.create_connection((parts.hostname or "", port), timeout=timeout).close()
    except (OSError, ValueError):
        return False
    return True


def drop_unreachable(
    states: list[ProviderState], timeout: float = REACH_TIMEOUT
) -> list[ProviderState]:
    """The states again, a usable provider whose host takes no connection within
    ``timeout`` (no network, a name that does not resolve) marked ``unreachable``.

    All hosts are tried at once, in daemon threads: a name lookup cannot be given a
    timeout, and a hung one must not keep the process from ending. Without this an
    enrich on a machine with no network waited minutes on retries before the export.
    """
    import logging
    import threading
    import time

    usable = [s for s in states if s.provider is not None]
    results: dict[str, bool] = {}

    def probe(state: ProviderState) -> None:
        results[state.name] = _connects(state.provider.client.base_url, timeout)

    threads = [threading.Thread(target=probe, args=(s,), daemon=True) for s in usable]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    out = []
    for state in states:
        if state.provider is not None and not results.get(state.name, False):
            logging.getLogger(__name__).info(
                "%s cannot be reached; left out of this run", state.name
            )
            state = ProviderState(state.name, "unreachable", [], state.provider)  # closed later
        out.append(state)
    return out
