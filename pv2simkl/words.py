"""Words for people: counted nouns (``1 event``, ``3 watches``) and file names as they may
be printed, logged and stored."""

from __future__ import annotations

import os
from pathlib import Path


def plural(count: int, word: str, many: str | None = None) -> str:
    """``count`` and ``word``, the plural ``many`` (or the English regular plural) unless the
    count is one; counts from 10,000 up with thousands separators."""
    if count == 1:
        return f"{count} {word}"
    if many is None:
        many = word + ("es" if word.endswith(("s", "sh", "ch", "x")) else "s")
    return f"{count:,} {many}" if count >= 10_000 else f"{count} {many}"


def display_name(path: Path | str | bytes) -> str:
    """A file name as it may be printed, logged and stored: bytes that are not UTF-8 as
    ``\\xff`` escapes, line breaks and other control characters as ``\\n``-style escapes.

    File names are bytes on POSIX; Python hands the undecodable ones over as lone
    surrogates, which no terminal, log file or SQLite text can take.
    """
    text = os.fsencode(path).decode("utf-8", "backslashreplace")
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
