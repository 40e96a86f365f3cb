"""Any JSON at all, in place of each service's answer: only ProviderError ever escapes.

Every path is answered, through the client's whole stack down to its transport (an
``httpx.MockTransport``: a socket adds nothing here but time), with a JSON value
Hypothesis builds from the documented answers of all seven services: keys dropped at random, any
node swapped for junk (a list where an object belongs, a number for a title, ``true``
as an episode number …). Each
provider's calls must then return what they promise (candidates with int ids and
``tt…`` IMDb ids, a dict of int → str, None) or raise a :class:`ProviderError`.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pv2simkl import net
from pv2simkl.config import PROVIDER_SECTIONS
from pv2simkl.models import Ids
from pv2simkl.providers import provider_class
from pv2simkl.providers.base import Candidate, Provider, Query
from pv2simkl.providers.errors import ProviderError
from pv2simkl.providers.http import HttpClient

SCALARS = (
    st.none() | st.booleans() | st.integers(-5, 3_000_000) | st.floats(allow_nan=False)
    | st.sampled_from(["", "tt0903747", "2008-01-20", "1997", "movie", "tv", "anime",
                       "series", "IMDB", "TheMovieDB.com", "False", "True", "ja", "x"])
)  # fmt: skip
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["id", "title", "data", "ids", "results"]), inner, max_size=3
        )
    ),  # fmt: skip
    max_leaves=10,
)


class Alt:
    """One of several shapes at one place (TheTVDB's ``data`` is a list or an object)."""

    def __init__(self, *options: Any):
        self.options = options


def shaped(skeleton: Any) -> st.SearchStrategy[Any]:
    """Answers like ``skeleton``: keys dropped at random, any node swapped for junk."""
    if isinstance(skeleton, Alt):
        return st.one_of(*(shaped(o) for o in skeleton.options))
    if isinstance(skeleton, dict):
        right = st.fixed_dictionaries({}, optional={k: shaped(v) for k, v in skeleton.items()})
    elif isinstance(skeleton, list):
        right = st.lists(st.one_of(*(shaped(x) for x in skeleton)), max_size=3)
    else:
        right = st.just(skeleton)
    return st.one_of(right, right, right, JSON)  # mostly the documented shape


IDS = {"simkl_id": 1, "simkl": 1, "tmdb": "3", "imdb": "tt0000004", "tvdb": "2", "mal": "5"}
SIMKL = {"title": "Dune", "year": 2021, "endpoint_type": "movies", "type": "anime", "ids": IDS,
         "all_titles": ["Der Wüstenplanet", {"title": "x"}], "status": "ended", "rank": 3,
         "title_en": "Dune", "season": 1, "episode": 1}  # fmt: skip
TMDB = {"id": 3, "title": "Dune", "name": "Dune", "original_title": "x", "original_name": "x",
        "release_date": "2021-09-15", "first_air_date": "2021-09-15", "genre_ids": [16],
        "original_language": "ja", "popularity": 1.5, "show_id": 3, "episode_number": 1,
        "genres": [{"id": 16}]}  # fmt: skip
REMOTE = [{"id": "tt0000004", "sourceName": "IMDB"}, {"id": "3", "sourceName": "TheMovieDB.com"}]
TVDB = {"tvdb_id": "2", "id": Alt("series-2", 2), "name": "Dune", "year": "2008",
        "aliases": ["a", {"language": "eng", "name": "b"}], "translations": {"eng": "x"},
        "remote_ids": REMOTE, "remoteIds": REMOTE, "type": "series",
        "status": Alt("Ended", {"name": "Continuing"}), "genres": [{"name": "Anime"}, "Anime"],
        "firstAired": "2008-01-20"}  # fmt: skip
MAL = {"node": {"id": 5, "title": "Berserk", "start_date": "1997-10", "media_type": "tv",
                "alternative_titles": {"synonyms": ["s"], "en": "e", "ja": "j"},
                "status": "finished_airing"}}  # fmt: skip
JIKAN = {"mal_id": 5, "title": "Berserk", "titles": [{"type": "Default", "title": "x"}],
         "title_english": "e", "title_synonyms": ["s"], "year": 1997, "type": "TV",
         "aired": {"from": "1997-10-08T00:00:00+00:00"}, "status": "Finished Airing",
         "members": 10}  # fmt: skip
IMDBAPI = {"id": "tt0000004", "type": Alt("movie", "tvSeries"), "primaryTitle": "Dune",
           "originalTitle": "y", "startYear": 2000, "rating": {"voteCount": 3}}  # fmt: skip
OMDB = {"Title": "Dune", "Year": "2001–2002", "imdbID": "tt0000004",
        "Type": Alt("movie", "series", "episode"), "seriesID": "tt0000005",
        "imdbVotes": "1,000", "Response": Alt("True", "False"),
        "Error": Alt("Movie not found!", "Invalid API key!", "Request limit reached!")}  # fmt: skip
# Per provider: the answers its calls get, in their documented shapes.
ANSWERS: dict[str, st.SearchStrategy[Any]] = {
    "simkl": st.one_of(shaped([SIMKL]), shaped(SIMKL)),
    "tmdb": shaped({
        "results": [TMDB], "movie_results": [TMDB], "tv_results": [TMDB],
        "tv_episode_results": [TMDB], "episodes": [TMDB], "imdb_id": "tt0000004", "tvdb_id": 2,
    }),
    "tvdb": shaped({"status": "success", "data": Alt(
        [TVDB], TVDB, [{"series": TVDB, "movie": TVDB, "episode": {"seriesId": 2}}])}),
    "mal": shaped({"data": [MAL]}),
    "jikan": shaped({"data": Alt([JIKAN], JIKAN)}),
    "imdbapi": st.one_of(shaped({"titles": [IMDBAPI]}), shaped(IMDBAPI)),
    "omdb": st.one_of(shaped({"Search": [OMDB], "Response": "True"}), shaped(OMDB)),
}  # fmt: skip
KINDS = ["movie", "tv", "anime"]
CREDENTIALS = {
    "simkl": {"client_id": "c"}, "tmdb": {"token": "t"}, "tvdb": {"api_key": "k"},
    "mal": {"client_id": "m"}, "jikan": {}, "imdbapi": {}, "omdb": {"api_key": "o"},
}  # fmt: skip


class Answer:
    """What the service answers right now (set by each Hypothesis example)."""

    body: Any = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = self.body
        if request.url.path == "/login":  # TheTVDB: a token, so that data calls are reached
            body = {"status": "success", "data": {"token": "tok"}}
        return httpx.Response(
            200, content=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
        )


def _checked(candidate: Candidate) -> None:
    assert isinstance(candidate, Candidate) and isinstance(candidate.title, str)
    assert candidate.kind in KINDS
    for name in ("simkl", "tvdb", "tmdb", "mal"):
        value = getattr(candidate.ids, name)
        assert value is None or (isinstance(value, int) and not isinstance(value, bool))
    assert candidate.ids.imdb is None or re.fullmatch(r"tt\d+", candidate.ids.imdb)
    assert candidate.year is None or isinstance(candidate.year, int)
    assert all(isinstance(t, str) for t in candidate.titles)
    assert isinstance(candidate.popularity, float)


def _calls(provider: Provider) -> None:
    """Every call of the contract once; each either keeps its promise or raises ProviderError."""
    full = Ids(simkl=1, tvdb=2, tmdb=3, imdb="tt0000004", mal=5)
    steps: list[Any] = [
        lambda: provider.search(Query("Dune", "movie")),
        lambda: provider.search(Query("Berserk", "show", year=1997, language="de")),
        *(lambda k=k: provider.lookup(full, k) for k in KINDS),
        lambda: provider.lookup(Ids(imdb="tt0000004"), "tv"),
        lambda: provider.lookup(Ids(tvdb=2), "tv"),
        lambda: provider.season_episodes(full, 1),
    ]
    for step in steps:
        try:
            result = step()
        except ProviderError:
            continue
        if isinstance(result, list):
            for candidate in result:
                _checked(candidate)
        elif isinstance(result, dict):
            assert all(isinstance(k, int) and isinstance(v, str) for k, v in result.items())
        elif result is not None:
            _checked(result)


@pytest.mark.parametrize("name", list(CREDENTIALS))
def test_any_json_answer_raises_nothing_but_provider_errors(name: str) -> None:
    answer = Answer()
    section = PROVIDER_SECTIONS[name](base_url="http://provider.test", **CREDENTIALS[name])
    cls = provider_class(name)
    headers, secret = cls.auth(section)
    client = HttpClient(name, section.base_url, limits=[], headers=headers,
                        secret_params=secret, attempts=1,
                        transport=httpx.MockTransport(answer))  # fmt: skip
    provider = cls(section, client)

    @settings(max_examples=40, deadline=None)
    @given(body=ANSWERS[name])
    def check(body: Any) -> None:
        answer.body = body
        client.breaker.opened = False  # a failing answer must not pause the next example
        client.breaker.failures = 0
        _calls(provider)

    with net.no_backoff(attempts=1):
        check()
    client.close()
