"""Escrow wraps added through key holders' sessions, for reports that lack one to the current key.

Two kinds of report lack one: those filed before the deployment had an
escrow key (nothing could wrap to it then), and, after ``registry escrow
rotate``, those wrapped only to an older key.  The server cannot add the
wrap by itself: it never holds a report's data key.  A key holder's login
can: their private key is in memory for that request, it opens the reports
they hold, and the escrow public key needs no secret (issue 12, holes b
and c).

WHY batched and only after a cheap check: a login must stay fast.  Each
login adds at most :data:`BACKFILL_BATCH` wraps; the per-worker watch
remembers once no report lacks a wrap to the current key, so afterwards a
login pays nothing.  Each wrap added is audited.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from registry import audit
from registry.crypto import CannotOpen, DataKeyUnwrapper, wrap_data_key
from registry.keyring.escrow import lacking_current
from registry.keyring.watch import EscrowKey, EscrowWatch
from registry.models import KeyWrap, Report

BACKFILL_BATCH = 100
ACTION = "case.escrow-wrapped"


def some_lacking(db: Session, fingerprint: str) -> bool:
    """Whether any report lacks an escrow wrap to the key ``fingerprint``."""
    return db.scalar(select(Report.id).where(lacking_current(fingerprint)).limit(1)) is not None


def add_escrow_wraps(
    db: Session,
    *,
    account_id: int,
    private_key: bytes,
    escrow: EscrowKey,
    limit: int = BACKFILL_BATCH,
) -> int:
    """Wrap to ``escrow`` up to ``limit`` reports this person holds that lack it; return how many.

    A wrap of theirs that does not open is left alone (the case page shows
    and audits such damage).  The caller commits.
    """
    own = aliased(KeyWrap)
    rows = db.execute(
        select(Report.id, Report.public_id, own.wrapped)
        .join(own, own.report_id == Report.id)
        .where(own.account_id == account_id, lacking_current(escrow.fingerprint))
        .limit(limit)
    ).all()
    if not rows:
        return 0
    unwrapper = DataKeyUnwrapper(private_key)
    added = 0
    for report_id, public_id, wrapped in rows:
        try:
            dek = unwrapper.unwrap(wrapped, report_id=public_id)
        except CannotOpen:
            continue
        db.add(
            KeyWrap(
                report_id=report_id,
                escrow=True,
                escrow_key=escrow.fingerprint,
                wrapped=wrap_data_key(dek, escrow.public, report_id=public_id),
            )
        )
        audit.record(
            db,
            actor=audit.account_actor(account_id),
            action=ACTION,
            report_ref=public_id,
            detail=f"escrow:{escrow.fingerprint}",
        )
        added += 1
    return added


def backfill_at_login(
    db: Session, watch: EscrowWatch, *, account_id: int, private_key: bytes
) -> int:
    """At a key holder's login: add missing escrow wraps, if any report lacks one.

    Returns how many were added; the caller commits with the login.
    """
    escrow = watch.current()
    if escrow is None or watch.covered(escrow.fingerprint):
        return 0
    if not some_lacking(db, escrow.fingerprint):
        watch.note_covered(escrow.fingerprint)
        return 0
    return add_escrow_wraps(db, account_id=account_id, private_key=private_key, escrow=escrow)
