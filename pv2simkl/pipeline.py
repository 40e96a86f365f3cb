"""The steps of pv2simkl, one function each: import, export, history.

The CLI and (later) the daemon call these and nothing deeper; they take a
:class:`Context` (settings, paths, the open store) and return plain results.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from pv2simkl import export as exporter
from pv2simkl.config import Paths, Settings, load_settings
from pv2simkl.errors import ParseError, Pv2SimklError
from pv2simkl.importers import Target, expand, parse_data, read_file
from pv2simkl.models import ImportResult, WatchEvent
from pv2simkl.store import Store, open_store

log = logging.getLogger(__name__)


@dataclass
class Context:
    """Everything one run needs, resolved once."""

    settings: Settings
    paths: Paths
    _store: Store | None = None

    @classmethod
    def create(cls, settings: Settings | None = None) -> Context:
        settings = settings or load_settings()
        return cls(settings=settings, paths=Paths.from_settings(settings))

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = open_store(self.paths.db)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


@dataclass
class ImportReport:
    """The outcome of ``import``: one result per file, failures included."""

    results: list[ImportResult] = field(default_factory=list)
    failures: list[tuple[str, Pv2SimklError]] = field(default_factory=list)

    @property
    def added(self) -> int:
        return sum(r.added for r in self.results)


class FileProgress(Protocol):
    """Progress of one file: reading it (no total yet), then storing its events."""

    def set_total(self, total: int) -> None: ...

    def advance(self, n: int) -> None: ...


ProgressHook = Callable[[str], FileProgress]


def import_paths(
    ctx: Context,
    paths: list[Path],
    *,
    force: bool = False,
    locale: str | None = None,
    progress: ProgressHook | None = None,
) -> ImportReport:
    """Import files, folders and ZIPs; each file is one transaction.

    A file that fails is reported and stores nothing; the others still import. A file
    already imported (same bytes) is skipped unless ``force``.
    """
    report = ImportReport()
    locale = locale or ctx.settings.import_.default_locale
    for missing in (p for p in paths if not p.exists()):
        report.failures.append(
            (str(missing), ParseError("does not exist; check the path", path=str(missing)))
        )
    targets = list(expand([p for p in paths if p.exists()]))
    for target in targets:
        result = _import_one(
            ctx, target, force=force, locale=locale, progress=progress, report=report
        )
        if result is not None:
            report.results.append(result)
    return report


def _import_one(
    ctx: Context,
    target: Target,
    *,
    force: bool,
    locale: str,
    progress: ProgressHook | None,
    report: ImportReport,
) -> ImportResult | None:
    name = str(target.path)
    bar = progress(name) if progress else None
    try:
        data, sha256 = read_file(target.path)
        previous = ctx.store.already_imported(sha256)
        if previous and not force:
            log.info("%s has the same content as %s, imported before; skipped", name,
                     previous["path"])  # fmt: skip
            return ImportResult(path=name, skipped_file=True)
        parsed = parse_data(data, name, locale=locale)
        del data
    except ParseError as exc:
        log.debug("reading %s failed", name, exc_info=True)
        if target.in_folder and exc.exit_code == 5:
            log.info("skipped %s: %s", name, exc.reason)
            return None
        report.failures.append((name, exc))
        return None
    result = ImportResult(path=name, source=parsed.source, warnings=list(parsed.flat.warnings))
    for message in parsed.flat.errors:
        report.failures.append((name, ParseError(message)))
    if bar:
        bar.set_total(len(parsed.flat.events))
    added = ctx.store.add_import(
        parsed.flat.events,
        path=name,
        sha256=parsed.sha256,
        source=parsed.source,
        message="; ".join(parsed.flat.errors) or None,
        progress=bar.advance if bar else None,
    )
    result.seen, result.added, result.updated = added.seen, added.added, added.updated
    for warning in parsed.flat.warnings:
        log.warning("%s", warning)
    return result


def export(
    ctx: Context, *, all_history: bool = False, out_dir: Path | None = None
) -> exporter.ExportResult:
    """Write the delta (or everything) as Simkl CSVs into the export folder."""
    folder = out_dir or ctx.paths.export_dir
    return exporter.export(ctx.store, folder, ctx.settings.export, all_history=all_history)


def history(ctx: Context) -> Iterator[WatchEvent]:
    """Every stored watch event, oldest first."""
    return ctx.store.iter_events()
