"""What every network client of pv2simkl shares: how long a connection may take.

A host that takes no connection (no network, a firewall that drops packets) is given
:data:`CONNECT_TIMEOUT` seconds, whatever the read timeout of the service: a run without
network ends in seconds, not minutes. Kept free of httpx and requests so that any module
can read it without paying for them.
"""

from __future__ import annotations

CONNECT_TIMEOUT = 4.0  # seconds to open a connection (DNS, TCP, TLS handshake start)


def connect_timeout(timeout: float) -> float:
    """The connect timeout for a client whose read timeout is ``timeout``."""
    return min(timeout, CONNECT_TIMEOUT)
