"""The steps of pv2simkl, one function each: import, export, history.

The CLI and (later) the daemon call these and nothing deeper; they take a
:class:`Context` (settings, paths, the open store) and return plain results.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from pv2simkl import titles
from pv2simkl.config import Paths, Settings, load_settings
from pv2simkl.errors import (
    NotFoundError,
    ParseError,
    PartialReadError,
    Pv2SimklError,
    UnknownFormatError,
)
from pv2simkl.formats import parse_data
from pv2simkl.formats.events import Unreadable
from pv2simkl.models import Ids, ImportResult, WatchEvent
from pv2simkl.sinks import simkl_csv as exporter
from pv2simkl.sinks import simkl_push as pusher
from pv2simkl.sources.files import Target, expand, read_file
from pv2simkl.store import Store, open_store
from pv2simkl.words import display_name

if TYPE_CHECKING:
    from pv2simkl.sources.amazon import FetchResult
    from pv2simkl.sources.inbox import Settler

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
    locale = locale or ctx.settings.import_.default_locale or None
    for path in paths:
        name = display_name(path)
        try:
            if not path.exists():
                raise ParseError("does not exist; check the path", path=name)
            folder = path.is_dir()
            targets = list(expand([path]))
        except OSError as exc:  # a name too long, a folder we may not enter …
            report.failures.append((name, ParseError(_cannot(exc), path=name)))
            continue
        except ParseError as exc:
            report.failures.append((name, exc))
            continue
        results = [
            result
            for target in targets
            if (result := _import_one(ctx, target, force=force, locale=locale,
                                      progress=progress, report=report)) is not None
        ]  # fmt: skip
        report.results.extend(results)
        if folder and not results and not any(n.startswith(name) for n, _ in report.failures):
            report.failures.append((name, _no_history_in(path, targets)))
    return report


def _cannot(exc: OSError) -> str:
    """``cannot be read (Permission denied)``."""
    return f"cannot be read ({exc.strerror or exc})"


def _no_history_in(folder: Path, targets: list[Target]) -> UnknownFormatError:
    """A folder none of whose files is a history: one sentence, exit 5."""
    if not targets:
        empty = not any(folder.iterdir())
        what = "the folder is empty" if empty else (
            "it holds only hidden files and a saved page's assets (images, scripts, styles)"
        )  # fmt: skip
    else:
        shown = ", ".join(Path(t.name).name for t in targets[:3])
        more = f" and {len(targets) - 3} more" if len(targets) > 3 else ""
        what = (
            f"none of its files ({shown}{more}) is a saved watch-history page, a history "
            "JSON reply, a data-export CSV or ZIP, or the console exporter's CSV or JSON"
        )
    name = display_name(folder)
    return UnknownFormatError(f"no Prime Video history files in {name}: {what}.")


def _import_one(
    ctx: Context,
    target: Target,
    *,
    force: bool,
    locale: str | None,
    progress: ProgressHook | None,
    report: ImportReport,
) -> ImportResult | None:
    name = target.name  # printable and storable, whatever bytes the file name holds
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
    flat = parsed.flat
    problems = [ParseError(message) for message in flat.errors]
    problems += [_partial(name, problem) for problem in flat.unreadable.values()]
    report.failures.extend((name, problem) for problem in problems)
    if bar:
        bar.set_total(len(flat.events))
    added = ctx.store.add_import(
        flat.events,
        path=name,
        sha256=parsed.sha256,
        source=parsed.source,
        message="; ".join(str(p) for p in problems) or None,
        progress=bar.advance if bar else None,
        watchlist=flat.watchlist,
        partial=bool(problems),
    )
    result = ImportResult(
        path=name, source=parsed.source, warnings=list(flat.warnings), ignored=dict(flat.ignored),
        watchlist_seen=len(flat.watchlist), **asdict(added),
    )  # fmt: skip
    for warning in parsed.flat.warnings:
        log.warning("%s", warning)
    return result


def _partial(name: str, problem: Unreadable) -> PartialReadError:
    """One sentence for every row of a file that failed the same way."""
    count = len(problem.where)
    shown = ", ".join(problem.where[:5]) + (f" and {count - 5} more" if count > 5 else "")
    rows = "1 row" if count == 1 else f"{count} rows"
    return PartialReadError(
        f"{rows} skipped: {problem.reason} ({shown}). The rest of the file is stored; "
        "after a fix (or with --locale), import it again to add the skipped rows.",
        path=name,
    )


def export(
    ctx: Context, *, all_history: bool = False, out_dir: Path | None = None
) -> exporter.ExportResult:
    """Write the delta (or everything) as Simkl CSVs into the export folder."""
    folder = out_dir or ctx.paths.export_dir
    return exporter.export(ctx.store, folder, ctx.settings.export, all_history=all_history)


@dataclass
class FreshExport:
    """An export that enriched first: what ``enrich`` did (None when no provider was
    usable, or offline) and what the export wrote."""

    enriched: EnrichReport | None
    written: exporter.ExportResult


def enrich_before_export(ctx: Context, *, failures: list[str] | None = None) -> EnrichReport | None:
    """Find the ids of new titles before they are exported, when any provider is usable.

    None, silently, when none is (no key, all disabled) or ``[metadata] offline`` is set
    (cached answers only: new titles have none). A provider that is down never stops the
    export that follows (its errors are logged; the rows carry the ids known so far), nor
    does an enrich that fails as a whole: that is logged, added to ``failures``, and None
    is returned."""
    if ctx.settings.metadata.offline:
        return None
    try:
        report = enrich(ctx)
    except Pv2SimklError as exc:
        log.warning("enrich before the export failed: %s; the CSV carries the ids known", exc)
        if failures is not None:
            failures.append(f"enrich: {exc}")
        return None
    if not any(state == "ok" for _, state, _ in report.providers):
        if any(state == "unreachable" for _, state, _ in report.providers):
            log.warning("%s The CSV carries titles without ids for now.", report.errors[-1])
        return None
    for error in report.errors:
        log.warning("enrich before the export: %s", error)
    return report


def export_fresh(
    ctx: Context, *, all_history: bool = False, out_dir: Path | None = None
) -> FreshExport:
    """Enrich when a provider is usable, then export: what ``import --export``, ``fetch
    --export`` and the daemon write, so a new title reaches Simkl with its ids."""
    enriched = enrich_before_export(ctx)
    return FreshExport(enriched, export(ctx, all_history=all_history, out_dir=out_dir))


def push(
    ctx: Context, *, dry_run: bool = False, all_history: bool = False,
    max_plays: int = pusher.BATCH_PLAYS,
) -> pusher.PushReport:  # fmt: skip
    """Send every watch not yet pushed (everything with ``all_history``) to Simkl's
    ``POST /sync/history``; ``dry_run`` builds the plan and sends nothing."""
    if dry_run:
        report = pusher.push(ctx.store, None, all_history=all_history, dry_run=True)
        report.kept = ctx.store.not_found_list()
        return report
    report = pusher.send(ctx.settings, ctx.store, all_history=all_history, max_plays=max_plays)
    report.kept = ctx.store.not_found_list()
    return report


def history(
    ctx: Context, *, since: str | None = None, title: str | None = None,
    kind: str | None = None, limit: int | None = None,
) -> Iterator[WatchEvent]:  # fmt: skip
    """Stored watch events, oldest first: all of them, or those watched since ``since`` (a
    date, its local midnight, or an ISO 8601 instant), whose title holds ``title`` (any
    case), of ``kind`` (movie or episode), the newest ``limit`` of them. Filtered in SQL
    (:func:`pv2simkl.store.views.history`)."""
    from pv2simkl.models import parse_iso_utc
    from pv2simkl.store import views

    bound = views.since_bound(since) if since else None
    rows = views.history(ctx.store.db.conn, since=bound, title=title, kind=kind, limit=limit)
    for row in rows:
        fields = dict(zip(views.HISTORY_COLUMNS, row, strict=True))
        yield WatchEvent(**{**fields, "watched_at": parse_iso_utc(fields["watched_at"])})


@dataclass
class EnrichReport:
    """What ``enrich`` did."""

    works: int = 0
    matched: int = 0
    unmatched: int = 0
    episodes_numbered: int = 0
    refiled: int = 0  # "X-Y" movies that turned out to be an episode X of the show Y
    requests: dict[str, int] = field(default_factory=dict)
    throttled: dict[str, int] = field(default_factory=dict)
    cache_hits: int = 0
    providers: list[tuple[str, str, list[str]]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _query(row: dict, fallback_language: str):
    """A store row as the resolver's question: title, kind, year, language, and (when the
    store gives them) the first watch and the seasons watched."""
    from pv2simkl.providers.base import Query
    from pv2simkl.providers.resolver import first_watched

    language = (row["locale"] or fallback_language or "").split("-")[0].split("_")[0] or None
    seasons = tuple(sorted({int(s) for s in row.get("seasons") or () if s is not None}))
    return Query(
        title=row["title"], kind=row["kind"], year=row["year"], language=language,
        first_watched=first_watched(row.get("first_watched")), seasons=seasons,
    )  # fmt: skip


def enrich(ctx: Context, *, progress: ProgressHook | None = None) -> EnrichReport:
    """Find every unmatched work's ids, then number episodes known only by title."""
    from pv2simkl import providers as registry
    from pv2simkl.providers.resolver import Resolver

    report = EnrichReport()
    store = ctx.store
    states, cache = registry.build(ctx.settings, store.path)
    try:
        if not ctx.settings.metadata.offline:  # offline asks the cache only: no host to reach
            states = registry.drop_unreachable(states)
        report.providers = [(s.name, s.state, s.missing) for s in states]
        usable = [s.provider for s in states if s.state == "ok" and s.provider is not None]
        if any(s.state == "unreachable" for s in states) and not usable:
            report.errors.append(
                "No metadata service could be reached (is this machine offline?); the ids "
                "of new titles are looked up by the next enrich."
            )
            return report
        if not usable:
            report.errors.append(
                "No metadata provider is usable: set a key (see `pv2simkl doctor`) or enable "
                "a keyless one (jikan, imdbapi)."
            )
            return report
        resolver = Resolver(usable)
        rows = store.works_to_resolve()
        report.works = len(rows)
        language = ctx.settings.metadata.language
        jobs = []
        for row in rows:
            known = None
            if row["match_status"] in ("pinned", "matched"):  # only the rest, or details
                known = Ids(**{f: row[f] for f in ("simkl", "tvdb", "tmdb", "imdb", "mal")})
            jobs.append((row["id"], _query(row, language), known))
        bar = progress("works") if progress else None
        if bar:
            bar.set_total(len(jobs))
        pending = []

        def done(result) -> None:
            pending.append(result)
            if result.matched:
                report.matched += 1
            else:
                report.unmatched += 1
            report.errors.extend(result.errors)
            if len(pending) >= 200:
                store.save_resolutions(pending)
                pending.clear()
            if bar:
                bar.advance(1)

        resolver.resolve_many(jobs, threads=ctx.settings.metadata.threads, on_done=done)
        store.save_resolutions(pending)
        report.refiled = _settle_ambiguous(store, resolver, language)
        report.episodes_numbered = _number_episodes(store, resolver)
        for state in states:
            if state.provider is not None:
                stats = state.provider.client.stats
                report.requests[state.name] = stats.requests
                report.throttled[state.name] = stats.throttled
                report.cache_hits += stats.cache_hits
        report.errors = sorted(set(report.errors))
        return report
    finally:
        registry.close(states, cache)


def _settle_ambiguous(store: Store, resolver, language: str) -> int:
    """Single data-export rows ``X-Y`` were kept as movies; where no service knows the movie
    but one knows ``Y`` as a show, their watches become episode ``X`` of that show."""
    from pv2simkl.formats.export_titles import readings

    moved = 0
    for work in store.unmatched_movies():
        for reading in reversed(readings(work["title"])):
            row = {"title": reading.show, "kind": "show", "year": None, "locale": work["locale"]}
            result = resolver.resolve(work["id"], _query(row, language))
            if result.matched:
                result.work_id = store.refile_as_episodes(
                    work["id"], reading.show, reading.season, reading.episode_title
                )
                store.save_resolutions([result])
                moved += 1
                break
    return moved


def _number_episodes(store: Store, resolver) -> int:
    """Episodes the data export names only by title get their numbers from a season list."""
    updates: list[tuple[int, int]] = []
    for group in store.episodes_without_numbers():
        ids = Ids(simkl=group["simkl"], tmdb=group["tmdb"], tvdb=group["tvdb"])
        numbers = resolver.episode_numbers(ids, group["season"])
        if not numbers:
            continue
        for event_id, episode_title in group["events"]:
            number = numbers.get(titles.match_key(episode_title))
            if number is not None:
                updates.append((event_id, number))
    return store.set_episode_numbers(updates) if updates else 0


DOCTOR_SECONDS = 3.0  # each check's one try; all run at once, so doctor ends in ~3 s


def doctor(
    ctx: Context, *, probe: bool = True, seconds: float = DOCTOR_SECONDS
) -> list[tuple[str, str, str]]:
    """Each provider's state: ok, disabled, no key, bad key, unreachable, offline; then
    whether the Simkl sign-in (the token a push needs) works.

    Every check is one try of ``seconds`` at most, all at once in daemon threads (a name
    lookup cannot be given a timeout): without network, or with a host that takes the
    connection and never answers, doctor still ends within about ``seconds``."""
    import threading
    import time

    from pv2simkl import providers as registry
    from pv2simkl.sinks import simkl_auth

    offline = ctx.settings.metadata.offline
    states, cache = registry.build(ctx.settings, None)
    out: list[tuple[str, str, str]] = []
    results: dict[str, tuple[str, str, str]] = {}
    threads = []

    def check(s: registry.ProviderState) -> None:
        s.provider.client.hurry(seconds)
        results[s.name] = (s.name, s.provider.check(), s.provider.client.base_url)

    def login_line() -> None:
        results["simkl-login"] = simkl_auth.doctor_line(ctx.settings, probe=probe, hurry=seconds)

    try:
        for s in states:
            if s.provider is None:
                detail = f"set {', '.join(s.missing)}" if s.missing else ""
                results[s.name] = (s.name, s.state, detail)
            elif offline:
                results[s.name] = (s.name, "offline", "offline mode is on; nothing was asked")
            elif not probe:
                results[s.name] = (s.name, "ok", s.provider.client.base_url)
            else:
                threads.append(threading.Thread(target=check, args=(s,), daemon=True))
        threads.append(threading.Thread(target=login_line, daemon=True))
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + seconds + 0.5
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        late = f"no answer within {seconds:.0f} s"
        for s in states:
            url = s.provider.client.base_url if s.provider else ""
            out.append(results.get(s.name, (s.name, "unreachable", f"{url}: {late}")))
        out.append(results.get("simkl-login", ("simkl-login", "unreachable", f"Simkl: {late}")))
    finally:
        registry.close(states, cache)
    return out


def pin(
    ctx: Context, title: str, ids: dict[str, object], media_type: str | None,
    year: int | None = None,
) -> list[str]:  # fmt: skip
    """Pin ids (and a type, a year) to the work(s) titled ``title``; returns their titles.

    A later pin adds to the ids pinned before: an id for the same service replaces only
    that one (see :meth:`pv2simkl.store.metadata.Metadata.pin`).
    """
    works = ctx.store.find_works(title)
    if not works:
        raise NotFoundError(
            f"No stored title matches {title!r}; see `pv2simkl history` for the names."
        )
    for work in works:
        ctx.store.pin(work["id"], ids, media_type, year)
    return [w["title"] for w in works]


def pin_work(
    ctx: Context, work_id: int, ids: dict[str, object], media_type: str | None,
    year: int | None = None,
) -> bool:  # fmt: skip
    """Pin ids (and a type, a year) to one work, by its id (``match``'s interactive walk,
    where a movie and a show of the same name are two works); True when what the work
    exports changed. Pins add up as :func:`pin`'s do."""
    return ctx.store.pin(work_id, ids, media_type, year)


def unmatched(ctx: Context) -> list[dict]:
    """Works no provider matched confidently, with their best candidates."""
    return ctx.store.unmatched()


def amazon_session(ctx: Context, *, ask_code: Callable[[], str] | None = None):
    """The account's session, its secrets from env, config or the keyring (offline mode:
    OfflineError at once, nothing read or sent)."""
    from pv2simkl import credentials
    from pv2simkl.errors import require_online

    require_online(
        ctx.settings.metadata.offline, "Reading the history from Amazon",
        "import a saved watch-history page or data export with `pv2simkl import` instead",
    )  # fmt: skip
    from pv2simkl.sources.amazon import AmazonSession, Credentials

    settings = credentials.amazon(ctx.settings)
    creds = None
    if settings.email or settings.password:
        creds = Credentials(settings.email, settings.password, settings.totp_secret)
    return AmazonSession(
        settings, cookie_path=ctx.paths.amazon_cookies,
        state_dir=ctx.paths.state_dir, credentials=creds, ask_code=ask_code,
    )  # fmt: skip


def fetch(
    ctx: Context, *, full: bool = False, ask_code: Callable[[], str] | None = None,
    progress: ProgressHook | None = None,
) -> FetchResult:  # fmt: skip
    """Read the history from Amazon (new pages only, unless ``full``) into the store: what
    the session read, with what the store added and the episodes the catalog numbered."""
    import hashlib

    session = amazon_session(ctx, ask_code=ask_code)  # offline: OfflineError before anything
    try:
        bar = progress("Amazon history") if progress else None
        result = session.fetch(
            known=None if full else ctx.store.is_known,
            progress=bar.advance if bar else None,
        )  # fmt: skip
        digest = hashlib.sha256(f"{result.host}{datetime.now(UTC).isoformat()}".encode())
        where = f"amazon:{result.host}{result.api_path}"
        skipped = [str(_partial(where, p)) for p in result.unreadable.values()]
        result.warnings.extend(skipped)
        added = ctx.store.add_import(
            result.events, path=where, sha256=digest.hexdigest(), source="api",
            message="; ".join(skipped) or None, partial=bool(skipped),
        )  # fmt: skip
        result.added = added.added
        gtis = ctx.store.gtis_without_numbers()
        if gtis:
            region = ctx.settings.amazon.region or ""
            numbers = session.episode_numbers(session.catalog_url(result.host, region), gtis)
            result.numbered = ctx.store.set_numbers_by_gti(numbers)
    finally:
        session.close()
    return result


def _history_url(ctx: Context) -> str:
    session = amazon_session(ctx)
    try:
        host, region = session.startup()
    finally:
        session.close()
    from urllib.parse import urlsplit

    if urlsplit(host).netloc.removeprefix("www.").startswith("amazon."):
        return f"{host}/gp/video/settings/watch-history"
    return f"{host}/region/{region}/settings/watch-history"


def browser_login(
    ctx: Context, *, headless: bool = False, timeout: float = 600.0,
    opening: Callable[[], None] | None = None,
) -> int:  # fmt: skip
    """A visible browser window for a sign-in no script can pass; saves its cookies.

    ``opening`` is called just before the window opens (after the offline and timeout
    checks and Amazon's address are settled): the place to say "a window opens"."""
    from pv2simkl.errors import require_online
    from pv2simkl.sources import browser

    require_online(ctx.settings.metadata.offline, "Signing in to Amazon in a browser")
    browser.check_timeout(timeout)  # before Amazon is asked anything
    url = _history_url(ctx)
    if opening is not None:
        opening()
    return browser.login(
        url, cookie_path=ctx.paths.amazon_cookies,
        profile=ctx.paths.browser_profile, headless=headless, timeout=timeout,
    )  # fmt: skip


def browser_fetch(ctx: Context, *, headless: bool = True) -> ImportResult:
    """The fallback: scroll the live page to its end in the browser and import it."""
    import hashlib

    from pv2simkl.errors import require_online

    require_online(ctx.settings.metadata.offline, "Reading the history page in a browser")

    from pv2simkl.formats import page as page_importer
    from pv2simkl.sources import browser

    html = browser.scrape(
        _history_url(ctx), profile=ctx.paths.browser_profile,
        cookie_path=ctx.paths.amazon_cookies, headless=headless,
    )  # fmt: skip
    flat = page_importer.parse(html, name="browser")
    added = ctx.store.add_import(
        flat.events, path="browser", sha256=hashlib.sha256(html).hexdigest(), source="page"
    )
    return ImportResult(path="browser", source="page", warnings=flat.warnings, **asdict(added))


def import_inbox_file(ctx: Context, path: Path, *, enrich_after: bool = True) -> InboxResult:
    """Import one inbox file and move it to processed/ or failed/; then, when it added
    something, ``enrich_after`` and ``[daemon] enrich`` is on, find the new titles' ids
    (see :func:`enrich_before_export`), so the export the daemon writes next carries them.

    The file is taken as it is now (size, mtime, SHA-256). If it differs from that after
    the import, it was still being written: it stays in the inbox (``changed``) to be taken
    again once it holds still, and the same holds if it changes while it is moved. A link
    out of the inbox goes to failed/ unread. A problem of the store, not of the file,
    leaves the file where it is (``kept``).
    """
    from pv2simkl.sources import inbox

    name, folder = display_name(path.name), ctx.paths.inbox
    problem = inbox.link_problem(path, folder)
    if problem:
        inbox.move_failed(path, folder, f"{name} {problem}")
        return InboxResult("failed", problem, name)
    taken = inbox.take(path)
    if taken is None:
        return InboxResult("gone", "disappeared before it could be read", name)
    try:
        report = import_paths(ctx, [path])
    except Pv2SimklError as exc:  # the store, not the file: leave the file for the next try
        return InboxResult("kept", str(exc), name)
    changed = InboxResult("changed", "was written to while it was read; read again once it "
                          "holds still", name)  # fmt: skip
    if not inbox.unchanged(path, taken):
        return changed
    if report.failures:
        reason = "; ".join(_plain(exc, display_name(path)) for _, exc in report.failures)
        moved = inbox.move_failed(path, folder, reason, taken)
        return changed if moved is None else InboxResult("failed", reason, name)
    if inbox.move_processed(path, folder, taken) is None:
        return changed
    if enrich_after and ctx.settings.daemon.enrich and _added_anything(report):
        enrich_before_export(ctx)
    return InboxResult("processed", f"{report.added} new events", name)


def _added_anything(report: ImportReport) -> bool:
    """New events or new watchlist titles: only these bring works without ids."""
    return any(r.added or r.watchlist for r in report.results)


@dataclass
class InboxResult:
    """What became of one inbox file: ``processed`` or ``failed`` (moved aside), ``changed``
    (written to after it was taken: taken again once it holds still), ``gone``, or ``kept``
    (the store could not take it; tried again later). ``name`` is printable."""

    outcome: str
    message: str
    name: str

    @property
    def ok(self) -> bool:
        return self.outcome == "processed"


def _plain(exc: Exception, name: str) -> str:
    text = str(exc)
    return text[len(name) :].lstrip(": ") if text.startswith(name) else text


@dataclass
class SyncReport:
    """What one sync did: the summary `pv2simkl sync` prints and `status` shows."""

    fetched: int | None = None
    inbox_ok: int = 0
    inbox_failed: int = 0
    new_events: int = 0
    matched: int = 0
    unmatched: int = 0
    csv: list[str] = field(default_factory=list)
    pushed: int | None = None  # watches Simkl added ([simkl] push); None: no push step
    errors: list[str] = field(default_factory=list)
    # Steps left out on purpose, one line each ("offline mode is on: …"): not errors.
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        return {
            "fetched": self.fetched, "inbox_ok": self.inbox_ok,
            "inbox_failed": self.inbox_failed, "new_events": self.new_events,
            "matched": self.matched, "unmatched": self.unmatched, "csv": self.csv,
            "pushed": self.pushed, "errors": self.errors,
        }  # fmt: skip


def _fetch_configured(ctx: Context) -> bool:
    """Whether a fetch would run, told without the keyring: a saved session, or Amazon
    credentials in the environment or the file."""
    amazon = ctx.settings.amazon
    return bool(amazon.email or amazon.password or ctx.paths.amazon_cookies.exists())


def can_fetch(ctx: Context) -> bool:
    """Amazon credentials or a saved session exist."""
    from pv2simkl import credentials

    amazon = credentials.amazon(ctx.settings)
    return bool((amazon.email and amazon.password) or ctx.paths.amazon_cookies.exists())


def sync(
    ctx: Context, *, kind: str = "sync", settle: float | None = None, settler: Settler | None = None
) -> SyncReport:
    """One cycle: fetch (when possible), the inbox, enrich, export (unless ``[export] csv
    = false``), push (with ``[simkl] push = true``). Each step's failure is recorded and
    the next step still runs; nothing already stored is lost.

    ``settle`` overrides the settle time; the daemon passes its own ``settler`` (see
    :func:`sync_inbox`)."""
    report = SyncReport()
    run = ctx.store.start_run(kind)
    before = ctx.store.counts()["events"]
    exporter.recover(ctx.store)
    daemon = ctx.settings.daemon
    if daemon.fetch and ctx.settings.metadata.offline:
        if _fetch_configured(ctx):
            report.notes.append("offline mode is on: nothing was fetched from Amazon")
    elif daemon.fetch:
        try:
            if can_fetch(ctx):
                report.fetched = fetch(ctx).added
        except Pv2SimklError as exc:
            report.errors.append(f"fetch: {exc}")
    sync_inbox(ctx, report, settle=settle, settler=settler)
    if daemon.enrich:
        enriched = enrich_before_export(ctx, failures=report.errors)
        if enriched is not None:
            report.matched, report.unmatched = enriched.matched, enriched.unmatched
    deliver(ctx, report)
    report.new_events = ctx.store.counts()["events"] - before
    ctx.store.finish_run(run, "error" if report.errors else "ok", report.summary())
    return report


def deliver(ctx: Context, report: SyncReport) -> None:
    """What a cycle sends on to Simkl, each sink of :data:`pv2simkl.sinks.SINKS` the
    settings ask for in turn: the delta CSV (unless ``[export] csv = false``), then the push
    (with ``[simkl] push = true``). A failure of one is recorded in ``report.errors`` and
    never stops the next."""
    from pv2simkl.sinks import SINKS

    for sink in SINKS:
        if not sink.wanted(ctx.settings):
            continue
        if sink.offline_note and ctx.settings.metadata.offline:
            report.notes.append(sink.offline_note)
            continue
        try:
            done = sink.load().deliver(ctx.settings, ctx.paths, ctx.store)
        except Pv2SimklError as exc:
            report.errors.append(f"{sink.name}: {exc}")
            continue
        report.csv += done.files
        if done.sent is not None:
            report.pushed = (report.pushed or 0) + done.sent


INBOX_PATIENCE = 5  # settle times a lone `sync` waits for a file that is still written


def sync_inbox(
    ctx: Context, report: SyncReport, *, settle: float | None = None,
    settler: Settler | None = None, patience: float | None = None,
) -> None:  # fmt: skip
    """The inbox step of a sync: every file that held still for the settle time is imported.

    With the daemon's ``settler`` nothing waits (``patience`` 0): the files it has seen
    hold still are taken, and the others are left to it (it watches them from now on).
    Alone (``pv2simkl sync``), the step watches the files itself, waits up to
    :data:`INBOX_PATIENCE` settle times for those still being written, and leaves any that
    never held still for the next sync.
    """
    from pv2simkl.sources import inbox

    seconds = ctx.settings.daemon.settle_seconds if settle is None else settle
    if patience is None:
        patience = 0.0 if settler is not None else seconds * INBOX_PATIENCE
    watcher = settler if settler is not None else inbox.Settler(seconds)
    files = inbox.waiting(ctx.paths.inbox)
    ready = watcher.settle(files, patience)
    for path in ready:
        result = import_inbox_file(ctx, path, enrich_after=False)  # the sync enriches after
        if result.outcome == "changed":
            watcher.again(path)
        else:
            watcher.forget(path)
        log.info("inbox: %s: %s", result.name, result.message)
        if result.ok:
            report.inbox_ok += 1
        elif result.outcome in ("failed", "kept"):
            if result.outcome == "failed":
                report.inbox_failed += 1
            report.errors.append(f"inbox: {result.name}: {result.message}")
    if patience and (left := len(files) - len(ready)):
        log.info("inbox: %d file(s) still being written are left for the next sync", left)


def status(ctx: Context, *, now: datetime | None = None) -> dict:
    """What ``pv2simkl status`` shows and ``status --json`` prints (README, "Status"): the
    daemon's real state and next sync, what the last runs did, what waits (export, push),
    titles by match state, the newest CSV. Reads only; ``now`` is the instant it is taken
    at (tests pass a fixed one)."""
    from pv2simkl.store import views

    return views.status(
        db=ctx.paths.db, export_dir=ctx.paths.export_dir, inbox=ctx.paths.inbox,
        daemon_state=ctx.paths.daemon_state, push_enabled=ctx.settings.simkl.push, now=now,
    )  # fmt: skip
