"""``registry`` — operator commands.

``registry init`` is what ``make run`` calls before serving: it never asks
a question.  ``registry escrow create`` asks for a passphrase (or reads it
from a file) because the operator must choose it.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import TextIO

import click
from flask import Flask

from config import Config
from registry import audit, create_app, db, escrow_cli, runtime
from registry.auth import service as auth
from registry.backup import cli as backup_cli
from registry.cli_common import (
    config_or_exit,
    escrow_key_option,
    new_passphrase,
    passphrase_file_option,
    unlock_escrow,
)
from registry.crypto import CannotOpen
from registry.keyring.escrow import (
    EscrowExists,
    RewrapRefused,
    create_escrow,
    rewrap_for,
)
from registry.maintenance import cli as maintenance_cli
from registry.models import Role
from registry.models.migrate import upgrade
from registry.notices import cli as notices_cli
from registry.referral import cli as referral_cli
from registry.reforms.service import load_catalogue
from registry.retention.rules import check_config as check_retention
from registry.taxonomy.service import load_vocabularies
from registry.telegram import cli as telegram_cli
from registry.web import health

NO_ESCROW_WARNING = """
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
!! WARNING: no escrow key (keys/escrow.pub).                          !!
!! Reports received now are UNRECOVERABLE if every reviewer forgets   !!
!! their password. Create one:  registry escrow create                !!
!! Until then the form refuses every report while no reviewer or      !!
!! coordinator has enrolled: nobody could ever open it.               !!
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
"""


def _app() -> Flask:
    return create_app(_config())


def _config() -> Config:
    """The configuration from the environment; one line and exit 2 if it is unusable.

    Retention's disposition codes are judged here too (against the
    vocabulary), so `registry init`, and with it `make run`, refuses a
    misspelt one in one line instead of the app factory's traceback.
    """
    return config_or_exit(check_retention)


@click.group()
def main() -> None:
    """Operate a Sviedka registry."""
    # Files these commands create (the database, keys, escrow file) are
    # nobody else's business on a shared host.
    os.umask(0o077)


main.add_command(referral_cli.partner)
main.add_command(referral_cli.pack)
main.add_command(telegram_cli.telegram)
for _backup_command in backup_cli.COMMANDS:
    main.add_command(_backup_command)
main.add_command(health.health)
main.add_command(maintenance_cli.maintain)
main.add_command(notices_cli.notices)


@main.command()
def init() -> None:
    """Migrate the database, load the catalogue, create key material."""
    app = _app()
    cfg = runtime_config(app)
    upgrade(cfg.database_url, receipt_params=runtime.receipt_params(cfg).encode())
    with app.app_context():
        dbs = db.session()
        terms = load_vocabularies(dbs)
        items = load_catalogue(dbs)
        token = auth.ensure_setup_invite(dbs, timedelta(hours=cfg.invite_valid_hours))
        dbs.commit()
        escrow = runtime.keyring().escrow_public
    click.echo(f"Database ready; {terms} vocabulary terms and {items} catalogue items loaded.")
    if escrow is None:
        click.echo(NO_ESCROW_WARNING, err=True)
    if token:
        click.echo(
            "No administrator exists yet. Open this one-time setup link (valid "
            f"{cfg.invite_valid_hours} h) to choose a password and enrol TOTP:"
        )
        click.echo(f"    {cfg.base_url}/staff/invite/{token}")


def runtime_config(app: Flask) -> Config:
    """The configuration an app was built with."""
    cfg: Config = app.extensions["registry.config"]
    return cfg


@main.command()
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
def invite(email: str, role: str) -> None:
    """Print a one-time invite link for EMAIL (valid 72 h)."""
    app = _app()
    cfg = runtime_config(app)
    with app.app_context():
        dbs = db.session()
        token = auth.create_invite(
            dbs, email=email, role=Role(role), valid_for=timedelta(hours=cfg.invite_valid_hours)
        )
        dbs.commit()
    click.echo(f"{cfg.base_url}/staff/invite/{token}")


@main.group()
def escrow() -> None:
    """The offline escrow key."""


# recover, status, rotate, and the offline rewrap (registry.escrow_cli).
for _command in escrow_cli.COMMANDS:
    escrow.add_command(_command)


@escrow.command("create")
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the locked private key (default: instance/escrow-private.key).",
)
@passphrase_file_option
def escrow_create(out: Path | None, passphrase_file: TextIO | None) -> None:
    """Create the escrow key pair; print where the private half went."""
    cfg = _config()
    out = out or cfg.instance_dir / "escrow-private.key"
    passphrase = new_passphrase(passphrase_file)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        public = create_escrow(cfg.keys_dir, out, passphrase, runtime.escrow_params(cfg))
    except EscrowExists as exists:
        click.echo(f"An escrow key is already installed: {exists}", err=True)
        sys.exit(1)
    except FileExistsError:
        click.echo(f"{out} exists; refusing to overwrite it.", err=True)
        sys.exit(1)
    click.echo(f"Escrow public key: {public}")
    click.echo(f"Escrow PRIVATE key (passphrase-locked): {out}")
    click.echo("Move the private key file OFFLINE now and delete it from this server.")


REWRAP_REFUSALS = {
    "unknown": "No active account has this email (has the person re-enrolled yet?).",
    "admin": "Administrators hold no report keys; choose a reviewer or coordinator.",
}


@escrow.command("rewrap")
@click.option("--reviewer", "email", required=True, help="Email of the re-enrolled person.")
@escrow_key_option("The passphrase-locked escrow private key file (brought back from offline).")
@passphrase_file_option
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="Every escrowed report, not only those the person held before the reset.",
)
def escrow_rewrap(
    email: str, escrow_key: TextIO, passphrase_file: TextIO | None, everything: bool
) -> None:
    """Give a re-enrolled person back the report keys they held before a reset."""
    private_key = unlock_escrow(escrow_key, passphrase_file)
    app, count, problem = _app(), 0, ""
    # Damaged wraps are skipped, not fatal (issue 12, d): listed at the end.
    skipped: dict[int, str] = {}
    with app.app_context():
        dbs = db.session()
        try:
            # Batch by batch, each committed: see rewrap_for.
            while done := rewrap_for(
                dbs,
                escrow_private_key=private_key,
                email=email,
                everything=everything,
                skipped=skipped,
            ):
                dbs.commit()
                count += done
        except RewrapRefused as refused:
            problem = REWRAP_REFUSALS[refused.reason]
        except CannotOpen:
            problem = "This escrow key does not open the reports' escrow wraps."
        finally:
            # A failed batch leaves nothing half-done; committed ones are complete.
            dbs.rollback()
            dbs.close()
            db.engine().dispose()
    if problem:
        click.echo(f"{count} reports re-wrapped before a problem: {problem}", err=True)
        sys.exit(1)
    for public_id in sorted(skipped.values()):
        click.echo(f"SKIPPED {public_id}: its escrow wrap is damaged.", err=True)
    click.echo(f"{count} reports re-wrapped for {email}.")
    if skipped:
        click.echo(f"{len(skipped)} skipped (damaged escrow wrap).", err=True)
        sys.exit(1)


@main.group("audit")
def audit_group() -> None:
    """The hash-chained audit log."""


def _parse_anchor(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> tuple[int, bytes] | None:
    if value is None:
        return None
    position, _, digest = value.partition(":")
    try:
        anchor = int(position), bytes.fromhex(digest)
    except ValueError:
        anchor = (0, b"")
    if anchor[0] < 1 or len(anchor[1]) != 32:
        raise click.BadParameter("expected N:HASH as printed by an earlier verify")
    return anchor


@audit_group.command("verify")
@click.option(
    "--anchor",
    callback=_parse_anchor,
    default=None,
    help="A head N:HASH printed earlier and kept elsewhere: it must still be in the log.",
)
def audit_verify(anchor: tuple[int, bytes] | None) -> None:
    """Check every event of the audit log; exit 1 at the first bad one."""
    app = _app()
    with app.app_context():
        result = audit.verify(db.session(), anchor)
        db.session().rollback()
        db.engine().dispose()
    if not result.ok:
        click.echo(
            f"audit log BROKEN at event #{result.bad_id}: {result.problem} ({result.explanation})"
        )
        sys.exit(1)
    click.echo(f"audit log OK: {result.count} events")
    if result.count:
        # Kept elsewhere, the head later exposes a rewrite or a cut-off end.
        click.echo(f"head: {result.count}:{result.head.hex()}")
