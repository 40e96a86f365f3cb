"""Sources: where the history's bytes come from.

* :mod:`~pv2simkl.sources.amazon` — a signed-in Amazon session (mechanicalsoup, stored
  credentials and a TOTP code) that fetches the history JSON headlessly.
* :mod:`~pv2simkl.sources.browser` — a real Chromium (playwright) for a sign-in a person
  finishes by hand, and a fetch through the kept browser session.
* :mod:`~pv2simkl.sources.inbox` — the folder the daemon watches: which files are settled,
  where taken and failed files go.

A source hands bytes (or parsed events, through :mod:`pv2simkl.formats`) to the pipeline; it
knows nothing of the store, the metadata services or Simkl.
"""
