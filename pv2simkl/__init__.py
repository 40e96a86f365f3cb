"""pv2simkl: Amazon Prime Video watch history into Simkl, kept in step.

The package, by what it does (README.md, "Development", has the whole table):
:mod:`~pv2simkl.sources` give bytes, :mod:`~pv2simkl.formats` read them into watch events,
:mod:`~pv2simkl.store` keeps them, :mod:`~pv2simkl.providers` find their ids,
:mod:`~pv2simkl.sinks` send them to Simkl; :mod:`~pv2simkl.pipeline` runs the steps, and
:mod:`~pv2simkl.cli` and :mod:`~pv2simkl.daemon` call it. :mod:`~pv2simkl.config` is the one
settings object and path hub.
"""

__version__ = "0.1.0"
