"""Settings: every value checked when the config is loaded, in one sentence that names where it
came from; each provider's section from its own module. Paths: the folders that hold the
history, cookies and logs are this user's alone."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from pv2simkl.config import (
    PROVIDER_SECTIONS,
    SHARED_PROVIDER_SECTIONS,
    DaemonSettings,
    ExportSettings,
    Paths,
    ProviderSettings,
    field_meta,
    load_settings,
    platform_dirs,
    private_dir,
    section_name,
)
from pv2simkl.errors import ConfigError
from pv2simkl.providers import REGISTRY, provider_class
from pv2simkl.providers.tmdb import TmdbSettings


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_default_folders_are_created_0700_parents_too() -> None:
    dirs = platform_dirs()
    missing_parent = dirs.user_data_path.parent  # $XDG_DATA_HOME, not there yet
    assert not missing_parent.exists()
    paths = Paths.from_settings(load_settings(env={}))
    for folder in (paths.data_dir, paths.state_dir, paths.log_dir, missing_parent):
        assert folder.is_dir() and mode(folder) == 0o700, folder
    assert not paths.db.exists()  # folders only: the store is the store's to make


def test_folders_of_an_earlier_version_are_tightened() -> None:
    dirs = platform_dirs()
    for folder in (dirs.user_data_path, dirs.user_state_path, dirs.user_config_path):
        folder.mkdir(parents=True)
        folder.chmod(0o755)
    dirs.user_data_path.parent.chmod(0o755)
    Paths.from_settings(load_settings(env={}))
    for folder in (dirs.user_data_path, dirs.user_state_path, dirs.user_config_path):
        assert mode(folder) == 0o700, folder
    assert mode(dirs.user_data_path.parent) == 0o755  # not pv2simkl's: left alone


def test_a_chosen_data_folder(tmp_path: Path) -> None:
    new = tmp_path / "new" / "history"
    paths = Paths.from_settings(load_settings(env={"PV2SIMKL_DATA_DIR": str(new)}))
    assert mode(new) == mode(new.parent) == 0o700
    assert paths.state_dir == new / "state" and mode(paths.log_dir) == 0o700
    shared = tmp_path / "shared"  # an existing folder of the user's: any folder at all
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    paths = Paths.from_settings(load_settings(env={"PV2SIMKL_DATA_DIR": str(shared)}))
    assert mode(shared) == 0o755
    assert mode(paths.state_dir) == mode(paths.log_dir) == 0o700  # pv2simkl's own


def test_a_folder_that_cannot_be_made_is_left_to_its_writer(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("in the way")
    settings = load_settings(env={"PV2SIMKL_DATA_DIR": str(blocker / "data")})
    paths = Paths.from_settings(settings)  # no error here: the store says what is wrong
    assert paths.data_dir == blocker / "data" and not private_dir(paths.data_dir)


def test_a_tight_umask_still_leaves_the_owner_in(tmp_path: Path) -> None:
    old = os.umask(0o777)
    try:
        assert private_dir(tmp_path / "a" / "b")
    finally:
        os.umask(old)
    assert mode(tmp_path / "a") == mode(tmp_path / "a" / "b") == 0o700


# ------------------------------------------------------------------ values checked at load

BAD_VALUES = [
    ("export", "date_format", "dmy", "'dmy' must be 'mdy' or 'iso'."),
    ("export", "timezone", "Mars/Olympus", "is not a time zone name such as Europe/Berlin"),
    ("export", "max_rows", 0, "must be at least 1, not 0."),
    ("export", "keep_files", -1, "must be at least 0, not -1."),
    ("export", "file_mode", "0400", 'must be an octal mode such as "0600"'),
    ("metadata", "threads", 0, "must be at least 1, not 0."),
    ("metadata", "order", ["simkl", "trakt"], "names no service pv2simkl knows (trakt)"),
    ("amazon", "region", "us", "'us' must be 'na', 'eu' or 'fe' (or empty)."),
    ("amazon", "timeout", 0, "must be more than 0."),
    ("daemon", "interval_minutes", 0, "must be at least 1, not 0."),
    ("daemon", "cron", "every day", "is not a crontab line (it needs five fields"),
    ("daemon", "cron", "61 * * * *", "is not a crontab line ("),
    ("daemon", "jitter_seconds", -5, "must be at least 0, not -5."),
    ("tmdb", "limits", "ten a second", "is not a rate such as '10/1'"),
    ("jikan", "limits", "3/1, 0/60", "must allow at least 1 call in a positive number of seconds"),
    ("omdb", "attempts", 0, "must be at least 1, not 0."),
    ("simkl", "timeout", -1, "must be more than 0."),
]


def _toml(value: object) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(f'"{v}"' for v in value) + "]"
    return f'"{value}"' if isinstance(value, str) else str(value)


@pytest.mark.parametrize(("section", "key", "value", "why"), BAD_VALUES)
def test_a_bad_value_in_the_file_is_refused_at_load_naming_the_file(
    tmp_path: Path, section: str, key: str, value: object, why: str
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f"[{section}]\n{key} = {_toml(value)}\n")
    with pytest.raises(ConfigError) as info:
        load_settings(config_file=config, env={})
    message = str(info.value)
    assert message.startswith(f"{config} [{section}] {key} ") and why in message
    assert message.endswith(".") and "\n" not in message  # one sentence


@pytest.mark.parametrize(("section", "key", "value", "why"), BAD_VALUES)
def test_a_bad_value_in_the_environment_names_the_variable(
    section: str, key: str, value: object, why: str
) -> None:
    name = f"PV2SIMKL_{section.upper()}_{key.upper()}"
    text = ",".join(value) if isinstance(value, list) else str(value)
    with pytest.raises(ConfigError) as info:
        load_settings(env={name: text})
    assert str(info.value).startswith(f"{name} ") and why in str(info.value)


def test_a_bad_flag_names_the_flag() -> None:
    with pytest.raises(ConfigError, match=r"^--max-rows must be at least 1, not 0\.$"):
        load_settings(env={}, overrides={("export", "max_rows"): "0"})


def test_sections_made_in_code_are_checked_too() -> None:
    with pytest.raises(ConfigError, match=r"^\[export\] max_rows must be at least 1, not 0\.$"):
        ExportSettings(max_rows=0)
    with pytest.raises(ConfigError, match=r"^\[daemon\] cron 'every day' is not a crontab"):
        DaemonSettings(cron="every day")
    with pytest.raises(ConfigError, match=r"^\[tmdb\] limits '0/1' must allow"):
        TmdbSettings(limits="0/1")


def test_good_values_load() -> None:
    env = {
        "PV2SIMKL_EXPORT_TIMEZONE": "Europe/Berlin", "PV2SIMKL_EXPORT_DATE_FORMAT": "iso",
        "PV2SIMKL_DAEMON_CRON": "30 4 * * 1-5", "PV2SIMKL_AMAZON_REGION": "eu",
        "PV2SIMKL_JIKAN_LIMITS": "3/1, 60/60", "PV2SIMKL_EXPORT_FILE_MODE": "0644",
        "PV2SIMKL_METADATA_ORDER": "tmdb,simkl",
    }  # fmt: skip
    settings = load_settings(env=env)
    assert settings.export.timezone == "Europe/Berlin" and settings.daemon.cron == "30 4 * * 1-5"
    assert settings.jikan.limits == "3/1, 60/60" and settings.export.mode_bits() == 0o644
    assert settings.metadata.order == ["tmdb", "simkl"]


# ------------------------------------------------------------------ provider sections


def test_each_registered_provider_brings_its_own_section() -> None:
    assert list(PROVIDER_SECTIONS) == list(REGISTRY)
    for name in REGISTRY:
        cls = provider_class(name)
        assert cls.name == name and PROVIDER_SECTIONS[name] is cls.settings_class
        shared = name in SHARED_PROVIDER_SECTIONS  # read by the sinks too: in config
        owner = "pv2simkl.config" if shared else cls.__module__
        assert cls.settings_class.__module__ == owner  # owned by its module
        assert section_name(cls.settings_class) == name
        assert issubclass(cls.settings_class, ProviderSettings)
        assert field_meta(cls.settings_class, "limits")["help"]  # the base's help and check


def test_loading_the_settings_loads_no_provider_module_unless_asked() -> None:
    """`status` reads the settings: the provider modules (and the HTTP stack) stay out
    until a provider's section is used."""
    code = (
        "import sys\nfrom pv2simkl.config import load_settings\n"
        "s = load_settings(env={})\n"
        "assert s.simkl.push is False  # what status reads\n"
        "print(sorted(m for m in sys.modules if m.startswith('pv2simkl.providers.')))\n"
        "s.tmdb\nprint(sorted(m for m in sys.modules if m.startswith('pv2simkl.providers.')))\n"
        "print('httpx' in sys.modules)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, after, httpx = r.stdout.splitlines()
    assert before == "[]"
    assert "'pv2simkl.providers.tmdb'" in after and httpx == "False"


def test_secrets_are_marked_on_their_fields() -> None:
    from pv2simkl.config import SECRET_KEYS

    assert {
        "client_id", "token", "api_key", "pin", "password", "totp_secret", "email", "access_token",
    } == SECRET_KEYS  # fmt: skip


def test_a_provider_secret_in_a_file_others_can_read_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[tmdb]\ntoken = "t0ken"\n')
    config.chmod(0o644)
    with pytest.raises(ConfigError, match="holds a secret and others can read it") as info:
        load_settings(config_file=config, env={})
    assert "t0ken" not in str(info.value)
    config.chmod(0o600)
    assert load_settings(config_file=config, env={}).tmdb.token == "t0ken"
