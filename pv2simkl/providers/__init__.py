"""Metadata providers (Simkl, TMDB, TVDB, MAL / Jikan, IMDb via imdbapi.dev / OMDb).

Each is one class behind :class:`~pv2simkl.providers.base.Provider`, enabled by its
config section. :func:`build` makes the enabled ones, each with its own
:class:`~pv2simkl.providers.http.HttpClient` (limiter, retries, cache, breaker).
"""

from __future__ import annotations

import importlib
import logging
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from pv2simkl.config import PROVIDER_SECTIONS, Settings, fill_secrets_from_keyring
from pv2simkl.providers.base import Provider
from pv2simkl.providers.http import HttpClient, ResponseCache, parse_limits

log = logging.getLogger(__name__)

# config section → module holding its class
MODULES = {
    "simkl": "simkl", "tmdb": "tmdb", "tvdb": "tvdb", "mal": "mal", "jikan": "mal",
    "imdbapi": "imdb", "omdb": "imdb",
}  # fmt: skip


def provider_class(name: str) -> type[Provider]:
    """The Provider subclass whose ``name`` is ``name``."""
    module = importlib.import_module(f"pv2simkl.providers.{MODULES[name]}")
    for value in vars(module).values():
        is_provider = isinstance(value, type) and issubclass(value, Provider)
        if is_provider and getattr(value, "name", None) == name:
            return value
    raise LookupError(f"no provider class named {name!r} in pv2simkl.providers.{MODULES[name]}")


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
    cache = ResponseCache(db_path) if db_path else None
    order = [n for n in settings.metadata.order if n in PROVIDER_SECTIONS]
    order += [n for n in PROVIDER_SECTIONS if n not in order]
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
            log.info("%s cannot be reached; left out of this run", state.name)
            state = ProviderState(state.name, "unreachable", [], state.provider)  # closed later
        out.append(state)
    return out
