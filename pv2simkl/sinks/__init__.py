"""Sinks: where the watches go.

* :mod:`~pv2simkl.sinks.simkl_csv` — the delta CSVs Simkl's importer reads.
* :mod:`~pv2simkl.sinks.simkl_push` — each watch sent to Simkl's API, exactly once, through
  :mod:`~pv2simkl.sinks.simkl_api` (the client) and :mod:`~pv2simkl.sinks.simkl_auth` (the
  PIN sign-in and the token in the keyring).

A sink reads what the store holds (events with their ids) and writes it out; it never parses
input and never asks a metadata service.
"""
