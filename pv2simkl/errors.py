"""The error types of pv2simkl.

Each carries a message a person can act on (what, where, what to do). The CLI maps
each type to its own exit code; nothing else prints tracebacks.
"""

from __future__ import annotations


class Pv2SimklError(Exception):
    """Base of every error pv2simkl raises on purpose."""

    exit_code = 1


class ConfigError(Pv2SimklError):
    """A setting or a config file is wrong."""

    exit_code = 3


class ParseError(Pv2SimklError):
    """An input file (or one section of it) cannot be read.

    ``path`` names the file, ``where`` the place inside it (a section, a row).
    """

    exit_code = 4

    def __init__(self, message: str, *, path: str | None = None, where: str | None = None):
        self.path = path
        self.where = where
        self.reason = message
        super().__init__(message)

    def __str__(self) -> str:
        parts = []
        if self.path:
            parts.append(f"{self.path}")
        if self.where:
            parts.append(f"({self.where})")
        prefix = " ".join(parts)
        return f"{prefix}: {self.reason}" if prefix else self.reason


class UnknownFormatError(ParseError):
    """A file whose content matches no known history format."""

    exit_code = 5


class PartialReadError(ParseError):
    """Some rows of a file could not be read; the rest of it is stored."""

    exit_code = 16


class StoreError(Pv2SimklError):
    """The SQLite store cannot be opened or written."""

    exit_code = 6


class NotFoundError(Pv2SimklError):
    """Something the user named is not in the store."""

    exit_code = 9


class ExportError(Pv2SimklError):
    """A CSV cannot be written (folder missing, read-only, disk full)."""

    exit_code = 7


class SimklApiError(Pv2SimklError):
    """Simkl's API refused a request or could not be reached (after the retries).

    ``maybe_sent`` is True when a POST may have reached Simkl although no answer came
    back (a timeout after the request left): the caller checks what Simkl holds before
    sending it again, so that a watch is never added twice.
    """

    exit_code = 17

    def __init__(self, message: str, *, status: int | None = None, maybe_sent: bool = False):
        self.status = status
        self.maybe_sent = maybe_sent
        super().__init__(message)


class SimklAuthError(SimklApiError):
    """No Simkl token, or Simkl refused it (401): the person has to log in again."""

    exit_code = 18


class SimklLoginError(SimklApiError):
    """The PIN sign-in did not end with a token (code expired, or refused)."""

    exit_code = 19


class SimklLoginCancelled(SimklLoginError):
    """The person stopped the PIN sign-in (Ctrl-C): exit as an interrupted program does."""

    exit_code = 130


class OfflineError(Pv2SimklError):
    """Offline mode is on (``PV2SIMKL_OFFLINE=1`` or ``--offline``) and the command needs
    the network: said at once, before anything is tried."""

    exit_code = 20


OFFLINE_HOW = "offline mode is on (PV2SIMKL_OFFLINE=1 or --offline)"


def offline_error(what: str, instead: str = "") -> OfflineError:
    """``<what> needs the network, and offline mode is on (…); <instead>.`` in one sentence."""
    tail = f"; {instead}" if instead else "; run it again without offline mode"
    return OfflineError(f"{what} needs the network, and {OFFLINE_HOW}{tail}.")


def require_online(offline: bool, what: str, instead: str = "") -> None:
    """Raise :class:`OfflineError` when ``offline``: the one check every network command makes."""
    if offline:
        raise offline_error(what, instead)
