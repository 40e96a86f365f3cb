"""pv2simkl: Amazon Prime Video watch history into Simkl, kept in step."""

__version__ = "0.1.0"
