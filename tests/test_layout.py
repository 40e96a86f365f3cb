"""The layout's rule, held to the imports: which room of the house may use which.

README.md's Development section says it in a table; this test reads every module's imports
(``ast``, top level and inside functions alike) and fails on an import the table does not
allow, naming the module, the line and the room it reached into.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "pv2simkl"
ROOMS = ("formats", "sources", "providers", "store", "sinks", "pipeline", "daemon", "cli")
# What each room may import besides the shared modules (config, models, errors, titles, …).
MAY_USE: dict[str, set[str]] = {
    "formats": set(),
    "sources": {"formats"},
    "providers": set(),
    "store": set(),
    "sinks": {"store"},
    "pipeline": {"formats", "sources", "providers", "store", "sinks"},
    "daemon": {"formats", "sources", "providers", "store", "sinks", "pipeline"},
    "cli": set(ROOMS) - {"cli"},
}
# A shared module uses no room, but the settings gather each provider's own section.
SHARED_MAY_USE = {"pv2simkl.config": {"providers"}}


def _room(module: str) -> str:
    """``pv2simkl.formats.page`` → ``formats``; a shared module → ``shared``."""
    parts = module.split(".")
    name = parts[1] if len(parts) > 1 else ""
    return name if name in ROOMS else "shared"


def _imports(source: str) -> list[tuple[int, str]]:
    """(line, module) of every pv2simkl module a module's source imports."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("pv2simkl.")]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "pv2simkl":
                found += [(node.lineno, f"pv2simkl.{a.name}") for a in node.names]
            elif node.module.startswith("pv2simkl."):
                found.append((node.lineno, node.module))
    return found


def violations(dotted: str, source: str) -> list[str]:
    """The imports of module ``dotted`` (its ``source``) that its room may not make."""
    own = _room(dotted)
    allowed = MAY_USE.get(own, SHARED_MAY_USE.get(dotted, set())) | {own, "shared"}
    if dotted == "pv2simkl.__main__":
        allowed |= {"cli"}
    return [
        f"line {line}: {module} ({_room(module)})"
        for line, module in _imports(source)
        if _room(module) not in allowed
    ]


@pytest.mark.parametrize(
    "path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE.parent))
)
def test_each_module_imports_only_what_its_room_may_use(path: Path) -> None:
    dotted = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    wrong = violations(dotted, path.read_text(encoding="utf-8"))
    assert not wrong, f"{dotted} ({_room(dotted)}) may not import: " + "; ".join(wrong)


def test_an_import_the_rule_forbids_is_found_even_inside_a_function() -> None:
    source = "import json\n\n\ndef f():\n    from pv2simkl.store import Store\n"
    assert violations("pv2simkl.formats.page", source) == ["line 5: pv2simkl.store (store)"]
    assert violations("pv2simkl.pipeline", source) == []
    assert violations("pv2simkl.words", "from pv2simkl import pipeline\n") == [
        "line 1: pv2simkl.pipeline (pipeline)"
    ]
