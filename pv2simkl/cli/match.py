"""Matching by hand: pin a title's ids, list what no service matched."""

from __future__ import annotations

import sys

import click

from pv2simkl.cli.core import examples, out, say, session, usage_error


@click.command(
    "match",
    epilog=examples(
        "pv2simkl match                  # on a terminal: pick each unmatched title's candidate",
        'pv2simkl match "Ocean\'s Eleven" --tmdb 161',
        'pv2simkl match "Ocean\'s Eleven" --imdb tt0240772',
        'pv2simkl match "The Office" --year 2005 --type tv',
    ),
)
@click.argument("title", metavar="[TITLE]", required=False)
@click.option("--simkl", type=int, metavar="ID", help="Simkl id.")
@click.option("--tmdb", type=int, metavar="ID", help="TMDB id.")
@click.option("--tvdb", type=int, metavar="ID", help="TheTVDB series id.")
@click.option("--imdb", metavar="ID", help="IMDb id (tt…).")
@click.option("--mal", type=int, metavar="ID", help="MyAnimeList id.")
@click.option("--year", type=int, metavar="YEAR", help="Release or first-air year.")
@click.option("--type", "--kind", "media_type", type=click.Choice(["movie", "tv", "anime"]),
              help="movie, tv or anime.")  # fmt: skip
def match_cmd(
    title: str | None,
    simkl: int | None,
    tmdb: int | None,
    tvdb: int | None,
    imdb: str | None,
    mal: int | None,
    year: int | None,
    media_type: str | None,
) -> None:
    """Pin a title's ids by hand; later runs keep them.

    Without TITLE, on a terminal: walk the titles no service matched, each with its
    candidates numbered and the reasons for their scores; answer a number to pin that
    candidate, s to skip, an id (tmdb 161, tt0240772, mal 5114, simkl 12345, tvdb 81189)
    or q to quit.

    TITLE is the title as stored (see `pv2simkl history`). Pins add up: `match X --tmdb
    161` then `match X --imdb tt0240772` keeps both, and a new id for the same service
    replaces only that one. The first pin replaces the ids a provider had matched. `--year`
    / `--type` alone make the next enrich look again.
    """
    from pv2simkl import pipeline

    ids = {"simkl": simkl, "tmdb": tmdb, "tvdb": tvdb, "imdb": imdb, "mal": mal}
    if title is None:
        if any(ids.values()) or year is not None or media_type is not None:
            raise usage_error(
                'give the title these ids belong to, as in pv2simkl match "TITLE" --tmdb ID.'
            )
        _interactive()
        return
    if not any(ids.values()) and year is None and media_type is None:
        raise usage_error(
            "give at least one id (--simkl, --tmdb, --tvdb, --imdb, --mal), --year or --type."
        )
    if imdb and not (imdb.startswith("tt") and imdb[2:].isdigit()):
        raise usage_error(f"--imdb {imdb!r} is not an IMDb id such as tt0068646.")
    if year is not None and not 1870 < year < 2200:
        raise usage_error(f"--year {year} is not a year.")
    given = [f"{k} {v}" for k, v in ids.items() if v]
    given += [f"type {media_type}"] if media_type else []
    given += [f"year {year}"] if year is not None else []
    with session() as ctx:
        for name in pipeline.pin(ctx, title, ids, media_type, year):
            say(f"Pinned {name}: " + ", ".join(given))
        say("The other ids are filled in by the next `pv2simkl enrich`.")


@click.command("unmatched", epilog=examples("pv2simkl unmatched"))
def unmatched_cmd() -> None:
    """List titles no provider matched confidently, with their best candidates."""
    from pv2simkl import match_session, pipeline

    with session() as ctx:
        works = pipeline.unmatched(ctx)
        if not works:
            out("Every looked-up title is matched.")
            return
        for work in works:
            out(f"{work['title']} ({work['kind']})")
            for c in work["candidates"]:
                ids = ", ".join(f"{k} {v}" for k, v in c["ids"].items() if v)
                year = c.get("year") or "?"
                out(
                    f"    {c['score']:5.1f}  {c['title']} ({year}, {c['kind']}) "
                    f"via {c['provider']}: {ids}"
                )
                if c.get("why"):
                    out(f"           {match_session.why_line(c['why'])}")
        out(
            f"{len(works)} unmatched. Pick their candidates with `pv2simkl match` (on a "
            'terminal), or pin one: pv2simkl match "TITLE" --tmdb ID'
        )


def _interactive() -> None:
    """``match`` without a title: the walk over the unmatched titles, on a terminal only."""
    if not sys.stdin.isatty():
        raise usage_error(
            'give a title and its ids (pv2simkl match "TITLE" --tmdb ID), or run '
            "`pv2simkl match` in a terminal to pick each unmatched title's candidate."
        )
    from pv2simkl import match_session, pipeline

    with session() as ctx:
        works = pipeline.unmatched(ctx)
        if not works:
            out("No unmatched titles: every looked-up title is matched or pinned.")
            return
        outcome = match_session.walk(
            works,
            read=input,
            write=out,
            pin=lambda work, ids, kind, year: pipeline.pin_work(ctx, work["id"], ids, kind, year),
        )
        if outcome.pinned:
            say("The other ids are filled in by the next `pv2simkl enrich`.")


COMMANDS = [match_cmd, unmatched_cmd]
