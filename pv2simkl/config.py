"""Settings and paths: the one place both come from.

Precedence, lowest first: defaults < ``config.toml`` < environment ``PV2SIMKL_*`` < flags.
Every setting is ``[section] key`` in the file and ``PV2SIMKL_<SECTION>_<KEY>`` in the
environment; the path settings also have the short names ``PV2SIMKL_DATA_DIR``,
``PV2SIMKL_DB`` and ``PV2SIMKL_CONFIG``.

A small loader rather than pydantic-settings: its env mapping cannot express
``PV2SIMKL_<SECTION>_<KEY>`` when keys themselves hold underscores (``client_id``)
next to top-level names such as ``PV2SIMKL_DATA_DIR``.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

from platformdirs import PlatformDirs

from pv2simkl.errors import ConfigError

APP = "pv2simkl"
ENV_PREFIX = "PV2SIMKL_"

# ------------------------------------------------------------------ what a setting is


def setting(default: Any, help: str, **checks: Any) -> Any:
    """A settings field: its default (a function makes a fresh one each time), the one line
    of ``help`` that `config init` writes above it, and what is checked whenever a value is
    set: ``choices`` (the values allowed), ``min`` (the least number allowed) or ``check``
    (a function that says why a value is refused, as the end of a sentence, or None).
    ``secret=True`` marks a secret: never logged, never in an error or in `config init`'s
    file, refused in a config file others can read, looked for in the keyring."""
    metadata = {"help": help, **checks}
    if callable(default):
        return field(default_factory=default, metadata=metadata)
    return field(default=default, metadata=metadata)


def field_meta(cls: type, name: str) -> dict[str, Any]:
    """The metadata of ``cls``'s field ``name``, those of the classes it derives from
    filling in what it leaves out (a provider's ``limits = "40/1"`` keeps the check and the
    help of :class:`ProviderSettings`'s)."""
    meta: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        found = getattr(klass, "__dataclass_fields__", {}).get(name)
        if found is not None and name in vars(klass).get("__annotations__", {}):
            meta.update(found.metadata)
    return meta


def is_secret(cls: type, name: str) -> bool:
    """Whether ``cls``'s setting ``name`` is a secret (``setting(…, secret=True)``)."""
    return bool(field_meta(cls, name).get("secret"))


def section_name(cls: type) -> str:
    """``TmdbSettings`` → ``tmdb``: every section class is named ``<Section>Settings``."""
    return cls.__name__.removesuffix("Settings").lower()


def section_help(cls: type) -> str:
    """The first line of the section class's docstring (`config init` heads it with it)."""
    return (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""


def check_value(cls: type, key: str, value: Any, where: str) -> None:
    """Refuse ``value`` for ``cls``'s ``key`` in one sentence that starts with ``where``."""
    meta = field_meta(cls, key)
    choices = meta.get("choices")
    if choices is not None and value not in choices:
        allowed = [repr(c) for c in choices if c != ""]
        text = " or ".join([", ".join(allowed[:-1]), allowed[-1]] if len(allowed) > 1 else allowed)
        empty = " (or empty)" if "" in choices else ""
        raise ConfigError(f"{where} {value!r} must be {text}{empty}.")
    least = meta.get("min")
    if least is not None and isinstance(value, int | float) and not value >= least:
        raise ConfigError(f"{where} must be at least {least}, not {value!r}.")
    check: Callable[[Any], str | None] | None = meta.get("check")
    why = check(value) if check is not None else None
    if why:
        raise ConfigError(f"{where} {value!r} {why}.")


class Section:
    """A section of the settings: every value is checked when the section is made (and
    :func:`load_settings` checks each value it sets, naming where it came from)."""

    def __post_init__(self) -> None:
        name = section_name(type(self))
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            check_value(type(self), f.name, getattr(self, f.name), f"[{name}] {f.name}")


# ------------------------------------------------------------------ checks of single values


def _positive(value: float) -> str | None:
    return None if value > 0 else "must be more than 0"


def _time_zone(name: str) -> str | None:
    if name in {"", "local"}:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return "is not a time zone name such as Europe/Berlin or 'local'"
    return None


def file_mode_bits(text: str) -> int | None:
    """A ``file_mode`` as permission bits; None unless the owner can read and write and
    nothing beyond rwx for owner, group and others is set (no setuid, no sticky bit)."""
    try:
        bits = int(str(text).strip().lower().removeprefix("0o"), 8)
    except ValueError:
        return None
    return bits if 0 <= bits <= 0o777 and bits & 0o600 == 0o600 else None


def _file_mode(text: str) -> str | None:
    if file_mode_bits(text) is not None:
        return None
    return (
        'must be an octal mode such as "0600" (only you) or "0644", that lets you read '
        "and write the file"
    )


def _crontab(line: str) -> str | None:
    """Why ``line`` is no five-field crontab line (APScheduler is asked only when a
    line is set: it is slow to import)."""
    if not line.strip():
        return None
    fields = line.split()
    if len(fields) != 5:
        return "is not a crontab line (it needs five fields: minute hour day month weekday)"
    from apscheduler.triggers.cron import CronTrigger

    minute, hour, day, month, weekday = fields
    try:
        CronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=weekday)
    except ValueError as exc:
        return f"is not a crontab line ({exc})"
    return None


def parse_limits(text: str) -> list[tuple[int, float]]:
    """``"3/1, 60/60"`` → ``[(3, 1.0), (60, 60.0)]``."""
    limits = []
    for part in text.split(","):
        if not part.strip():
            continue
        calls, _, seconds = part.strip().rstrip("s").partition("/")
        try:
            limits.append((int(calls), float(seconds or 1)))
        except ValueError:
            raise ValueError(f"{text!r} is not a rate such as '10/1' or '3/1, 60/60'") from None
    return limits


def _limits(text: str) -> str | None:
    try:
        rates = parse_limits(text)
    except ValueError:
        return "is not a rate such as '10/1' or '3/1, 60/60'"
    if any(calls < 1 or not 0 < seconds < float("inf") for calls, seconds in rates):
        return "must allow at least 1 call in a positive number of seconds, as '10/1' does"
    return None


def _services(order: list[str]) -> str | None:
    from pv2simkl.providers import REGISTRY

    unknown = [name for name in order if name not in REGISTRY]
    if unknown:
        return f"names no service pv2simkl knows ({', '.join(unknown)}); known: " + ", ".join(
            REGISTRY
        )
    return None


# ------------------------------------------------------------------ the sections


@dataclass
class PathsSettings(Section):
    """Where things live. Empty means the platform default (see `pv2simkl doctor`)."""

    data_dir: str = setting(
        "", "Folder for the store, exports, inbox and state; empty: the user data folder."
    )
    db: str = setting("", "The SQLite store; empty: pv2simkl.sqlite3 in the data folder.")
    export_dir: str = setting(
        "", "Where the Simkl CSV files go; empty: exports/ in the data folder."
    )
    inbox: str = setting(
        "", "Folder the daemon watches for saved pages and exports; empty: inbox/."
    )


@dataclass
class ExportSettings(Section):
    """How Simkl CSV files are written."""

    date_format: str = setting(
        "mdy", '"mdy" as in Simkl\'s sample (8/21/2015), or "iso" (2015-08-21).',
        choices=("mdy", "iso"),
    )  # fmt: skip
    timezone: str = setting(
        "local", 'Zone of the WatchedDate: "local" or a name such as "Europe/Berlin".',
        check=_time_zone,
    )  # fmt: skip
    max_rows: int = setting(1000, "Rows per CSV file before a new file starts.", min=1)
    keep_files: int = setting(
        100, "Newest CSV files kept in the export folder; 0 keeps all.", min=0
    )
    file_mode: str = setting(
        "0600", 'Permissions of the CSV files, in octal: "0600" lets only you read them.',
        check=_file_mode,
    )  # fmt: skip
    csv: bool = setting(
        True, "Write delta CSVs in each sync (off when [simkl] push sends the watches)."
    )

    def mode_bits(self) -> int:
        """``file_mode`` as permission bits (a value set after the section was made is
        checked here)."""
        check_value(ExportSettings, "file_mode", self.file_mode, "[export] file_mode")
        return file_mode_bits(self.file_mode)  # type: ignore[return-value]


@dataclass
class ImportSettings(Section):
    """How history files are read."""

    default_locale: str = setting(
        "", "Language the files are written in (e.g. de-DE); overrides a page's own."
    )


@dataclass
class MetadataSettings(Section):
    """How titles are matched to Simkl, TMDB, TVDB, IMDb and MyAnimeList ids."""

    order: list[str] = setting(
        lambda: provider_names(),  # the registry's order: simkl, tmdb, tvdb, mal, jikan, …
        "Services asked, in this order; a service missing here is not used.",
        check=_services,
    )  # fmt: skip
    offline: bool = setting(False, "Send no request at all; use cached answers only.")
    threads: int = setting(
        32, "Titles looked up at once (each service keeps to its own limits).", min=1
    )
    language: str = setting(
        "", 'Language of titles, e.g. "de-DE"; empty: the language of the pages.'
    )


@dataclass
class ProviderSettings(Section):
    """One metadata service. Each provider module derives its own section from this one
    (its defaults and keys; its docstring heads the section in `config init`)."""

    enabled: bool = setting(True, "Use this service at all (it must also be in [metadata] order).")
    base_url: str = setting("", "Where the API lives (point it at a mirror or a test server).")
    limits: str = setting(
        "", 'Requests allowed, "calls/seconds", several separated by commas.', check=_limits
    )
    timeout: float = setting(20.0, "Seconds to wait for one answer.", check=_positive)
    attempts: int = setting(
        6, "Tries per request before giving up (with backoff, honouring Retry-After).", min=1
    )


# Simkl's section is shared: the metadata provider reads it, and so do both sinks (the push
# and its sign-in). It lives here, so that reading it (`status` asks for `push`) loads no
# provider module; the provider names it as its own (``Simkl.settings_class``).
@dataclass
class SimklSettings(ProviderSettings):
    """Simkl API: ids for the CSV (needs a client id)."""

    base_url: str = "https://api.simkl.com"
    limits: str = "10/1"
    client_id: str = setting("", "The API client id.", secret=True)
    access_token: str = setting(  # from `pv2simkl simkl login` (keyring simkl.access_token)
        "", "Your Simkl sign-in, from `pv2simkl simkl login`.", secret=True
    )
    push: bool = setting(  # push every new watch to Simkl's API in each sync (issue 11)
        False, "Send every new watch to Simkl's API in each sync (see `pv2simkl push`)."
    )


SHARED_PROVIDER_SECTIONS: dict[str, type[ProviderSettings]] = {"simkl": SimklSettings}


@dataclass
class AmazonSettings(Section):
    """The Amazon account and where its pages live."""

    signin_url: str = setting("https://www.amazon.com/ap/signin", "Amazon's sign-in page.")
    startup_config_url: str = setting(
        "https://atv-ps.primevideo.com/cdp/usage/GetAppStartupConfig"
        "?deviceID=&deviceTypeID=AOAGZA014O5RE&firmware=1&gascEnabled=false&version=1",
        "Where Prime Video's players learn the account's site and region.",
    )
    video_website: str = setting(
        "", "The account's Prime Video site; empty: from the startup config."
    )
    region: str = setting(
        "", "na, eu or fe; empty: from the startup config.", choices=("", "na", "eu", "fe")
    )
    catalog_url: str = setting(
        "", "Catalog host for episode numbers; empty: as Amazon's players use."
    )
    timeout: float = setting(30.0, "Seconds to wait for one Amazon page.", check=_positive)
    overlap: int = setting(1, "Pages of already-stored events read before an update stops.", min=0)
    email: str = setting("", "The Amazon account's email.", secret=True)
    password: str = setting("", "The Amazon password.", secret=True)
    totp_secret: str = setting(
        "", "The two-step verification secret, for one-time codes.", secret=True
    )


@dataclass
class DaemonSettings(Section):
    """The background service (`pv2simkl daemon`, `pv2simkl service install`)."""

    interval_minutes: int = setting(360, "Minutes between two syncs …", min=1)
    cron: str = setting(
        "", '… or a crontab line such as "0 4 * * *" (wins over the interval).', check=_crontab
    )
    jitter_seconds: int = setting(
        300, "Random delay added to each sync, up to this many seconds.", min=0
    )
    settle_seconds: float = setting(
        2.0, "A dropped file is read once its size held still this long.", min=0
    )
    run_at_start: bool = setting(True, "Sync once as soon as the daemon starts.")
    fetch: bool = setting(True, "Fetch from Amazon in each sync when credentials or cookies exist.")
    enrich: bool = setting(True, "Look up ids in each sync.")


BASE_SECTIONS: dict[str, type] = {
    "paths": PathsSettings,
    "export": ExportSettings,
    "import": ImportSettings,
    "metadata": MetadataSettings,
    "amazon": AmazonSettings,
    "daemon": DaemonSettings,
}


def provider_names() -> list[str]:
    """The metadata services' sections, from the registry (no provider module loaded)."""
    from pv2simkl.providers import REGISTRY

    return list(REGISTRY)


@functools.cache
def provider_section(name: str) -> type[ProviderSettings]:
    """The settings class of one service, from its provider module (a shared section from
    :data:`SHARED_PROVIDER_SECTIONS`, without loading the module)."""
    if name in SHARED_PROVIDER_SECTIONS:
        return SHARED_PROVIDER_SECTIONS[name]
    from pv2simkl.providers import provider_class

    return provider_class(name).settings_class


def section_names() -> list[str]:
    return [*BASE_SECTIONS, *provider_names()]


def __getattr__(name: str) -> Any:
    """``PROVIDER_SECTIONS`` and ``SECTIONS`` (name → class) and ``SECRET_KEYS``, made on
    first use: they load every provider module, which a command such as `status` has no
    need of."""
    if name == "PROVIDER_SECTIONS":
        return {n: provider_section(n) for n in provider_names()}
    if name == "SECTIONS":
        return {**BASE_SECTIONS, **{n: provider_section(n) for n in provider_names()}}
    if name == "SECRET_KEYS":  # the names of every section's secrets
        return {f.name for c in __getattr__("SECTIONS").values()
                for f in dataclasses.fields(c) if is_secret(c, f.name)}  # fmt: skip
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Short env names for the settings a user or a test sets most.
ALIASES = {
    "PV2SIMKL_DATA_DIR": ("paths", "data_dir"),
    "PV2SIMKL_DB": ("paths", "db"),
    "PV2SIMKL_EXPORT_DIR": ("paths", "export_dir"),
    "PV2SIMKL_INBOX": ("paths", "inbox"),
    "PV2SIMKL_OFFLINE": ("metadata", "offline"),
}


@dataclass
class Settings:
    """Every setting, by section. A metadata service's section (``settings.tmdb``) is
    made on first use, from its provider module."""

    paths: PathsSettings = field(default_factory=PathsSettings)
    export: ExportSettings = field(default_factory=ExportSettings)
    import_: ImportSettings = field(default_factory=ImportSettings)
    metadata: MetadataSettings = field(default_factory=MetadataSettings)
    amazon: AmazonSettings = field(default_factory=AmazonSettings)
    daemon: DaemonSettings = field(default_factory=DaemonSettings)
    providers: dict[str, ProviderSettings] = field(default_factory=dict)
    config_file: Path | None = None

    def section(self, name: str) -> Any:
        if name in BASE_SECTIONS:
            return getattr(self, "import_" if name == "import" else name)
        return self.provider(name)

    def provider(self, name: str) -> ProviderSettings:
        if name not in self.providers:
            self.providers[name] = provider_section(name)()
        return self.providers[name]

    def __getattr__(self, name: str) -> ProviderSettings:
        if name != "providers" and name in provider_names():
            return self.provider(name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def _coerce(value: Any, kind: type, where: str) -> Any:
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"1", "true", "yes", "on"}:
            return True
        if text in {"0", "false", "no", "off", ""}:
            return False
        raise ConfigError(f"{where} must be true or false, not {value!r}.")
    if kind is int or kind is float:
        try:
            return kind(value)
        except (TypeError, ValueError):
            what = "a whole number" if kind is int else "a number"
            raise ConfigError(f"{where} must be {what}, not {value!r}.") from None
    if kind == list[str]:
        items = value if isinstance(value, list) else str(value).split(",")
        return [str(i).strip() for i in items if str(i).strip()]
    return str(value)


def _apply(settings: Settings, section: str, key: str, value: Any, where: str) -> None:
    known = section_names()
    if section not in known:
        raise ConfigError(
            f"{where}: unknown section [{section}]{_did_you_mean(section, known)}; "
            f"known: {', '.join(known)}."
        )
    target = settings.section(section)
    hints = _hints(type(target))
    if key not in hints:
        raise ConfigError(
            f"{where}: unknown setting {key!r} in [{section}]{_did_you_mean(key, hints)}; "
            f"known: {', '.join(hints)}."
        )
    value = _coerce(value, hints[key], where)
    check_value(type(target), key, value, where)
    setattr(target, key, value)


def _did_you_mean(name: str, known: Mapping[str, object] | list[str]) -> str:
    """`` (did you mean max_rows?)`` when one known name is close to ``name``."""
    import difflib

    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def _env_key(section: str, key: str) -> str:
    return f"{ENV_PREFIX}{section.upper()}_{key.upper()}"


def platform_dirs() -> PlatformDirs:
    return PlatformDirs(APP, appauthor=False)


def default_config_file(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get("PV2SIMKL_CONFIG"):
        return Path(env["PV2SIMKL_CONFIG"]).expanduser()
    return platform_dirs().user_config_path / "config.toml"


def load_settings(
    config_file: Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[tuple[str, str], Any] | None = None,
    create: bool = False,
) -> Settings:
    """Build the settings: defaults, then the file, then the environment, then ``overrides``.

    ``overrides`` maps ``(section, key)`` to a value (the CLI's flags); ``None`` values
    are ignored so unset flags do not clobber anything. Every value is checked as it is
    set (its type, and the range or the choices its field allows); a bad one is refused
    in one sentence that names where it came from (the file and its section, the
    environment variable or the flag).

    A config file named by ``config_file`` or ``PV2SIMKL_CONFIG`` must exist (a mistyped
    name is refused, not ignored); the default one may be missing. A store (``db``) set
    to a file whose folder does not exist is refused unless ``create`` (the global
    ``--create``) or the folder is the data folder, which pv2simkl makes itself: a
    mistyped ``--db`` would otherwise start an empty store somewhere unexpected.
    """
    env = os.environ if env is None else env
    settings = Settings()
    path = config_file or default_config_file(env)
    named = config_file is not None or bool(env.get("PV2SIMKL_CONFIG"))
    if named and not path.exists():
        flag = "--config" if config_file is not None else "PV2SIMKL_CONFIG"
        raise ConfigError(
            f"The config file {path} ({flag}) does not exist; check the path, or write one "
            f"with `pv2simkl --config {path} config init`."
        )
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path} is not valid TOML ({exc}); fix or remove it.") from None
        except OSError as exc:
            raise ConfigError(f"The config file {path} cannot be read ({exc.strerror}).") from None
        holds_secret = False
        for section, values in data.items():
            if not isinstance(values, dict):
                raise ConfigError(f"{path}: {section!r} must be a [section] table.")
            for key, value in values.items():
                _apply(settings, section, key, value, f"{path} [{section}] {key}")
                holds_secret |= is_secret(type(settings.section(section)), key) and bool(value)
        if holds_secret and os.name == "posix" and path.stat().st_mode & 0o077:
            raise ConfigError(
                f"{path} holds a secret and others can read it; run `chmod 600 {path}` "
                "or move the secret to the keyring or an environment variable."
            )
        settings.config_file = path
    set_in_env = [name for name in env if name.startswith(ENV_PREFIX)]
    for section in section_names():
        prefix = f"{ENV_PREFIX}{section.upper()}_"
        if section not in BASE_SECTIONS and not any(n.startswith(prefix) for n in set_in_env):
            continue  # a service's section is loaded only when the environment sets it
        for f in dataclasses.fields(settings.section(section)):
            name = _env_key(section, f.name)
            if name in env:
                _apply(settings, section, f.name, env[name], name)
    for name, (section, key) in ALIASES.items():
        if env.get(name):
            _apply(settings, section, key, env[name], name)
    db_from = "[paths] db in the config file"
    for name in ("PV2SIMKL_PATHS_DB", "PV2SIMKL_DB"):
        db_from = name if env.get(name) else db_from
    for (section, key), value in (overrides or {}).items():
        if value is not None:
            _apply(settings, section, key, value, f"--{key.replace('_', '-')}")
            db_from = "--db" if (section, key) == ("paths", "db") else db_from
    if not create:
        _check_db_folder(settings, db_from)
    return settings


def _check_db_folder(settings: Settings, where: str) -> None:
    """Refuse a store file set in a folder that does not exist (see :func:`load_settings`)."""
    if not settings.paths.db:
        return
    db = Path(settings.paths.db).expanduser().resolve()
    if settings.paths.data_dir:
        data = Path(settings.paths.data_dir).expanduser().resolve()
    else:
        data = platform_dirs().user_data_path
    if db.parent == data or db.parent.is_dir():
        return
    raise ConfigError(
        f"The folder of the store {db} ({where}) does not exist; check the path, "
        "or add --create to make it."
    )


PRIVATE_DIR_MODE = 0o700  # the folders hold the whole watch history, cookies and logs


def private_dir(path: Path, *, tighten: bool = True) -> bool:
    """Make ``path`` a folder only this user can enter (0700); True when it is one.

    Missing folders, parents included, are created 0700 (what the XDG base-directory spec
    asks of a folder it has to create). With ``tighten``, an existing folder of this
    user's that others can enter is made 0700 too (stores of earlier versions sit in 0755
    folders); its parents are left alone. Best effort: a folder that cannot be made (a
    read-only disk) is left to the code that writes into it, which reports the fault in
    its own words.
    """
    try:
        missing = [p for p in (path, *path.parents) if not p.exists()]
        for folder in reversed(missing):
            folder.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
            os.chmod(folder, PRIVATE_DIR_MODE)  # the umask could have taken owner bits away
        st = path.stat()
        mine = st.st_uid == getattr(os, "getuid", lambda: st.st_uid)()
        if tighten and mine and st.st_mode & 0o077:
            os.chmod(path, PRIVATE_DIR_MODE)
        return path.is_dir() and not path.stat().st_mode & 0o077
    except OSError:
        return False


LOG_FILE = "pv2simkl.log"  # the daemon's log, in the log folder (Paths.log_file)


@dataclass(frozen=True)
class Paths:
    """Every file and folder pv2simkl reads or writes, resolved once.

    Resolving them makes the data, state and log folders private (:func:`private_dir`),
    and the default config folder too when it exists: every later write lands in a folder
    no other user can enter, whichever part of pv2simkl writes first. A data folder the
    user chose is created 0700 but, when it exists already, left as it is unless it is
    named ``pv2simkl`` (it may be any folder). The export folder and the inbox are left as
    they are when they are set to folders of their own (a browser's download folder, say);
    by default they live inside the data folder.
    """

    data_dir: Path
    db: Path
    export_dir: Path
    inbox: Path
    state_dir: Path
    log_dir: Path
    cache_dir: Path

    @property
    def amazon_cookies(self) -> Path:
        """The Amazon session's cookies (an LWP jar, 0600), shared by the headless
        session and the browser sign-in."""
        return self.data_dir / "amazon-cookies.lwp"

    @property
    def browser_profile(self) -> Path:
        """The Chromium profile of ``login --browser`` and ``fetch --browser``."""
        return self.data_dir / "browser-profile"

    @property
    def daemon_state(self) -> Path:
        """What the running daemon says of itself (pid, last cycle), for ``status``."""
        return self.state_dir / "daemon.json"

    @property
    def daemon_lock(self) -> Path:
        """Held by the running daemon: one daemon per data folder."""
        return self.state_dir / "daemon.lock"

    @property
    def log_file(self) -> Path:
        """The daemon's own log (rotated beside it as ``pv2simkl.log.1`` …)."""
        return self.log_dir / LOG_FILE

    @classmethod
    def from_settings(cls, settings: Settings) -> Paths:
        dirs = platform_dirs()
        p = settings.paths
        if p.data_dir:
            data = Path(p.data_dir).expanduser().resolve()
            state, log, cache = data / "state", data / "state" / "log", data / "cache"
        else:
            data = dirs.user_data_path
            state, log, cache = dirs.user_state_path, dirs.user_log_path, dirs.user_cache_path
        paths = cls(
            data_dir=data,
            db=Path(p.db).expanduser().resolve() if p.db else data / "pv2simkl.sqlite3",
            export_dir=Path(p.export_dir).expanduser().resolve()
            if p.export_dir
            else data / "exports",
            inbox=Path(p.inbox).expanduser().resolve() if p.inbox else data / "inbox",
            state_dir=state,
            log_dir=log,
            cache_dir=cache,
        )
        paths.make_private()
        return paths

    def make_private(self) -> None:
        """Create (or tighten) the data, state and log folders and the config folder 0700.

        The state and log folders and every platform default are pv2simkl's own (their
        path ends in ``pv2simkl`` or lies inside such a folder, or inside the data folder).
        """
        private_dir(self.data_dir, tighten=self.data_dir.name == APP)
        private_dir(self.state_dir)
        private_dir(self.log_dir)
        config_dir = platform_dirs().user_config_path
        if config_dir.is_dir():
            private_dir(config_dir)


KEYRING_SERVICE = "pv2simkl"


def fill_secrets_from_keyring(
    settings: Settings, sections: list[str] | tuple[str, ...] | None = None
) -> list[str]:
    """Secrets not set in the file or the environment, read from the system keyring.

    Stored as service ``pv2simkl``, user ``<section>.<key>`` (``pv2simkl credentials``
    writes them). Only ``sections`` are read (every section when None), and only their
    secrets still empty: with every secret of those sections set in the environment or the
    file, the keyring is not even imported (finding its backend costs a quarter second).
    A missing or locked keyring is not an error: the secret stays unset and whatever needs
    it says so. Returns the names filled in.
    """
    wanted = []
    for section in [*provider_names(), "amazon"] if sections is None else sections:
        target = settings.section(section)
        for f in dataclasses.fields(target):
            if is_secret(type(target), f.name) and not getattr(target, f.name):
                wanted.append((section, target, f.name))
    if not wanted:
        return []
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:  # pragma: no cover - keyring is a dependency
        return []
    filled = []
    for section, target, key in wanted:
        try:
            value = keyring.get_password(KEYRING_SERVICE, f"{section}.{key}")
        except (KeyringError, RuntimeError, OSError):
            return filled
        if value:
            setattr(target, key, value)
            filled.append(f"{section}.{key}")
    return filled


# ------------------------------------------------------------------ config.toml files


def stage_private(path: Path, text: str) -> Path:
    """Write ``text`` next to ``path``, mode 0600, flushed to disk; returns the temp file."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(tmp, 0o600)
    return tmp


def check_staged(tmp: Path, path: Path) -> None:
    """The staged file must load as pv2simkl settings; errors name the real file."""
    try:
        load_settings(config_file=tmp, env={})
    except ConfigError as exc:
        tmp.unlink(missing_ok=True)
        raise ConfigError(str(exc).replace(str(tmp), str(path))) from None


def default_config_text() -> str:
    """A ``config.toml`` with every setting at its default, each with its field's help as
    a one-line comment and each section headed by its class's docstring.

    Secrets appear only as comments that point at ``pv2simkl credentials set``.
    """
    import tomlkit

    out = [
        "# pv2simkl settings. Each line shows the default: change what you need; a key you",
        "# delete keeps its default. Every setting can also be set in the environment as",
        "# PV2SIMKL_<SECTION>_<KEY>, which wins over this file (`pv2simkl doctor` shows them).",
        "# Secrets (Amazon account, API keys) do not belong here: `pv2simkl credentials set",
        "# <section>` keeps them in the system keyring.",
    ]
    for section in section_names():
        cls = BASE_SECTIONS.get(section) or provider_section(section)
        out += ["", f"# {section_help(cls)}".rstrip(), f"[{section}]"]
        defaults = cls()
        secrets = []
        for f in dataclasses.fields(cls):
            help_text = field_meta(cls, f.name).get("help", "")
            if is_secret(cls, f.name):
                secrets.append((f.name, help_text or f.name))
                continue
            if help_text:
                out.append(f"# {help_text}")
            out.append(f"{f.name} = {tomlkit.item(getattr(defaults, f.name)).as_string()}")
        for key, help_text in secrets:
            out.append(
                f"# {key} (secret, never in this file): {help_text} "
                f"Set it with `pv2simkl credentials set {section}` or {_env_key(section, key)}."
            )
    return "\n".join(out) + "\n"


def write_default_config(config_path: Path, *, force: bool = False) -> Path:
    """`config init`: write the commented default ``config.toml`` (mode 0600); refuse to
    overwrite one unless ``force``. Returns the path written."""
    config_path = Path(config_path)
    if config_path.exists() and not force:
        raise ConfigError(
            f"{config_path} already exists; edit it, or run `pv2simkl config init --force` "
            "to replace it with the defaults."
        )
    tmp = stage_private(config_path, default_config_text())
    check_staged(tmp, config_path)
    os.replace(tmp, config_path)
    return config_path
