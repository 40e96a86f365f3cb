"""IMDb ids as every provider checks them (pv2simkl/providers/imdb.py)."""

from __future__ import annotations

from pv2simkl.providers.imdb import imdb_id

HARD_TITLES = ["movie:alive", "movie:100-wolf", "movie:face-off", "movie:crouching-tiger"]


def test_imdb_id_shape() -> None:
    assert imdb_id("tt0903747") == "tt0903747" and imdb_id(" tt10620868 ") == "tt10620868"
    for bad in ("", "N/A", None, 903747, "https://www.imdb.com/title/tt0903747/", "tt12"):
        assert imdb_id(bad) is None


# -- imdbapi.dev ---------------------------------------------------------------------------
