"""Fast start, checked by what is loaded rather than by a stopwatch: `import pv2simkl.cli`,
`pv2simkl --help`, `--version` and every command's `--help` leave the heavy libraries
unloaded (each costs tens to hundreds of milliseconds to import); the library loads the
HTTP stack and the keyring only when a command uses them. bench/startup.py has the times.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("httpx", "keyring", "pydantic", "sqlite_utils", "babel")
# Loaded by no command's help either: the pipeline and the terminal UI.
ALSO_NOT_FOR_HELP = ("pv2simkl.pipeline", "rich", "requests", "mechanicalsoup", "typer")


def loaded_after(code: str, env: dict[str, str] | None = None) -> set[str]:
    """The modules in sys.modules once ``code`` ran in a fresh interpreter (SystemExit
    from a command is expected)."""
    probe = (
        "import sys\ntry:\n"
        + "".join(f"    {line}\n" for line in code.splitlines())
        + "except SystemExit:\n    pass\n"
        + "sys.stdout.flush()\nsys.stderr.write(' '.join(sorted(sys.modules)))\n"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith("PV2SIMKL_")}
    r = subprocess.run(
        [sys.executable, "-c", probe], env={**base, **(env or {}), "PYTHONPATH": str(ROOT)},
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    return set(r.stderr.split())


def run_cli(*args: str) -> str:
    return f"sys.argv = ['pv2simkl', *{list(args)!r}]\nfrom pv2simkl.cli import main\nmain()"


def test_importing_the_cli_loads_nothing_heavy() -> None:
    loaded = loaded_after("import pv2simkl.cli")
    assert not loaded & {*HEAVY, *ALSO_NOT_FOR_HELP}, sorted(loaded & {*HEAVY, *ALSO_NOT_FOR_HELP})


@pytest.mark.parametrize("args", [["--help"], ["--version"]], ids=" ".join)
def test_help_and_version_load_nothing_heavy(args: list[str]) -> None:
    loaded = loaded_after(run_cli(*args))
    assert "pv2simkl.cli" in loaded  # the command really ran
    assert not loaded & {*HEAVY, *ALSO_NOT_FOR_HELP}, sorted(loaded & {*HEAVY, *ALSO_NOT_FOR_HELP})


@pytest.mark.parametrize(
    "command",
    ["import", "export", "status", "history", "doctor", "fetch", "push", "sync", "match",
     "credentials set", "simkl login"],
)  # fmt: skip
def test_each_commands_help_loads_nothing_heavy(command: str) -> None:
    loaded = loaded_after(run_cli(*command.split(), "--help"))
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_status_touches_neither_network_nor_keyring(tmp_path: Path) -> None:
    loaded = loaded_after(run_cli("status"), {"PV2SIMKL_DATA_DIR": str(tmp_path)})
    assert not loaded & {"httpx", "keyring", "requests", "pydantic"}


def test_the_pipeline_loads_no_http_stack_or_keyring() -> None:
    loaded = loaded_after("import pv2simkl.pipeline")
    assert not loaded & {"httpx", "keyring", "requests", "mechanicalsoup", "pyotp", "pydantic"}


def test_an_offline_import_and_export_load_no_http_stack(tmp_path: Path) -> None:
    page = ROOT / "tests" / "data" / "mini-page.html"
    env = {"PV2SIMKL_DATA_DIR": str(tmp_path), "PV2SIMKL_OFFLINE": "1"}
    loaded = loaded_after(run_cli("import", str(page), "--export"), env)
    assert "pv2simkl.sinks.simkl_csv" in loaded  # it did export
    assert not loaded & {"httpx", "keyring", "requests"}
