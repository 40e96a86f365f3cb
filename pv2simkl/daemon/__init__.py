"""The daemon: scheduler, inbox watcher and service files (the daemon issue)."""
