"""Counted nouns for messages: ``1 event``, ``2 events``, ``1 watch``, ``3 watches``."""

from __future__ import annotations


def plural(count: int, word: str, many: str | None = None) -> str:
    """``count`` and ``word``, the plural ``many`` (or the English regular plural) unless the
    count is one; counts from 10,000 up with thousands separators."""
    if count == 1:
        return f"{count} {word}"
    if many is None:
        many = word + ("es" if word.endswith(("s", "sh", "ch", "x")) else "s")
    return f"{count:,} {many}" if count >= 10_000 else f"{count} {many}"
