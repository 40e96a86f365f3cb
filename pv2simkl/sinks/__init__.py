"""Sinks: where the watches go.

* :mod:`~pv2simkl.sinks.simkl_csv` — the delta CSVs Simkl's importer reads.
* :mod:`~pv2simkl.sinks.simkl_push` — each watch sent to Simkl's API, exactly once, through
  :mod:`~pv2simkl.sinks.simkl_api` (the client) and :mod:`~pv2simkl.sinks.simkl_auth` (the
  PIN sign-in and the token in the keyring).

A sink reads what the store holds (events with their ids) and writes it out; it never parses
input and never asks a metadata service. :data:`SINKS` is the registry a sync cycle runs, in
order: each sink module has ``deliver(settings, paths, store) -> Delivery``. Adding a sink is
one module here, one line in :data:`SINKS` and its test under ``tests/sinks/``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType

from pv2simkl.config import Settings


@dataclass
class Delivery:
    """What one sink did in a cycle: the files it wrote, the watches Simkl added."""

    files: list[str] = field(default_factory=list)
    sent: int | None = None


@dataclass(frozen=True)
class Sink:
    """One way a sync cycle sends watches on: ``wanted`` says whether the settings ask for
    it; a sink that needs the network has an ``offline_note`` (said instead in offline
    mode). Its failure never stops the next sink."""

    name: str  # as its errors are prefixed: "push: …"
    module: str
    wanted: Callable[[Settings], bool]
    offline_note: str = ""

    def load(self) -> ModuleType:
        return importlib.import_module(self.module)


SINKS: tuple[Sink, ...] = (
    Sink("export", "pv2simkl.sinks.simkl_csv", lambda s: s.export.csv),
    Sink("push", "pv2simkl.sinks.simkl_push", lambda s: s.simkl.push,
         "offline mode is on: nothing was pushed to Simkl"),
)  # fmt: skip
