"""``registry partner add|list|remove`` and ``registry pack verify``.

Partners from the command line are audited like those added on the staff
page, with the actor "system" (the operator has no account here).
``pack verify`` needs no database or key material of the registry: a
partner can run it on their own machine with the published public key.
"""

from __future__ import annotations

import hashlib
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import click

from registry import create_app, db
from registry.cli_common import config_or_exit
from registry.keyring.signing import SIGNING_PUBLIC_FILE, load_public_key, signature_valid
from registry.referral import partners
from registry.referral.manifest import SIGNATURE_SUFFIX

REFUSALS = {
    "name": "Please give the organisation's name (at most 120 characters).",
    "name-taken": "A partner with this name already exists.",
    "contact": "The contact note is too long.",
    "removed": "This partner is already removed.",
    "unknown": "There is no such partner (give its name or id, as `registry partner list` shows).",
}


def _refusal(refused: partners.PartnerRefused) -> str:
    if refused.reason != "recipient":
        return REFUSALS[refused.reason]
    if refused.line:
        return (
            f"Recipient line {refused.line} is not an age public key "
            "(one key per line, starting with age1, as age-keygen prints it)."
        )
    return "Give between 1 and 20 age public keys (age1…)."


@click.group("partner")
def partner() -> None:
    """Partner organisations that receive evidence packs."""


@partner.command("add")
@click.argument("name")
@click.option(
    "--recipient", "recipients", multiple=True, help="An age public key (age1…); repeatable."
)
@click.option(
    "--recipients-file",
    type=click.File("r"),
    default=None,
    help="A file of age public keys, one per line (as age-keygen -y prints them).",
)
@click.option("--contact", default="", help="How to reach the partner (a note for coordinators).")
def partner_add(
    name: str, recipients: tuple[str, ...], recipients_file: TextIO | None, contact: str
) -> None:
    """Register the partner NAME with its age recipients."""
    lines = list(recipients)
    if recipients_file is not None:
        lines += recipients_file.read().splitlines()
    app = create_app(config_or_exit())
    with app.app_context():
        dbs = db.session()
        try:
            added = partners.add_partner(
                dbs,
                name=name,
                contact=contact,
                recipients="\n".join(lines),
                account_id=None,
                today=datetime.now(UTC).date(),
            )
        except partners.PartnerRefused as refused:
            dbs.rollback()
            click.echo(_refusal(refused), err=True)
            sys.exit(1)
        dbs.commit()
        keys = len(added.recipients.splitlines())
        click.echo(f"Partner {added.id} added: {added.name} ({keys} keys).")
        db.engine().dispose()


@partner.command("list")
@click.option("--all", "everything", is_flag=True, help="Removed partners too.")
def partner_list(everything: bool) -> None:
    """List the partners: id, name, number of keys, date added (and removed)."""
    app = create_app(config_or_exit())
    with app.app_context():
        found = partners.list_partners(db.session(), include_removed=everything)
        for item in found:
            removed = f"  removed {item.removed_on.isoformat()}" if item.removed_on else ""
            keys = len(item.recipients.splitlines())
            click.echo(f"{item.id}\t{item.name}\t{keys} keys\tadded {item.added_on}{removed}")
        db.session().rollback()
        db.engine().dispose()


@partner.command("remove")
@click.argument("ref")
def partner_remove(ref: str) -> None:
    """Remove the partner REF (its name or id): no pack goes to it any more."""
    app = create_app(config_or_exit())
    with app.app_context():
        dbs = db.session()
        try:
            found = partners.find_partner(dbs, ref)
            partners.remove_partner(dbs, found, account_id=None, today=datetime.now(UTC).date())
        except partners.PartnerRefused as refused:
            dbs.rollback()
            click.echo(_refusal(refused), err=True)
            sys.exit(1)
        dbs.commit()
        click.echo(f"Partner {found.id} removed: {found.name}.")
        db.engine().dispose()


@click.group("pack")
def pack() -> None:
    """Evidence packs."""


@pack.command("verify")
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--sig",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="The signature file (default: MANIFEST.sig).",
)
@click.option(
    "--key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="The registry's public key (default: keys/signing.pub of this deployment).",
)
def pack_verify(manifest: Path, sig: Path | None, key: Path | None) -> None:
    """Check a manifest's Ed25519 signature; exit 0 only if it verifies."""
    sig = sig or manifest.with_name(manifest.name + SIGNATURE_SUFFIX)
    key = key or config_or_exit().keys_dir / SIGNING_PUBLIC_FILE
    try:
        public = load_public_key(key.read_bytes())
        signature = sig.read_bytes()
    except (OSError, ValueError) as error:
        click.echo(f"Cannot check: {error}", err=True)
        sys.exit(2)
    data = manifest.read_bytes()
    if not signature_valid(public, data, signature):
        click.echo(f"BAD: {manifest} does not verify with {key}.")
        sys.exit(1)
    digest = hashlib.sha256(data).hexdigest()
    click.echo(f"OK: {manifest} (SHA-256 {digest}) is signed by the key in {key}.")
