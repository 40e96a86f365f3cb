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
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

from platformdirs import PlatformDirs

from pv2simkl.errors import ConfigError

APP = "pv2simkl"
ENV_PREFIX = "PV2SIMKL_"


@dataclass
class PathsSettings:
    """Where things live. Empty means "the platform default under the data dir"."""

    data_dir: str = ""
    db: str = ""
    export_dir: str = ""
    inbox: str = ""


@dataclass
class ExportSettings:
    """How Simkl CSVs are written."""

    date_format: str = "mdy"  # "mdy" = Simkl's sample (8/21/2015); "iso" = 2015-08-21
    timezone: str = "local"  # zone used to turn a watch instant into WatchedDate
    max_rows: int = 1000  # rows per delta file before a new file starts
    keep_files: int = 100  # newest delta files kept; 0 keeps all
    file_mode: str = "0600"  # permissions of the CSV files, in octal (0600: only the user)
    csv: bool = True  # write delta CSVs in each sync (turn off when [simkl] push does the job)

    def mode_bits(self) -> int:
        """``file_mode`` as permission bits. The owner must be able to read and write the
        file; nothing beyond rwx for owner, group and others (no setuid, no sticky bit)."""
        text = str(self.file_mode).strip().lower().removeprefix("0o")
        try:
            bits = int(text, 8)
        except ValueError:
            bits = -1
        if not 0 <= bits <= 0o777 or bits & 0o600 != 0o600:
            raise ConfigError(
                f"[export] file_mode {self.file_mode!r} must be an octal mode such as "
                '"0600" (only you) or "0644", that lets you read and write the file.'
            )
        return bits


@dataclass
class ImportSettings:
    """How history files are read."""

    # The language files are written in, as `import --locale`: it overrides what a file says
    # (a page's <html lang>). Empty = each file's own.
    default_locale: str = ""


@dataclass
class MetadataSettings:
    """How works are matched to metadata ids."""

    order: list[str] = field(
        default_factory=lambda: ["simkl", "tmdb", "tvdb", "mal", "jikan", "imdbapi", "omdb"]
    )
    offline: bool = False  # send no request at all (cached answers only)
    threads: int = 32  # works looked up at once (each provider keeps to its own limit)
    language: str = ""  # e.g. "de-DE" for localized titles; empty: from the imported pages


@dataclass
class ProviderSettings:
    """One metadata service. ``limits`` is "calls/seconds[, calls/seconds…]"."""

    enabled: bool = True
    base_url: str = ""
    limits: str = ""
    timeout: float = 20.0
    attempts: int = 6


@dataclass
class SimklSettings(ProviderSettings):
    base_url: str = "https://api.simkl.com"
    limits: str = "10/1"
    client_id: str = ""
    access_token: str = ""  # from `pv2simkl simkl login` (keyring simkl.access_token)
    push: bool = False  # push every new watch to Simkl's API in each sync (issue 11)


@dataclass
class TmdbSettings(ProviderSettings):
    base_url: str = "https://api.themoviedb.org/3"
    limits: str = "40/1"  # TMDB allows about 50/s; stay under it
    token: str = ""  # v4 read access token (Bearer)
    api_key: str = ""  # or the v3 key


@dataclass
class TvdbSettings(ProviderSettings):
    base_url: str = "https://api4.thetvdb.com/v4"
    limits: str = "10/1"  # unpublished; conservative
    api_key: str = ""
    pin: str = ""


@dataclass
class MalSettings(ProviderSettings):
    base_url: str = "https://api.myanimelist.net/v2"
    limits: str = "3/1"  # undocumented; MAL answers 403 "DoS detected" when pushed
    client_id: str = ""


@dataclass
class JikanSettings(ProviderSettings):
    base_url: str = "https://api.jikan.moe/v4"
    limits: str = "3/1, 60/60"


@dataclass
class ImdbapiSettings(ProviderSettings):
    base_url: str = "https://api.imdbapi.dev"
    limits: str = "5/1"


@dataclass
class OmdbSettings(ProviderSettings):
    base_url: str = "https://www.omdbapi.com"
    limits: str = "10/1, 1000/86400"  # a free key has 1,000 requests a day
    api_key: str = ""


@dataclass
class AmazonSettings:
    """The Amazon account and where its pages live (every URL can point elsewhere)."""

    signin_url: str = "https://www.amazon.com/ap/signin"
    startup_config_url: str = (
        "https://atv-ps.primevideo.com/cdp/usage/GetAppStartupConfig"
        "?deviceID=&deviceTypeID=AOAGZA014O5RE&firmware=1&gascEnabled=false&version=1"
    )
    video_website: str = ""  # empty: the account's home site from the startup config
    region: str = ""  # na | eu | fe; empty: from the startup config
    catalog_url: str = ""  # empty: atv-ps[-region].<site>, as Amazon's players use
    timeout: float = 30.0
    overlap: int = 1  # pages of known events read before an incremental fetch stops
    email: str = ""
    password: str = ""
    totp_secret: str = ""


@dataclass
class DaemonSettings:
    """How the background service runs."""

    interval_minutes: int = 360  # a sync every 6 hours …
    cron: str = ""  # … or a crontab line such as "0 4 * * *" (wins over the interval)
    jitter_seconds: int = 300
    settle_seconds: float = 2.0  # a dropped file is read once its size held this long
    run_at_start: bool = True
    fetch: bool = True  # fetch from Amazon in each sync when credentials or cookies exist
    enrich: bool = True


PROVIDER_SECTIONS: dict[str, type] = {
    "simkl": SimklSettings,
    "tmdb": TmdbSettings,
    "tvdb": TvdbSettings,
    "mal": MalSettings,
    "jikan": JikanSettings,
    "imdbapi": ImdbapiSettings,
    "omdb": OmdbSettings,
}
# Settings that are secrets: never logged, never in an error, refused in a world-readable file.
SECRET_KEYS = {
    "client_id", "token", "api_key", "pin", "password", "totp_secret", "email", "access_token",
}  # fmt: skip

SECTIONS: dict[str, type] = {
    "paths": PathsSettings,
    "export": ExportSettings,
    "import": ImportSettings,
    "metadata": MetadataSettings,
    "amazon": AmazonSettings,
    "daemon": DaemonSettings,
    **PROVIDER_SECTIONS,
}

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
    """Every setting, by section."""

    paths: PathsSettings = field(default_factory=PathsSettings)
    export: ExportSettings = field(default_factory=ExportSettings)
    import_: ImportSettings = field(default_factory=ImportSettings)
    metadata: MetadataSettings = field(default_factory=MetadataSettings)
    amazon: AmazonSettings = field(default_factory=AmazonSettings)
    daemon: DaemonSettings = field(default_factory=DaemonSettings)
    simkl: SimklSettings = field(default_factory=SimklSettings)
    tmdb: TmdbSettings = field(default_factory=TmdbSettings)
    tvdb: TvdbSettings = field(default_factory=TvdbSettings)
    mal: MalSettings = field(default_factory=MalSettings)
    jikan: JikanSettings = field(default_factory=JikanSettings)
    imdbapi: ImdbapiSettings = field(default_factory=ImdbapiSettings)
    omdb: OmdbSettings = field(default_factory=OmdbSettings)
    config_file: Path | None = None

    def section(self, name: str) -> Any:
        return getattr(self, "import_" if name == "import" else name)

    def provider(self, name: str) -> ProviderSettings:
        return getattr(self, name)


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
    if section not in SECTIONS:
        raise ConfigError(
            f"{where}: unknown section [{section}]{_did_you_mean(section, SECTIONS)}; "
            f"known: {', '.join(SECTIONS)}."
        )
    target = settings.section(section)
    hints = get_type_hints(type(target))
    if key not in hints:
        raise ConfigError(
            f"{where}: unknown setting {key!r} in [{section}]{_did_you_mean(key, hints)}; "
            f"known: {', '.join(hints)}."
        )
    setattr(target, key, _coerce(value, hints[key], where))


def _did_you_mean(name: str, known: Mapping[str, object]) -> str:
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
    are ignored so unset flags do not clobber anything.

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
                holds_secret |= key in SECRET_KEYS and bool(value)
        if holds_secret and os.name == "posix" and path.stat().st_mode & 0o077:
            raise ConfigError(
                f"{path} holds a secret and others can read it; run `chmod 600 {path}` "
                "or move the secret to the keyring or an environment variable."
            )
        settings.config_file = path
    for section, cls in SECTIONS.items():
        for f in dataclasses.fields(cls):
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
    for section in [*PROVIDER_SECTIONS, "amazon"] if sections is None else sections:
        target = settings.section(section)
        for f in dataclasses.fields(target):
            if f.name in SECRET_KEYS and not getattr(target, f.name):
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
