"""``registry backup`` and ``registry restore`` (docs/backup.md).

Neither creates the app: a backup must not make key material that was not
there, and a restore must find the target exactly as the operator left it.

Exit status, backup: 0 written; 1 written, but files its database names
were missing (listed), or no backup written (a failure); 2 refused (no
escrow key and no ``--to``, a bad recipient, the output exists).
Restore: 0 restored; 1 wrong key, damaged file or a failing tool; 2 refused
(target not empty, wrong kind of key or database); nothing is applied in
either failing case.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, NoReturn, TextIO

import click

from config import Config
from registry.cli_common import (
    config_or_exit,
    escrow_key_option,
    passphrase_file_option,
    unlock_escrow,
)
from registry.keyring.escrow import NoEscrow
from registry.packing.agestream import PackFailed
from registry.packing.recipients import is_recipient
from registry.runtime import receipt_params

from .agedecrypt import Damaged, WrongKey
from .layout import CorruptBackup
from .restore import RestoreFailed, RestoreRefused, parse_identities, restore_backup
from .snapshot import SnapshotFailed
from .target import TargetNotEmpty, check_empty
from .writer import (
    BackupResult,
    Installation,
    age_recipients,
    escrow_recipient,
    write_backup,
)


def _installation(cfg: Config) -> Installation:
    return Installation(cfg.database_url, cfg.storage_dir, cfg.keys_dir, cfg.instance_dir)


def _fail(message: str, status: int) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(status)


@click.command("backup")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The backup file to write (never overwritten).",
)
@click.option(
    "--to",
    "recipients",
    multiple=True,
    help="Encrypt to this age recipient (age1…) instead of the escrow key; repeatable.",
)
def backup(out: Path, recipients: tuple[str, ...]) -> None:
    """Back up the database, stored files and keys, encrypted, while the registry runs."""
    cfg = config_or_exit()
    for recipient in recipients:
        if not is_recipient(recipient):
            _fail(f"Not an age recipient (age1…, as age-keygen prints it): {recipient}", 2)
    try:
        if recipients:
            targets, header = age_recipients(list(dict.fromkeys(recipients))), b""
        else:
            targets, header = escrow_recipient(cfg.keys_dir)
    except NoEscrow:
        _fail("No escrow key (keys/escrow.pub): give --to age1… or create one first.", 2)
    except ValueError:
        _fail("keys/escrow.pub is not an escrow public key.", 2)
    if out.exists():
        _fail(f"{out} exists; refusing to overwrite it.", 2)
    # WHY a partial name renamed at the end: a failed backup must never
    # lie where a good one is expected.
    partial = out.with_name(out.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    today = datetime.now(UTC).date()
    try:
        with os.fdopen(fd, "wb") as handle:
            result = write_backup(_installation(cfg), handle, targets, header, today)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, out)
    except (SnapshotFailed, PackFailed) as error:
        partial.unlink(missing_ok=True)
        cause = error.__cause__ if isinstance(error, PackFailed) else error
        _fail(f"Backup FAILED, nothing written: {cause or type(error).__name__}", 1)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    _report(out, result)


def _report(out: Path, result: BackupResult) -> None:
    click.echo(f"Backup written to {out}: {result.database} database, {result.blobs} files.")
    if result.gone:
        click.echo(
            f"{len(result.gone)} files were deleted after the snapshot (withdrawn or purged "
            "meanwhile); the backup holds their rows without them.",
            err=True,
        )
    for public_id in sorted(set(result.missing)):
        click.echo(f"MISSING: a file of report {public_id} is not in storage.", err=True)
    if result.missing:
        _fail(f"{len(result.missing)} files named by the database are missing from storage.", 1)


@click.command("restore")
@click.argument("backup_file", type=click.File("rb"))
@escrow_key_option("The escrow private key file, for a backup sealed to escrow.", required=False)
@passphrase_file_option
@click.option(
    "--identity",
    type=click.File("r"),
    default=None,
    help="An age identity file (age-keygen), for a backup made with --to.",
)
def restore(
    backup_file: BinaryIO,
    escrow_key: TextIO | None,
    passphrase_file: TextIO | None,
    identity: TextIO | None,
) -> None:
    """Restore BACKUP_FILE onto this empty install (database, files, keys)."""
    cfg = config_or_exit()
    if (escrow_key is None) == (identity is None):
        _fail("Give either --escrow-key or --identity.", 2)
    install = _installation(cfg)
    try:
        # Refused before the passphrase is asked for: nothing to unlock for.
        check_empty(install.database_url, install.storage_dir)
        identities = parse_identities(identity.read()) if identity is not None else None
        private = unlock_escrow(escrow_key, passphrase_file) if escrow_key is not None else None
        result = restore_backup(
            install,
            backup_file,
            escrow_private=private,
            identities=identities,
            receipt_params=receipt_params(cfg).encode(),
        )
    except (TargetNotEmpty, RestoreRefused) as refused:
        _fail(f"Restore refused, nothing written: {refused}", 2)
    except WrongKey:
        _fail("Restore refused, nothing written: this key does not open this backup.", 1)
    except (Damaged, CorruptBackup) as damaged:
        _fail(f"Restore refused, nothing written: the backup is damaged or cut ({damaged}).", 1)
    except (RestoreFailed, SnapshotFailed) as failed:
        # SnapshotFailed: psql is not installed (checked before any write).
        _fail(f"Restore FAILED: {failed}", 1)
    click.echo(
        f"Restored a {result.database} database, {result.blobs} files and "
        f"{len(result.keys)} key files; the database is migrated to this version."
    )


# Added to ``registry`` by registry.cli.
COMMANDS = (backup, restore)
