"""The escrow key: recovery when every reviewer has forgotten their password.

The private half is written once, locked under the operator's passphrase,
to a file the operator moves offline.  Only the public half
(``keys/escrow.pub``) stays on the server, so a seized server cannot use it.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, aliased

from registry import audit
from registry.crypto import (
    Argon2Params,
    generate_keypair,
    lock_private_key,
    unlock_private_key,
    unwrap_data_key,
    wrap_data_key,
)
from registry.keyring import ESCROW_PUBLIC_FILE
from registry.keyring.armor import PRIVATE_HEADER, PUBLIC_HEADER, armor, dearmor
from registry.models import KEY_HOLDER_ROLES, Account, HeldAccess, KeyWrap, Report


class EscrowExists(Exception):
    """An escrow public key is already installed."""


class RewrapRefused(Exception):
    """The account cannot receive report keys; ``reason`` says why.

    ``unknown`` (no active account with that email), ``admin``
    (administrators hold no report keys).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def create_escrow(keys_dir: Path, private_out: Path, passphrase: str, params: Argon2Params) -> Path:
    """Create the escrow key pair; return the path of the public key.

    The locked private key is written to ``private_out`` (mode 0600, never
    overwritten); the public key to ``keys_dir/escrow.pub``.
    """
    public_path = keys_dir / ESCROW_PUBLIC_FILE
    if public_path.exists():
        raise EscrowExists(str(public_path))
    pair = generate_keypair()
    locked = lock_private_key(pair.private, passphrase, params=params)
    fd = os.open(private_out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(armor(PRIVATE_HEADER, locked))
    keys_dir.mkdir(parents=True, exist_ok=True)
    public_path.write_text(armor(PUBLIC_HEADER, pair.public), encoding="ascii")
    return public_path


def open_escrow_file(text: str, passphrase: str) -> bytes:
    """The escrow private key from its passphrase-locked file.

    ``ValueError`` when the text is not an escrow private key file,
    :class:`registry.crypto.CannotOpen` for a wrong passphrase.
    """
    return unlock_private_key(dearmor(PRIVATE_HEADER, text), passphrase)


REWRAP_BATCH = 500


def rewrap_for(
    db: Session,
    *,
    escrow_private_key: bytes,
    email: str,
    limit: int = REWRAP_BATCH,
    everything: bool = False,
) -> int:
    """Wrap up to ``limit`` escrowed report keys to a staff member; return how many.

    For when someone lost their key (a reset password) and re-enrolled with
    a new one: each report they could open before the reset (recorded in
    ``held_access`` by the reset; revocations since then removed from it) is
    opened with the escrow key and wrapped to their current public key.
    Only that: a rewrap must not undo a coordinator's revocation (promise
    6).  ``everything`` instead gives every escrowed report they lack — a
    deliberate operator decision (a newcomer taking over the backlog).
    Commit and call again until it returns 0: short transactions do not
    hold the audit log's lock (which every staff action waits for) for
    minutes, and an interrupted run resumes where it stopped.

    The escrow key is used only in this process's memory; the server never
    stores it.  Raises :class:`RewrapRefused`, and
    :class:`registry.crypto.CannotOpen` (roll the batch back) when the key
    does not open an escrow wrap.
    """
    account = db.scalars(
        select(Account).where(Account.email == email.strip().lower(), Account.active.is_(True))
    ).first()
    if account is None or account.public_key is None:
        raise RewrapRefused("unknown")
    # Administrators manage accounts, they do not read cases: they never
    # hold report keys (as at intake).
    if account.role not in KEY_HOLDER_ROLES:
        raise RewrapRefused("admin")
    own = aliased(KeyWrap)
    has_own = (
        select(own.id).where(own.report_id == KeyWrap.report_id, own.account_id == account.id)
    ).exists()
    query = (
        select(KeyWrap.wrapped, Report.id, Report.public_id)
        .join(Report, Report.id == KeyWrap.report_id)
        .where(KeyWrap.escrow.is_(True), ~has_own)
        .order_by(Report.id)
        .limit(limit)
    )
    if not everything:
        held = select(HeldAccess.report_id).where(HeldAccess.account_id == account.id)
        query = query.where(KeyWrap.report_id.in_(held))
    rows = db.execute(query).all()
    for wrapped, report_id, public_id in rows:
        dek = unwrap_data_key(wrapped, escrow_private_key, report_id=public_id)
        db.add(
            KeyWrap(
                report_id=report_id,
                account_id=account.id,
                wrapped=wrap_data_key(dek, account.public_key, report_id=public_id),
            )
        )
        audit.record(
            db,
            actor=audit.SYSTEM,
            action="case.escrow-rewrapped",
            report_ref=public_id,
            detail=audit.account_actor(account.id),
        )
    if rows:
        # Given back: the record of what they held has done its job.
        db.execute(
            delete(HeldAccess).where(
                HeldAccess.account_id == account.id,
                HeldAccess.report_id.in_([row[1] for row in rows]),
            )
        )
    return len(rows)
