"""Golden comparison of importer output with the generator's expected events (helpers)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from pv2simkl.errors import UnknownFormatError
from pv2simkl.sources.files import expand, parse_file

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "fixtures" / "samples"
LOCALE_SAMPLES = sorted(p.name for p in SAMPLES.iterdir() if p.is_dir() and p.name != "empty")


def _key(row: dict) -> str:
    return json.dumps(row, sort_keys=True, ensure_ascii=False)


def read_expected(path: Path) -> Counter[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return Counter(_key(json.loads(line)) for line in lines if line.strip())


def imported(paths: list[Path]) -> tuple[Counter[str], list[str], list[str]]:
    """Events (public form), warnings and section errors of every file under ``paths``."""
    got: Counter[str] = Counter()
    warnings: list[str] = []
    errors: list[str] = []
    for target in expand(paths):
        try:
            parsed = parse_file(target.path)
        except UnknownFormatError:
            if target.in_folder:  # as `import` does: other files in a folder are skipped
                continue
            raise
        got.update(_key(e.to_public()) for e in parsed.flat.events)
        warnings += parsed.flat.warnings
        errors += parsed.flat.errors
    return got, warnings, errors


GoldenCheck = Callable[[list[Path], Path], list[str]]
