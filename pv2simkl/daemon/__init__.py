"""The daemon: pv2simkl running for good, as a systemd or launchd service.

* :mod:`.runner` — ``pv2simkl daemon``: one owner thread that holds the store and runs
  :func:`pv2simkl.pipeline.sync` and inbox imports as the others ask.
* :mod:`.scheduler` — when a sync is due (APScheduler 3.x: an interval or a cron line).
* :mod:`.watcher` — files dropped into the inbox (watchdog); which of them are settled is
  :mod:`pv2simkl.sources.inbox`'s to say.
* :mod:`.service` — ``pv2simkl service install|uninstall|status``: the unit or agent rendered
  from the package's ``templates/``.

The daemon depends on the rest of pv2simkl (through the pipeline) and nothing depends on
it: the CLI starts it, and ``tests/test_layout.py`` holds the rule.
"""
