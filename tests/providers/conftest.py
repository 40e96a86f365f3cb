"""Shared fixtures of the provider tests: the mock services, providers built on them.

Every test talks real HTTP to :class:`fixtures.services.MockServices` on
127.0.0.1, through providers built the way :func:`pv2simkl.providers.build` builds
them (auth from the class, limits from the settings, a response cache in a store).
Backoff sleeps are switched off (:func:`pv2simkl.net.no_backoff`), the attempts stay each
client's own, so retries are counted exactly and the suite stays fast. The clients'
rate limiters and the mock's rate windows count seconds on one fake clock
(:class:`tests.fake_clock.FakeClock`): a wait for a window or a ``Retry-After`` is exact
and instant, and no check depends on how loaded the machine is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fixtures.services import DEFAULT_KEYS, MockServices
from fixtures.services.catalog import Catalog, catalog_from_titles, hard_cases
from pv2simkl import net
from pv2simkl.config import PROVIDER_SECTIONS, ProviderSettings, parse_limits
from pv2simkl.providers import provider_class
from pv2simkl.providers.base import Provider
from pv2simkl.providers.http import HttpClient, ResponseCache
from pv2simkl.store import Store
from tests.fake_clock import FakeClock, patch_mock_services

# The settings that carry each provider's key, as the mock accepts them.
GOOD_KEYS: dict[str, dict[str, str]] = {
    "simkl": {"client_id": DEFAULT_KEYS["simkl"]},
    "tmdb": {"token": DEFAULT_KEYS["tmdb"]},
    "tvdb": {"api_key": DEFAULT_KEYS["tvdb"]},
    "mal": {"client_id": DEFAULT_KEYS["mal"]},
    "jikan": {},
    "imdbapi": {},
    "omdb": {"api_key": DEFAULT_KEYS["omdb"]},
}


@pytest.fixture
def no_backoff() -> Iterator[None]:
    """No backoff sleeps; ``cap`` keeps each client's own number of attempts.

    Not autouse: other test files in this folder may time the real backoff.
    """
    with net.no_backoff():
        yield


def build_catalog() -> Catalog:
    """The hard cases plus a few ordinary titles."""
    return catalog_from_titles(
        "providers", ["Quiet Evening", "Paper Moon Rising"],
        [("Harbour Nights", {1: ["Pilot", "The Storm"]})],
    )  # fmt: skip


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The fake clock of the test's clients and of every mock service."""
    fake = FakeClock()
    patch_mock_services(monkeypatch, fake)
    return fake


@pytest.fixture
def catalog() -> Catalog:
    return build_catalog()


@pytest.fixture
def hard() -> dict[str, Any]:
    """The hard cases by key, for their true ids."""
    return {w.key: w for w in hard_cases()}


@pytest.fixture(scope="module")
def shared_mock() -> Iterator[MockServices]:
    """One set of mock servers per test file (starting and stopping them takes ~0.3 s).

    Its rate limits are off, so that one test's requests never throttle the next;
    tests of the limits start their own :class:`MockServices`.
    """
    with MockServices(build_catalog(), enforce_limits=False) as services:
        yield services


@pytest.fixture
def mock(shared_mock: MockServices) -> Iterator[MockServices]:
    """The shared mock with an empty log and no fault left over; checked for mock bugs."""
    shared_mock.clear_faults()
    shared_mock.reset_log()
    shared_mock.errors.clear()
    yield shared_mock
    shared_mock.clear_faults()
    assert not shared_mock.errors, f"the mock itself failed: {shared_mock.errors!r}"


@pytest.fixture
def cache_path(tmp_path: Path) -> Path:
    """A store file with the ``http_cache`` table (the store creates it)."""
    path = tmp_path / "s.sqlite3"
    Store(path).close()
    return path


Factory = Callable[..., Provider]


@pytest.fixture
def make(
    mock: MockServices, cache_path: Path, no_backoff: None, clock: FakeClock
) -> Iterator[Factory]:
    """``make(name, cached=, attempts=, timeout=, on=, offline=, **settings)`` → a provider.

    Settings default to the mock's base URL and its accepted key (``on``: another
    :class:`MockServices` than the shared one); ``cached=True`` gives the client a
    :class:`ResponseCache` on the test's store (the same store for every provider of
    the test). Every client counts on the test's fake ``clock``. Clients and caches close
    at teardown.
    """
    built: list[Provider] = []
    caches: list[ResponseCache] = []

    def factory(
        name: str, *, cached: bool = False, attempts: int = 3, timeout: float = 5.0,
        on: MockServices | None = None, offline: bool = False, **settings: Any,
    ) -> Provider:  # fmt: skip
        services = on or mock
        values: dict[str, Any] = {"base_url": services.base_urls[name], **GOOD_KEYS[name]}
        values.update(settings)
        section: ProviderSettings = PROVIDER_SECTIONS[name](**values)
        cls = provider_class(name)
        headers, secret = cls.auth(section)
        cache = None
        if cached:
            cache = ResponseCache(cache_path)
            caches.append(cache)
        client = HttpClient(
            name, section.base_url, limits=parse_limits(section.limits), headers=headers,
            secret_params=secret, timeout=timeout, attempts=attempts, cache=cache,
            offline=offline, clock=clock, sleep=clock.sleep,
        )  # fmt: skip
        provider = cls(section, client)
        built.append(provider)
        return provider

    yield factory
    for provider in built:
        provider.client.close()
    for cache in caches:
        cache.close()
