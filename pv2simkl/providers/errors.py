"""The errors a metadata service can raise, apart from the HTTP layer that raises most of
them, so that a provider module (and the config that reads its settings) loads without httpx."""

from __future__ import annotations

from pv2simkl.errors import Pv2SimklError


class ProviderError(Pv2SimklError):
    """A metadata service could not answer. ``provider`` names it."""

    exit_code = 8

    def __init__(self, provider: str, message: str):
        self.provider = provider
        super().__init__(f"{provider}: {message}")


class Unauthorized(ProviderError):
    """The key is missing, wrong or revoked (401 / 403 / Simkl's 412)."""


class RateLimited(ProviderError):
    """Still throttled after every retry, or asked to wait longer than we will."""


class Unavailable(ProviderError):
    """Unreachable, failing, or paused by the circuit breaker."""


class BadResponse(ProviderError):
    """An answer that is not the JSON the service documents."""


class Offline(ProviderError):
    """Offline mode and no cached answer."""
