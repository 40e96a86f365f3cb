"""Looking after the installation: doctor, credentials, the Simkl sign-in, the store, the
user service and the config file."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import click

from pv2simkl.cli.core import State, errors, examples, out, say, session
from pv2simkl.words import plural


@click.command("doctor", epilog=examples("pv2simkl doctor", "pv2simkl doctor --no-probe"))
@click.option("--no-probe", is_flag=True, help="Do not call the services.")
def doctor_cmd(no_probe: bool) -> None:
    """Show the config in use, each metadata service's state and the Simkl sign-in."""
    from pv2simkl import credentials, pipeline

    with session() as ctx:
        out(f"config file: {ctx.settings.config_file or '(none; defaults and env)'}")
        out(f"store: {ctx.paths.db}")
        out(f"exports: {ctx.paths.export_dir}")
        out(f"provider order: {', '.join(ctx.settings.metadata.order)}")
        if ctx.settings.metadata.offline:
            out("offline mode: on (PV2SIMKL_OFFLINE=1 or --offline); no service is asked")
        try:
            out(f"keyring backend: {credentials.backend_name()}")
        except Exception as exc:  # a broken keyring must not stop the report
            out(f"keyring backend: unavailable ({type(exc).__name__})")
        for name, state, detail in pipeline.doctor(ctx, probe=not no_probe):
            out(f"  {name:8} {state:12} {detail}")


@click.group(
    "credentials",
    epilog=examples(
        "pv2simkl credentials set amazon",
        "pv2simkl credentials show tmdb",
        "pv2simkl credentials clear amazon",
    ),  # fmt: skip
)
def credentials_app() -> None:
    """Store, show or clear secrets (system keyring)."""


SECTION_HELP = "amazon, or a service: simkl, tmdb, tvdb, mal, omdb."


@credentials_app.command("set", epilog=examples("pv2simkl credentials set amazon"))
@click.argument("section", metavar="SECTION")
def credentials_set(section: str) -> None:
    """Ask for the secrets of SECTION and store them in the system keyring.

    SECTION is amazon, or a service: simkl, tmdb, tvdb, mal, omdb.
    """
    from pv2simkl import credentials

    with session():
        keys = credentials.secret_keys(section)  # an unknown SECTION: the known ones, at once
        credentials.require_keyring(section)  # before anyone types a secret for nothing
        values = {}
        for key in keys:
            label = key.replace("_", " ")
            hidden = key != "email"
            optional = key == "totp_secret" or section != "amazon"
            prompt = f"{label}" + (" (optional, Enter to skip)" if optional else "")
            value = click.prompt(prompt, hide_input=hidden, default="" if optional else None,
                                 show_default=False)  # fmt: skip
            if key == "totp_secret" and value:
                value = credentials.normalise_totp_secret(value, "The TOTP secret typed in")
            values[key] = value
        saved = credentials.store(section, values)
        say(f"Stored in the system keyring: {', '.join(saved) or 'nothing'}.")


@credentials_app.command("show", epilog=examples("pv2simkl credentials show amazon"))
@click.argument("section", metavar="SECTION", default="amazon")
def credentials_show(section: str) -> None:
    """Say where each secret of SECTION is set (keyring, environment, config file), never
    what it is. SECTION defaults to amazon."""
    from pv2simkl import credentials

    with session() as ctx:
        for key, where in credentials.describe(section, ctx.settings):
            out(f"{section}.{key}: {where}")


@credentials_app.command("clear", epilog=examples("pv2simkl credentials clear amazon"))
@click.argument("section", metavar="SECTION", default="amazon")
def credentials_clear(section: str) -> None:
    """Remove the secrets of SECTION from the keyring. SECTION defaults to amazon."""
    from pv2simkl import credentials

    with session():
        removed = credentials.clear(section)
        say(f"Removed from the keyring: {', '.join(removed) or 'nothing was stored'}.")


@click.group("simkl", epilog=examples("pv2simkl simkl login", "pv2simkl simkl logout"))
def simkl_app() -> None:
    """Sign in to Simkl (for `pv2simkl push`), or out."""


@simkl_app.command(
    "login",
    epilog=examples("pv2simkl simkl login", "pv2simkl simkl login --print-token"),
)
@click.option("--print-token", is_flag=True,
              help="Print the token instead of keeping it in the keyring (for a server: put it "
                   "in PV2SIMKL_SIMKL_ACCESS_TOKEN).")  # fmt: skip
def simkl_login(print_token: bool) -> None:
    """Sign in with Simkl's PIN: open the address shown and enter the code."""
    from pv2simkl.sinks import simkl_auth

    def show(code: str, url: str) -> None:
        click.echo(f"Open {url} and enter the code {code} (Ctrl-C to stop).", err=print_token)
        click.echo("Waiting for Simkl…", err=print_token)

    with session() as ctx:
        done = simkl_auth.sign_in(ctx.settings, show=show, store=not print_token)
        if print_token:
            out(done.token)
            return
        say("Signed in to Simkl; the token is in the system keyring (simkl.access_token).")
        if done.env_wins:
            say(f"note: {simkl_auth.TOKEN_ENV} is set and wins over the keyring.")


@simkl_app.command("logout", epilog=examples("pv2simkl simkl logout"))
def simkl_logout() -> None:
    """Forget the Simkl token kept in the keyring."""
    from pv2simkl.sinks import simkl_auth

    with session():
        removed = simkl_auth.sign_out()
        say("Signed out of Simkl: the token is gone from the keyring."
            if removed else "No Simkl token was in the keyring.")  # fmt: skip
        if os.environ.get(simkl_auth.TOKEN_ENV):
            say(f"note: {simkl_auth.TOKEN_ENV} is still set; unset it to sign out there.")


@click.group(
    "store",
    epilog=examples(
        "pv2simkl store check",
        "pv2simkl store backup ~/backups/",
        "pv2simkl store restore ~/backups/pv2simkl-2026-11-29.sqlite",
    ),  # fmt: skip
)
def store_app() -> None:
    """Check, back up or restore the SQLite store."""


def _counts_line(counts: dict[str, int | None]) -> str:
    names = {"events": ("event", None), "works": ("title", None),
             "imports": ("import", None), "export_batches": ("export batch", None)}  # fmt: skip
    return ", ".join(
        plural(counts[k], word, many) for k, (word, many) in names.items()
        if counts.get(k) is not None
    )  # fmt: skip


@store_app.command("check", epilog=examples("pv2simkl store check"))
def store_check() -> None:
    """Run SQLite's integrity check on the store and count what it holds (exit 6 if damaged)."""
    from pv2simkl.errors import StoreError
    from pv2simkl.store import maintenance

    with session() as ctx:
        report = maintenance.check(ctx.paths.db)
        out(f"store: {report.path} ({report.size:,} bytes)")
        if report.counts:
            out(f"holds: {_counts_line(report.counts)}")
        for copy in report.backups:
            out(f"copy beside it: {copy} (`pv2simkl store restore {copy}`)")
        if not report.ok:
            raise StoreError(report.sentence())
        out("integrity: ok")


@store_app.command("backup", epilog=examples("pv2simkl store backup ~/backups/"))
@click.argument("dest", metavar="DEST", type=click.Path(path_type=Path))
def store_backup(dest: Path) -> None:
    """Copy the store to DEST, a new file or a folder for a dated copy (SQLite's backup
    API: safe while the daemon runs)."""
    from pv2simkl.store import maintenance

    with session() as ctx:
        report = maintenance.backup(ctx.paths.db, dest)
        say(f"Backed up {ctx.paths.db} to {report.path}: {_counts_line(report.counts)}.")


@store_app.command(
    "restore", epilog=examples("pv2simkl store restore ~/backups/pv2simkl-2026-11-29.sqlite")
)
@click.argument("src", metavar="SRC", type=click.Path(path_type=Path))
def store_restore(src: Path) -> None:
    """Replace the store by SRC, a backup or a copy made before a migration (checked first);
    the current store is kept aside."""
    from pv2simkl.store import maintenance

    with session() as ctx:
        report = maintenance.restore(ctx.paths.db, src, daemon_lock=ctx.paths.daemon_lock)
        say(f"Restored {report.path} from {src}: {_counts_line(report.counts)}.")
        if report.aside:
            say(f"The store it replaced is kept as {report.aside}.")


@click.group(
    "service",
    epilog=examples(
        "pv2simkl service install --dry-run",
        "pv2simkl service install",
        "pv2simkl service logs -n 50",
    ),  # fmt: skip
)
def service_app() -> None:
    """Run the daemon as a user service (systemd or launchd)."""


def dry_run_option(function):
    help_text = "Print the file and the commands; change nothing."
    return click.option("--dry-run", is_flag=True, help=help_text)(function)


def _flag(section: str, key: str) -> str | None:
    value = State.overrides.get((section, key))
    return str(value) if value else None


def _carry_out(dry_run: bool, plan_for: Callable[[ModuleType, Any], Any]) -> None:
    """The service plan ``plan_for(service module, context)``, shown (``--dry-run``) or
    carried out."""
    from pv2simkl.daemon import service

    with session() as ctx:
        plan = plan_for(service, ctx)
        out(plan.describe() if dry_run else service.apply(plan))


@service_app.command("install", epilog=examples("pv2simkl service install --dry-run"))
@dry_run_option
def service_install(dry_run: bool) -> None:
    """Write the user service file and start the daemon now and at each login."""

    def plan(service: ModuleType, ctx: Any) -> Any:
        env = service.service_environment(
            config=State.config, data_dir=_flag("paths", "data_dir"), db=_flag("paths", "db")
        )
        return service.install_plan(environment=env, log_dir=ctx.paths.log_dir)

    _carry_out(dry_run, plan)


@service_app.command("uninstall", epilog=examples("pv2simkl service uninstall"))
@dry_run_option
def service_uninstall(dry_run: bool) -> None:
    """Stop the daemon, disable it and remove the service file."""
    _carry_out(dry_run, lambda service, _ctx: service.uninstall_plan())


@service_app.command("status", epilog=examples("pv2simkl service status"))
@dry_run_option
def service_status(dry_run: bool) -> None:
    """Ask systemd or launchd whether the daemon runs."""
    _carry_out(dry_run, lambda service, _ctx: service.status_plan())


@service_app.command("logs", epilog=examples("pv2simkl service logs -n 50"))
@click.option("--lines", "-n", type=click.IntRange(min=1), default=200, show_default=True,
              metavar="N", help="How many lines.")  # fmt: skip
@dry_run_option
def service_logs(lines: int, dry_run: bool) -> None:
    """Show the daemon's recent output (the user journal, or the launchd log files)."""
    _carry_out(
        dry_run, lambda service, ctx: service.logs_plan(log_dir=ctx.paths.log_dir, lines=lines)
    )


@click.group(
    "config",
    epilog=examples("pv2simkl config init", "pv2simkl config migrate ~/old-exporter/config.js"),
)
def config_app() -> None:
    """Create config.toml, or migrate the old exporter's config."""


def _config_file() -> Path:
    from pv2simkl.config import default_config_file

    return State.config or default_config_file()


@config_app.command("init", epilog=examples("pv2simkl config init", "pv2simkl config init --force"))
@click.option("--force", is_flag=True, help="Replace an existing config.toml.")
def config_init(force: bool) -> None:
    """Write a config.toml holding every setting at its default, each with a comment."""
    from pv2simkl.config import write_default_config

    with errors():  # not session(): a broken config.toml must not stop `init --force`
        path = write_default_config(_config_file(), force=force)
    say(f"Wrote {path}. Secrets go to the keyring: `pv2simkl credentials set amazon`, …")


@config_app.command("migrate", epilog=examples("pv2simkl config migrate ~/old-exporter/config.js"))
@click.argument("old", metavar="OLD", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True,
              help="Replace keys that config.toml already sets differently.")  # fmt: skip
def config_migrate(old: Path, force: bool) -> None:
    """Turn the old exporter's config.js or config.json (OLD) into config.toml; its secrets
    go to the keyring."""
    from pv2simkl import migrate

    with errors():  # not session(): the file being migrated into may not load yet
        report = migrate.migrate(old, _config_file(), force=force)
    for line in report.lines():
        say(line)


COMMANDS = [doctor_cmd, credentials_app, simkl_app, store_app, service_app, config_app]
