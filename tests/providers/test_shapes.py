"""Any JSON at all, in place of each service's answer: only ProviderError ever escapes.

A real server (pytest-httpserver) answers every path with a JSON value Hypothesis
builds from the field names the providers read, nested and typed at random (a list
where an object belongs, a string id, ``true`` as an episode number …). Each
provider's calls must then return what they promise (candidates with int ids and
``tt…`` IMDb ids, a dict of int → str, None) or raise a :class:`ProviderError`.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import stamina
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from pv2simkl.config import PROVIDER_SECTIONS
from pv2simkl.models import Ids
from pv2simkl.providers import provider_class
from pv2simkl.providers.base import Candidate, Provider, Query
from pv2simkl.providers.http import HttpClient, ProviderError

# Field names the providers look for, so that random answers reach deep into parsing.
FIELDS = [
    "results", "data", "node", "ids", "simkl", "simkl_id", "tmdb", "tvdb", "imdb", "mal",
    "title", "name", "original_title", "original_name", "year", "release_date",
    "first_air_date", "genre_ids", "original_language", "popularity", "all_titles",
    "endpoint_type", "type", "status", "season", "episode", "episodes", "episode_number",
    "movie_results", "tv_results", "tv_episode_results", "show_id", "imdb_id", "tvdb_id",
    "id", "remote_ids", "remoteIds", "sourceName", "aliases", "translations", "genres",
    "alternative_titles", "synonyms", "en", "ja", "start_date", "media_type", "mal_id",
    "titles", "title_english", "aired", "from", "members", "primaryTitle", "startYear",
    "rating", "voteCount", "Search", "Response", "Error", "Title", "Year", "imdbID", "Type",
    "seriesID", "rank", "series", "movie",
]  # fmt: skip
SCALARS = (
    st.none() | st.booleans() | st.integers(-5, 3_000_000) | st.floats(allow_nan=False)
    | st.sampled_from(["", "tt0903747", "2008-01-20", "1997", "movie", "tv", "anime",
                       "series", "IMDB", "TheMovieDB.com", "False", "True", "ja", "x"])
)  # fmt: skip
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(FIELDS), inner, max_size=5)
    ),
    max_leaves=25,
)
KINDS = ["movie", "tv", "anime"]
CREDENTIALS = {
    "simkl": {"client_id": "c"}, "tmdb": {"token": "t"}, "tvdb": {"api_key": "k"},
    "mal": {"client_id": "m"}, "jikan": {}, "imdbapi": {}, "omdb": {"api_key": "o"},
}  # fmt: skip


class Answer:
    """What the server answers right now (set by each Hypothesis example)."""

    body: Any = None

    def __call__(self, request: Request) -> Response:
        if request.path == "/login":  # TheTVDB: a token, so that data calls are reached
            return Response(json.dumps({"status": "success", "data": {"token": "tok"}}), 200)
        return Response(json.dumps(self.body), 200, content_type="application/json")


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
def test_any_json_answer_raises_nothing_but_provider_errors(
    httpserver: HTTPServer, name: str
) -> None:
    answer = Answer()
    httpserver.expect_request(re.compile(".*")).respond_with_handler(answer)
    section = PROVIDER_SECTIONS[name](base_url=httpserver.url_for("").rstrip("/"),
                                      **CREDENTIALS[name])  # fmt: skip
    cls = provider_class(name)
    headers, secret = cls.auth(section)
    client = HttpClient(name, section.base_url, limits=[], headers=headers,
                        secret_params=secret, attempts=1)  # fmt: skip
    provider = cls(section, client)

    @settings(max_examples=40, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
    @given(body=JSON)
    def check(body: Any) -> None:
        answer.body = body
        client.breaker.opened = False  # a failing answer must not pause the next example
        client.breaker.failures = 0
        _calls(provider)

    with stamina.set_testing(True, attempts=1):
        check()
    client.close()
