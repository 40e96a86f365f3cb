"""`config migrate` from the old exporter's config.js / config.json, and `config init`
(pv2simkl.config.write_default_config): real files, a real TOML round trip through
pv2simkl's own loader, secrets into a fake store."""

from __future__ import annotations

import stat
import textwrap
import tomllib
from pathlib import Path

import pytest

from pv2simkl import migrate
from pv2simkl.config import (
    SECRET_KEYS,
    SECTIONS,
    Settings,
    field_meta,
    load_settings,
    write_default_config,
)
from pv2simkl.errors import ConfigError

SIMKL_ID = "c0ffee5eed1234567890abcdef1234567890abcdef1234567890abcdef123456"
SIMKL_SECRET = "dead5ec2e7dead5ec2e7dead5ec2e7dead5ec2e7dead5ec2e7dead5ec2e70000"
TMDB_V3 = "0123456789abcdef0123456789abcdef"
TMDB_V4 = "eyJhbGciOiJIUzI1NiJ9.eyJhdWQiOiIwMTIzNDU2Nzg5YWJjZGVmIn0.s1gnatur3-tmdb-v4"
TVDB_KEY = "a1b2c3d4-e5f6-4789-abcd-ef0123456789"
MAL_ID = "6114d00ca681b7701d1e15fe11a4987e"
MAL_SECRET = "mal-s3cret-9f8e7d6c5b4a39281706f5e4d3c2b1a0"
EMAIL = "viewer.person@example.org"
PASSWORD = "Tr0ub4dor&3-horse-battery"
SECRETS = [SIMKL_ID, SIMKL_SECRET, TMDB_V3, TMDB_V4, TVDB_KEY, MAL_ID, MAL_SECRET, EMAIL, PASSWORD]

CONFIG_JS = f"""\
// prime-video-to-simkl exporter configuration
require('dotenv').config(); // not used by pv2simkl

/* API credentials: see the README of the old exporter.
   The client secret is only needed for PIN auth. */
module.exports = {{
  simklClientId: '{SIMKL_ID}',
  simklClientSecret: '{SIMKL_SECRET}', // unused
  tmdbApiKey: "{TMDB_V3}",
  tvdbApiKey: '{TVDB_KEY}',
  malClientId: '{MAL_ID}',
  malClientSecret: '{MAL_SECRET}',

  amazon: {{
    email: '{EMAIL}',
    password: '{PASSWORD}',   // "quotes" and // inside strings are fine
  }},

  outputPath: './exports/simkl-import.csv',
  priorityOrder: ['tmdb', 'imdb', 'simkl', 'tvdb', 'letterboxd',],
  useOriginalTitles: true,

  rateLimit: {{
    simkl: {{ calls: 30, perSeconds: 10 }},   // the old default: pv2simkl keeps its own
    tmdb: {{ calls: 20, perSeconds: 5 }},
    imdb: {{ calls: 0x5, perSeconds: 2, }},
    mal: {{ calls: 1, perSeconds: Infinity }},
  }},
}};
"""

CONFIG_JSON_API_KEYS = {
    "api_keys": {
        "simkl_client_id": SIMKL_ID,
        "simkl_client_secret": SIMKL_SECRET,
        "tmdb_api_key": TMDB_V4,  # a v4 token pasted into the v3 field
        "tvdb_api_key": TVDB_KEY,
        "mal_client_id": "YOUR_MAL_CLIENT_ID",
    },
    "amazon_credentials": {"email": EMAIL, "password": PASSWORD},
    "rate_limiting": {"tvdb": {"calls": 50, "per_seconds": 60}, "tmdb": {"calls": 40}},
    "metadata": {"priority_order": ["simkl", "mal", "tmdb"]},
    "output_path": "/srv/media/simkl/out.csv",
}

CONFIG_JSON_SECTIONS = {
    "simkl": {"client_id": SIMKL_ID, "client_secret": SIMKL_SECRET},
    "tmdb": {"access_token": TMDB_V4},
    "tvdb": {"api_key": TVDB_KEY},
    "mal": {"client_id": MAL_ID, "client_secret": MAL_SECRET},
    "amazon": {"email": EMAIL, "password": PASSWORD},
    "output": {"path": "~/simkl/export.csv"},
    "imdb": {"api_key": ""},
    "browser": {"driver_path": "/usr/bin/chromedriver"},
}


class FakeStore:
    """Stands in for the keyring: a real function that remembers what it was given."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, str]]] = []

    def __call__(self, section: str, values: dict[str, str]) -> list[str]:
        self.calls.append((section, dict(values)))
        return list(values)

    @property
    def stored(self) -> dict[str, str]:
        return {f"{s}.{k}": v for s, values in self.calls for k, v in values.items()}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def json_text(data: dict) -> str:
    import json

    return json.dumps(data, indent=2)


def assert_private_and_clean(config: Path) -> str:
    text = config.read_text(encoding="utf-8")
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    for secret in SECRETS:
        assert secret not in text
    return text


def assert_report_has_no_values(report: migrate.MigrationReport) -> None:
    printed = "\n".join(report.lines())
    for secret in SECRETS:
        assert secret not in printed


# ------------------------------------------------------------------ config.js


def test_config_js_moves_settings_to_toml_and_secrets_to_the_store(tmp_path: Path) -> None:
    old = write(tmp_path / "old-exporter" / "config.js", CONFIG_JS)
    config = tmp_path / "cfg" / "config.toml"
    store = FakeStore()

    report = migrate.migrate(old, config, store_secret=store)

    assert store.stored == {
        "simkl.client_id": SIMKL_ID,
        "tmdb.api_key": TMDB_V3,
        "tvdb.api_key": TVDB_KEY,
        "mal.client_id": MAL_ID,
        "amazon.email": EMAIL,
        "amazon.password": PASSWORD,
    }
    assert [section for section, _ in store.calls] == ["simkl", "tmdb", "tvdb", "mal", "amazon"]
    text = assert_private_and_clean(config)
    data = tomllib.loads(text)
    export_dir = str((tmp_path / "old-exporter" / "exports").resolve())
    assert data == {
        "paths": {"export_dir": export_dir},
        "metadata": {"order": ["tmdb", "imdbapi", "simkl", "tvdb"]},
        "tmdb": {"limits": "20/5"},
        "imdbapi": {"limits": "5/2"},
    }
    settings = load_settings(config_file=config, env={})
    assert settings.paths.export_dir == export_dir
    assert settings.metadata.order == ["tmdb", "imdbapi", "simkl", "tvdb"]
    assert settings.tmdb.limits == "20/5" and settings.imdbapi.limits == "5/2"
    assert settings.simkl.limits == Settings().simkl.limits  # old default 30/10 not carried
    assert settings.tmdb.api_key == ""  # secrets are not in the file

    assert report.written
    assert ("simklClientId", "simkl.client_id") in report.secrets
    assert ("amazon.password", "amazon.password") in report.secrets
    assert ("outputPath", "paths.export_dir") in report.settings
    ignored = dict(report.ignored)
    assert "not used by pv2simkl" in ignored["simklClientSecret"]
    assert "not used by pv2simkl" in ignored["malClientSecret"]
    assert "useOriginalTitles" in ignored
    assert "old exporter's default" in ignored["rateLimit.simkl"]
    assert "rateLimit.mal" in ignored  # Infinity is no rate
    assert "priorityOrder: letterboxd" in ignored
    assert_report_has_no_values(report)
    printed = "\n".join(report.lines())
    assert "[paths] export_dir (from outputPath)" in printed
    assert "simkl.client_id (from simklClientId)" in printed


@pytest.mark.parametrize(
    "wrap",
    [
        "export default {body}\n",
        "const config = {body};\n\nmodule.exports = config;\n",
        "'use strict';\nmodule.exports = {body}  // no semicolon }}\n",
        "// a bare object\n{body}\n",
        "// usage: module.exports = {{ apiKey: 'x' }}\nmodule.exports = {body};\nconsole.log(1);\n",
    ],
)
def test_other_export_forms(tmp_path: Path, wrap: str) -> None:
    body = f"{{\n  tvdbApiKey: '{TVDB_KEY}',\n  outputPath: '/data/x/out.csv',\n}}"
    old = write(tmp_path / "config.js", wrap.format(body=body))
    store = FakeStore()
    report = migrate.migrate(old, tmp_path / "config.toml", store_secret=store)
    assert store.stored == {"tvdb.api_key": TVDB_KEY}
    assert report.settings == [("outputPath", "paths.export_dir")]
    assert tomllib.loads((tmp_path / "config.toml").read_text())["paths"]["export_dir"] == "/data/x"


def test_code_in_config_js_gives_line_and_column_without_the_secret(tmp_path: Path) -> None:
    old = write(
        tmp_path / "config.js",
        textwrap.dedent(f"""\
            module.exports = {{
              // keys
              simklClientId: '{SIMKL_ID}',
              tmdbApiKey: '{TMDB_V3[:10]}' + process.env.TMDB_REST,
              amazon: {{ password: process.env.AMAZON_PASSWORD }},
            }};
            """),
    )
    store = FakeStore()
    with pytest.raises(ConfigError) as info:
        migrate.migrate(old, tmp_path / "config.toml", store_secret=store)
    message = str(info.value)
    assert "line 4, column 28" in message
    assert "`tmdbApiKey`" in message and "simplify that line" in message.lower()
    assert TMDB_V3[:10] not in message and SIMKL_ID not in message
    assert store.calls == [] and not (tmp_path / "config.toml").exists()


def test_template_strings_and_missing_export_are_errors(tmp_path: Path) -> None:
    old = write(tmp_path / "config.js", "module.exports = {\n  tvdbApiKey: `${KEY}`,\n};\n")
    with pytest.raises(ConfigError, match="line 2, column 15"):
        migrate.migrate(old, tmp_path / "c.toml", store_secret=FakeStore())
    old = write(tmp_path / "other.js", "console.log('hello')\n")
    with pytest.raises(ConfigError, match="module.exports"):
        migrate.migrate(old, tmp_path / "c.toml", store_secret=FakeStore())
    with pytest.raises(ConfigError, match="does not exist"):
        migrate.migrate(tmp_path / "nope.js", tmp_path / "c.toml", store_secret=FakeStore())


# ------------------------------------------------------------------ config.json


def test_config_json_with_api_keys_and_rate_limiting(tmp_path: Path) -> None:
    old = write(tmp_path / "config.json", json_text(CONFIG_JSON_API_KEYS))
    config = tmp_path / "config.toml"
    store = FakeStore()
    report = migrate.migrate(old, config, store_secret=store)
    assert store.stored == {
        "simkl.client_id": SIMKL_ID,
        "tmdb.token": TMDB_V4,  # recognised as a v4 token
        "tvdb.api_key": TVDB_KEY,
        "amazon.email": EMAIL,
        "amazon.password": PASSWORD,
    }
    assert_private_and_clean(config)
    settings = load_settings(config_file=config, env={})
    assert settings.paths.export_dir == "/srv/media/simkl"
    assert settings.metadata.order == ["simkl", "mal", "tmdb"]
    assert settings.tvdb.limits == "50/60"
    ignored = dict(report.ignored)
    assert "placeholder" in ignored["api_keys.mal_client_id"]
    assert "rate_limiting.tmdb" in ignored  # calls without seconds
    assert "api_keys.simkl_client_secret" in ignored
    assert any("without tvdb, jikan, imdbapi, omdb" in old for old in ignored)
    assert_report_has_no_values(report)


def test_config_json_with_one_section_per_service(tmp_path: Path) -> None:
    old = write(tmp_path / "config.json", json_text(CONFIG_JSON_SECTIONS))
    config = tmp_path / "config.toml"
    store = FakeStore()
    report = migrate.migrate(old, config, store_secret=store)
    assert store.stored == {
        "simkl.client_id": SIMKL_ID,
        "tmdb.token": TMDB_V4,
        "tvdb.api_key": TVDB_KEY,
        "mal.client_id": MAL_ID,
        "amazon.email": EMAIL,
        "amazon.password": PASSWORD,
    }
    assert_private_and_clean(config)
    settings = load_settings(config_file=config, env={})
    assert settings.paths.export_dir == str(Path.home() / "simkl")
    assert settings.metadata.order == Settings().metadata.order
    ignored = dict(report.ignored)
    assert set(ignored) >= {
        "simkl.client_secret",
        "mal.client_secret",
        "imdb.api_key",
        "browser.driver_path",
    }
    assert_report_has_no_values(report)


# ------------------------------------------------------------------ an existing config.toml

EXISTING = """\
# my settings: keep this comment
[export]
date_format = "iso"  # Simkl reads ISO too

[paths]
export_dir = "/somewhere/else"

[metadata]
order = ["simkl", "tmdb", "tvdb", "mal", "jikan", "imdbapi", "omdb"]
"""


def test_existing_file_keeps_comments_and_refuses_to_overwrite(tmp_path: Path) -> None:
    old = write(tmp_path / "old" / "config.js", CONFIG_JS)
    config = write(tmp_path / "config.toml", EXISTING)
    config.chmod(0o644)
    store = FakeStore()
    with pytest.raises(ConfigError) as info:
        migrate.migrate(old, config, store_secret=store)
    assert "paths.export_dir" in str(info.value) and "--force" in str(info.value)
    assert "metadata.order" not in str(info.value)  # at its default: no choice of the user's
    assert config.read_text() == EXISTING and store.calls == []

    report = migrate.migrate(old, config, store_secret=store, force=True)
    text = assert_private_and_clean(config)
    assert "# my settings: keep this comment" in text and "# Simkl reads ISO too" in text
    data = tomllib.loads(text)
    assert data["export"] == {"date_format": "iso"}
    assert data["paths"]["export_dir"] == str((tmp_path / "old" / "exports").resolve())
    assert data["metadata"]["order"] == ["tmdb", "imdbapi", "simkl", "tvdb"]
    assert ("outputPath", "paths.export_dir") in report.settings

    store2 = FakeStore()
    again = migrate.migrate(old, config, store_secret=store2)  # idempotent
    assert not again.written and again.settings == []
    assert ("outputPath", "paths.export_dir") in again.unchanged
    assert config.read_text() == text
    assert store2.stored == store.stored


def test_a_secret_already_in_the_file_moves_out(tmp_path: Path) -> None:
    old = write(tmp_path / "config.json", json_text({"tvdb": {"api_key": TVDB_KEY}}))
    config = write(tmp_path / "config.toml", f'[tvdb]\napi_key = "{TVDB_KEY}"\nlimits = "9/1"\n')
    config.chmod(0o600)
    report = migrate.migrate(old, config, store_secret=FakeStore())
    assert report.moved_out == ["tvdb.api_key"]
    assert tomllib.loads(assert_private_and_clean(config)) == {"tvdb": {"limits": "9/1"}}

    config.write_text('[tvdb]\napi_key = "another-key"\n')
    with pytest.raises(ConfigError) as info:
        migrate.migrate(old, config, store_secret=FakeStore())
    assert "tvdb.api_key (a secret in the file)" in str(info.value)
    assert "another-key" not in str(info.value)


def test_no_keyring_changes_nothing(tmp_path: Path) -> None:
    old = write(tmp_path / "old" / "config.js", CONFIG_JS)
    config = tmp_path / "cfg" / "config.toml"

    def broken_store(section: str, values: dict[str, str]) -> list[str]:
        raise ConfigError("No system keyring is available; set PV2SIMKL_* variables instead.")

    with pytest.raises(ConfigError, match="No system keyring"):
        migrate.migrate(old, config, store_secret=broken_store)
    assert not config.parent.exists() or list(config.parent.iterdir()) == []


def test_the_real_store_with_no_keyring_says_what_to_do(tmp_path: Path) -> None:
    """conftest selects keyring's null backend: `credentials.store` cannot save there."""
    old = write(tmp_path / "config.json", json_text({"tvdb": {"api_key": TVDB_KEY}}))
    try:
        report = migrate.migrate(old, tmp_path / "config.toml")
    except ConfigError as exc:
        assert TVDB_KEY not in str(exc) and "PV2SIMKL_TVDB_API_KEY" in str(exc)
    else:  # the null keyring accepted (and dropped) it
        assert report.secrets == [("tvdb.api_key", "tvdb.api_key")]


# ------------------------------------------------------------------ init


def test_init_writes_every_setting_with_its_default(tmp_path: Path) -> None:
    config = tmp_path / "new" / "config.toml"
    assert write_default_config(config) == config
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    text = config.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    settings = load_settings(config_file=config, env={})
    defaults = Settings()
    for section, cls in SECTIONS.items():
        for name in cls.__dataclass_fields__:
            if name in SECRET_KEYS:
                assert name not in data.get(section, {})
                assert f"# {name} (secret" in text
                assert f"pv2simkl credentials set {section}" in text
            else:
                assert data[section][name] == getattr(defaults.section(section), name)
                assert getattr(settings.section(section), name) == data[section][name]
                assert field_meta(cls, name)["help"]  # each setting has its comment
                assert f"# {field_meta(cls, name)['help']}\n{name} = " in text
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if " = " in line and not line.startswith("#"):
            assert lines[i - 1].startswith("# "), line


def test_init_refuses_to_overwrite_unless_forced(tmp_path: Path) -> None:
    config = write(tmp_path / "config.toml", "[export]\nmax_rows = 5\n")
    with pytest.raises(ConfigError, match="already exists.*--force"):
        write_default_config(config)
    assert config.read_text() == "[export]\nmax_rows = 5\n"
    write_default_config(config, force=True)
    assert tomllib.loads(config.read_text())["export"]["max_rows"] == 1000


def test_migrate_after_init_fills_the_defaults_in(tmp_path: Path) -> None:
    config = write_default_config(tmp_path / "config.toml")
    old = write(tmp_path / "config.json", json_text(CONFIG_JSON_API_KEYS))
    report = migrate.migrate(old, config, store_secret=FakeStore())
    assert ("output_path", "paths.export_dir") in report.settings
    text = assert_private_and_clean(config)
    assert "# Where the Simkl CSV files go" in text
    settings = load_settings(config_file=config, env={})
    assert settings.paths.export_dir == "/srv/media/simkl"
    assert settings.tvdb.limits == "50/60"
