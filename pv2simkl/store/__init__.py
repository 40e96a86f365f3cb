"""The SQLite store: every watch event, the works they belong to, imports and export batches.

One file (WAL mode) that any number of processes (the daemon, the CLI, a second CLI) may
write at once: each step is one ``BEGIN IMMEDIATE`` transaction, so a crash leaves either
the old state or the new, and two writers end with exactly what one after the other would
give. Which observations are one watch is :mod:`pv2simkl.store.identity`'s rule, asked inside
that transaction; the schema's watch key refuses a second copy of one observation.

The parts, by concern: :mod:`.connection` (opening, modes, transactions and their retry),
:mod:`.faults` (a full disk, a read-only or damaged file, told plainly), :mod:`.schema`
(named migrations), :mod:`.events` (events and works), :mod:`.batches` (runs and export
batches), :mod:`.metadata` (provider results, pins, the unmatched), :mod:`.pushes` (what
reached Simkl through its API), :mod:`.identity` (the rule itself, pure), :mod:`.views`
(light reads for ``status`` and ``history``), :mod:`.locks` (one exporter or pusher at a time),
:mod:`.maintenance` (check, backup and restore of the file, with plain sqlite3).

The names below load on first use (PEP 562): ``status`` reads through :mod:`.views` without
paying for the writing machinery (sqlite_utils, the identity rule).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["Store", "day_of", "integrity_ok", "migrations", "open_store", "work_key"]

_HOME = {"day_of": "events", "work_key": "identity",
         "migrations": "schema", "Store": "_store", "open_store": "_store",
         "integrity_ok": "_store"}  # fmt: skip

if TYPE_CHECKING:
    from pv2simkl.store._store import Store, integrity_ok, open_store
    from pv2simkl.store.events import day_of
    from pv2simkl.store.identity import work_key
    from pv2simkl.store.schema import migrations


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    module = importlib.import_module(f"{__name__}.{home}")
    value = getattr(module, name)
    globals()[name] = value
    return value
