"""Files and folders a person names (``pv2simkl import PATH…``, the inbox): which files
they hold and their bytes (their names are shown by :func:`pv2simkl.words.display_name`).

A folder is walked (hidden files, a saved page's assets and ``*_files`` folders skipped, as
are the data export's companion files that hold no watches); each file is its own import
unit and is read whole, then handed to :mod:`pv2simkl.formats`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pv2simkl.errors import ParseError
from pv2simkl.formats import data_export, parse_data
from pv2simkl.formats.events import Parsed
from pv2simkl.formats.registry import ASSET_SUFFIXES
from pv2simkl.words import display_name


def read_file(path: Path) -> tuple[bytes, str]:
    """A file's bytes and their SHA-256 (the identity of an imported file)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ParseError(f"cannot be read ({exc.strerror})", path=display_name(path)) from None
    return data, hashlib.sha256(data).hexdigest()


def parse_file(path: Path, locale: str | None = None) -> Parsed:
    """Read and parse one file (a ZIP included)."""
    return parse_data(read_file(path)[0], display_name(path), locale)


@dataclass
class Target:
    """One import unit found under the paths a user gave."""

    path: Path
    in_folder: bool

    @property
    def name(self) -> str:
        """The path as it is printed and stored (see :func:`display_name`)."""
        return display_name(self.path)


def expand(paths: list[Path]) -> Iterator[Target]:
    """Files as given; folders walked (hidden files, page assets and ``*_files`` skipped)."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                rel = child.relative_to(path).parts
                if not child.is_file() or any(p.startswith(".") for p in rel):
                    continue
                if any(p.endswith("_files") for p in rel[:-1]):
                    continue
                if child.suffix.lower() in ASSET_SUFFIXES:
                    continue
                if data_export.companion(child.name):
                    continue
                yield Target(child, in_folder=True)
        else:
            yield Target(path, in_folder=False)
