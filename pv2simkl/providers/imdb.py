"""IMDb ids as every service writes them: the one check of what an IMDb id looks like.

Every provider module uses :func:`imdb_id`, so that nothing but ``tt`` + digits ever reaches
a path or the store; :data:`PROBE_ID` is the title a service is asked about to check a key.
The two services that know IMDb ids only are :mod:`.imdbapi` and :mod:`.omdb`.
"""

from __future__ import annotations

import re
from typing import Any

from pv2simkl.providers.base import MediaKind

_IMDB_ID = re.compile(r"tt\d{5,10}")
PROBE_ID = "tt0068646"  # The Godfather: a title every IMDb service knows


def imdb_id(value: Any) -> str | None:
    """``"tt0903747"`` stays; anything else (``""``, ``"N/A"``, a number, a URL) → None."""
    if isinstance(value, str) and _IMDB_ID.fullmatch(value.strip()):
        return value.strip()
    return None


def kind_of(value: Any, table: dict[str, MediaKind]) -> MediaKind | None:
    """The kind a service's type string stands for (a non-string type is no type)."""
    return table.get(value) if isinstance(value, str) else None
