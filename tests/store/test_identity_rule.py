"""The identity rule alone (pv2simkl.store.identity): no SQLite, observations in, a verdict out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from pv2simkl.store import identity
from pv2simkl.store.identity import Facts, close_in_time, fill, resolve, same_watch, work_key

T0 = datetime(2024, 4, 1, 20, 0, tzinfo=UTC)


def ep(
    at: datetime = T0,
    *,
    season: int | None = 1,
    n: int | None = 3,
    title: str | None = "JENNY",
    gti: str | None = None,
    precision: str = "exact",
    show: str = "Show",
) -> Facts:
    return Facts(work_key("episode", show), "episode", season, n, title, gti, at, precision)


def movie(at: datetime = T0, precision: str = "exact", gti: str | None = None) -> Facts:
    return Facts(work_key("movie", "Hitch"), "movie", None, None, None, gti, at, precision)


H = timedelta(hours=1)


# ---- time -------------------------------------------------------------------------------


def test_watch_across_utc_midnight_is_one() -> None:
    # 23:55 and 00:05 UTC: 7:55 pm and 8:05 pm in New York, one watch seen by two sources.
    before = ep(datetime(2024, 4, 1, 23, 55, tzinfo=UTC), n=None)  # an export row: title only
    after = ep(datetime(2024, 4, 2, 0, 5, tzinfo=UTC), gti="g-3")  # the page: number, gti
    assert same_watch(after, before)
    assert not same_watch(ep(datetime(2024, 4, 2, 23, 55, tzinfo=UTC)), before)


def test_exact_instants_within_twelve_hours_are_one_watch() -> None:
    assert same_watch(ep(T0 + 12 * H), ep(T0))
    assert not same_watch(ep(T0 + 12 * H + timedelta(seconds=1)), ep(T0))
    assert same_watch(movie(T0 - 11 * H), movie(T0))


def test_rewatch_the_next_evening_is_a_new_watch() -> None:
    assert not same_watch(ep(T0 + 24 * H), ep(T0))
    assert not same_watch(movie(T0 + 23 * H), movie(T0))


def test_hour_precision_has_an_hour_of_slack_and_its_utc_day() -> None:
    hour = ep(datetime(2024, 4, 1, 1, tzinfo=UTC), precision="hour")
    # Layout A merges the rows of one playback over its UTC day: 01:00 stands for 23:30 too.
    assert same_watch(ep(datetime(2024, 4, 1, 23, 30, tzinfo=UTC)), hour)
    late = ep(datetime(2024, 4, 1, 22, tzinfo=UTC), precision="hour")
    assert same_watch(ep(late.watched_at + 13 * H), late)  # 12 h + the hour itself
    assert not same_watch(ep(late.watched_at + 13 * H + timedelta(minutes=1)), late)


def test_day_precision_matches_36_hours_either_side() -> None:
    local_date = ep(datetime(2024, 4, 9, 12, tzinfo=UTC), precision="day")
    assert same_watch(ep(datetime(2024, 4, 10, 3, tzinfo=UTC)), local_date)  # UTC-9 evening
    assert same_watch(ep(local_date.watched_at - 36 * H), local_date)
    assert not same_watch(ep(local_date.watched_at + 37 * H), local_date)
    assert same_watch(ep(local_date.watched_at + 24 * H, precision="day"), local_date)
    assert not same_watch(ep(local_date.watched_at + 48 * H, precision="day"), local_date)


def test_close_in_time_is_symmetric_in_its_precisions() -> None:
    a, b = T0, T0 + 30 * H
    assert close_in_time(a, "day", b, "exact") and close_in_time(b, "exact", a, "day")
    assert not close_in_time(a, "hour", b, "exact")


# ---- which episode ----------------------------------------------------------------------


def test_number_title_or_gti_agreeing_is_enough() -> None:
    stored = ep(n=3, title="JENNY", gti="g-3")
    assert same_watch(ep(n=3, title=None), stored)
    assert same_watch(ep(n=None, title="Jenny!"), stored)  # titles.match_key normalises
    assert same_watch(ep(n=None, title=None, gti="g-3", season=None), stored)
    assert not same_watch(ep(n=4, title="Other"), stored)


def test_two_different_gtis_are_never_one_watch() -> None:
    assert not same_watch(ep(gti="g-a"), ep(gti="g-b"))
    assert not same_watch(movie(gti="g-a"), movie(gti="g-b"))


def test_season_unknown_matches_any_season_by_title() -> None:
    suffixless = ep(season=None, n=None, title="Wilson's Heart")
    page = ep(season=4, n=16, title="Wilson's Heart", gti="g-16")
    assert same_watch(suffixless, page) and same_watch(page, suffixless)
    assert fill(suffixless, page) == {"season": 4, "episode": 16, "gti": "g-16"}


def test_same_title_in_two_known_seasons_is_two_episodes() -> None:
    assert not same_watch(ep(season=1, n=None, title="Quel giorno"),
                          ep(season=3, n=None, title="Quel giorno"))  # fmt: skip


def test_an_episode_known_by_nothing_matches_nothing() -> None:
    bare = ep(n=None, title=None, gti=None)
    assert not same_watch(bare, bare)


def test_another_work_is_another_watch() -> None:
    assert not same_watch(ep(show="Other"), ep())


# ---- which stored one, and what it learns -----------------------------------------------


def test_nearest_match_wins_so_a_rewatch_keeps_its_own() -> None:
    earlier, later = ep(T0), ep(T0 + 48 * H)
    local_date = ep(T0 + 30 * H, precision="day")  # within 36 h of both
    assert identity.find(local_date, [(1, earlier), (2, later)]) == 2
    assert identity.find(ep(T0 + H), [(2, later), (1, earlier)]) == 1


def test_tie_goes_to_the_lowest_id() -> None:
    assert identity.find(ep(T0), [(7, ep(T0 - H)), (5, ep(T0 + H))]) == 5


def test_a_full_observation_bridges_a_title_only_and_a_gti_only_one() -> None:
    export_row = ep(T0, n=None, title="The Detective", gti=None)
    collapsed = ep(T0 - 15 * H, n=None, title=None, gti="g-7", precision="day")
    api_row = ep(T0, n=7, title="The Detective", gti="g-7")
    assert not same_watch(export_row, collapsed)  # nothing in common on their own
    assert resolve(api_row, [(1, export_row), (2, collapsed)]) == identity.Match(1, (2,))


def test_no_bridge_over_a_conflict_or_a_gap() -> None:
    s1 = ep(T0, season=1, n=None, title="Quel giorno")
    s3 = ep(T0, season=3, n=None, title="Quel giorno")
    unknown_season = ep(T0, season=None, n=None, title="Quel giorno")
    assert resolve(unknown_season, [(1, s1), (2, s3)]) == identity.Match(1, ())
    first, second = ep(T0 - 30 * H, n=None), ep(T0 + 30 * H, title=None, gti="g")
    middle = ep(T0, precision="day", gti="g")
    assert resolve(middle, [(1, first), (2, second)]).absorbed == ()  # 60 h apart


def test_fill_takes_what_is_missing_and_a_finer_instant() -> None:
    stored = ep(T0, n=None, title="JENNY", precision="day")
    finer = ep(T0 + 5 * H, n=3, title="Other", gti="g")
    assert fill(stored, finer) == {"episode": 3, "gti": "g", "watched_at": T0 + 5 * H,
                                   "precision": "exact", "first": T0 + 5 * H,
                                   "last": T0 + 5 * H}  # fmt: skip
    assert fill(finer, stored) == {}  # a coarser instant changes nothing


def test_facts_of_a_watch_event() -> None:
    from pv2simkl.models import WatchEvent

    event = WatchEvent("episode", "DER PATE", T0, "page", season=1, episode=2)
    facts = Facts.of(event)
    assert facts.work == work_key("episode", "Der Pate") == "show:der pate"
    assert (facts.season, facts.episode, facts.precision) == (1, 2, "exact")


# ---- properties -------------------------------------------------------------------------

observations = st.builds(
    ep,
    at=st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2020, 1, 10), timezones=st.just(UTC)
    ),
    season=st.sampled_from([None, 1, 2]),
    n=st.sampled_from([None, 1, 2]),
    title=st.sampled_from([None, "Pilot", "PILOT!", "Other"]),
    gti=st.sampled_from([None, "g-1", "g-2"]),
    precision=st.sampled_from(["exact", "hour", "day"]),
)


@given(observations, observations)
def test_same_watch_is_symmetric(a: Facts, b: Facts) -> None:
    assert same_watch(a, b) == same_watch(b, a)


@given(observations)
def test_an_observation_with_any_key_is_its_own_watch(a: Facts) -> None:
    assert same_watch(a, a) == (a.episode is not None or bool(a.episode_title or a.gti))


@given(observations, observations)
def test_never_further_apart_than_the_reach(a: Facts, b: Facts) -> None:
    if same_watch(a, b):
        assert abs(a.watched_at - b.watched_at) <= identity.REACH


# ---- order ------------------------------------------------------------------------------


def _events_after(order: list[Facts]) -> list[Facts]:
    """Apply the rule as a store does, one observation at a time: the watches left."""
    stored: dict[int, Facts] = {}
    for ident, new in enumerate(order):
        match = resolve(new, stored.items())
        if match is None:
            stored[ident] = new
            continue
        kept = stored[match.keep]
        for other in match.absorbed:
            kept = kept.updated(fill(kept, stored.pop(other)))
        stored[match.keep] = kept.updated(fill(kept, new))
    return sorted(stored.values(), key=lambda f: f.watched_at)


def test_regression_three_copies_hours_apart_are_one_watch_in_any_order() -> None:
    # 20:00, 03:00 and 10:00: the outer two are 14 hours apart, the middle one within
    # twelve of each. Read as B, A, C this gave one watch, as A, B, C or A, C, B two.
    a, b, c = ep(T0), ep(T0 + 7 * H), ep(T0 + 14 * H)
    for order in ([a, b, c], [a, c, b], [b, a, c], [b, c, a], [c, a, b], [c, b, a]):
        (watch,) = _events_after(order)
        assert (watch.watched_at, watch.first, watch.last) == (T0, T0, T0 + 14 * H)


def test_a_date_header_does_not_bridge_two_evenings() -> None:
    # Two exact watches 30 hours apart are two; a date-only observation between them
    # (36 hours' reach) joins the nearer one and widens nothing.
    first, second = ep(T0), ep(T0 + 30 * H)
    noon = ep(T0 + 16 * H, precision="day")
    for order in ([first, second, noon], [noon, first, second], [second, noon, first]):
        assert len(_events_after(order)) == 2


@given(
    st.lists(st.integers(min_value=0, max_value=96), min_size=1, max_size=7),
    st.randoms(use_true_random=False),
)
def test_the_watches_do_not_depend_on_the_order_of_reading(hours: list[int], rnd) -> None:
    observations = [ep(T0 + h * H) for h in hours]
    shuffled = observations[:]
    rnd.shuffle(shuffled)
    expected = [(f.watched_at, f.first, f.last) for f in _events_after(observations)]
    assert [(f.watched_at, f.first, f.last) for f in _events_after(shuffled)] == expected
