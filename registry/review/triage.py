"""Triage: status, disposition, urgency, assignment, notes, access grants.

Every change here requires the caller to hold the report's key (the data
key is unwrapped first), so staff without access cannot change a case
either; every change is an audit event, in the caller's transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from registry import audit
from registry.crypto import seal_field, wrap_data_key
from registry.models import (
    KEY_HOLDER_ROLES,
    Account,
    HeldAccess,
    KeyWrap,
    Note,
    Report,
    Role,
    Status,
)
from registry.notices.activity import note_activity, note_assignment
from registry.records.access import NoAccess, data_key_for
from registry.records.ids import new_public_id
from registry.records.vocabulary import note_field
from registry.taxonomy.service import titles

NOTE_MAX = 20_000


class TriageError(ValueError):
    """A change that breaks a rule; ``field`` names the form field."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


def _actor(account_id: int) -> str:
    return audit.account_actor(account_id)


def set_status(
    db: Session,
    report: Report,
    *,
    account_id: int,
    private_key: bytes,
    status: str,
    disposition: str | None,
) -> None:
    """Move the case; closing needs a disposition, other states clear it."""
    data_key_for(db, report, account_id, private_key)
    if status not in {s.value for s in Status}:
        raise TriageError("status")
    if status == Status.CLOSED.value:
        if not disposition or disposition not in titles(db, "dispositions", "en"):
            raise TriageError("disposition")
    else:
        disposition = None
    was_closed = report.status == Status.CLOSED.value
    report.status, report.disposition = status, disposition
    # Retention counts from the day the case was closed (registry.retention);
    # a changed disposition on a closed case does not restart the clock, a
    # reopened case has none.
    if status != Status.CLOSED.value:
        report.closed_on = None
    elif not was_closed or report.closed_on is None:
        report.closed_on = datetime.now(UTC).date()
    audit.record(
        db,
        actor=_actor(account_id),
        action="case.status",
        report_ref=report.public_id,
        detail=f"{status}:{disposition}" if disposition else status,
    )


def set_urgent(
    db: Session, report: Report, *, account_id: int, private_key: bytes, urgent: bool
) -> None:
    """Mark or unmark the case as urgent."""
    data_key_for(db, report, account_id, private_key)
    report.urgent = urgent
    audit.record(
        db,
        actor=_actor(account_id),
        action="case.urgency",
        report_ref=report.public_id,
        detail="urgent" if urgent else "normal",
    )


def holders(db: Session, report: Report) -> list[Account]:
    """Staff who hold a key wrap of the report (who can open it)."""
    return list(
        db.scalars(
            select(Account)
            .join(KeyWrap, KeyWrap.account_id == Account.id)
            .where(KeyWrap.report_id == report.id, Account.active.is_(True))
            .order_by(Account.email)
        )
    )


def assign(
    db: Session, report: Report, *, account_id: int, private_key: bytes, assignee_id: int | None
) -> None:
    """Assign the case to someone who can open it (or to nobody)."""
    data_key_for(db, report, account_id, private_key)
    if assignee_id is not None and assignee_id not in {a.id for a in holders(db, report)}:
        raise TriageError("assignee")
    note_assignment(db, new=assignee_id, old=report.assignee_id, by=account_id)
    report.assignee_id = assignee_id
    audit.record(
        db,
        actor=_actor(account_id),
        action="case.assigned",
        report_ref=report.public_id,
        detail=f"account:{assignee_id}" if assignee_id else "nobody",
    )


def add_note(
    db: Session, report: Report, *, account_id: int, private_key: bytes, text: str
) -> Note:
    """Add an internal note sealed under the report key."""
    # Access first: without the key, nothing about the request is judged.
    dek = data_key_for(db, report, account_id, private_key)
    if not text.strip() or len(text) > NOTE_MAX:
        raise TriageError("text")
    nid = new_public_id()
    note = Note(
        public_id=nid,
        report_id=report.id,
        author_id=account_id,
        ciphertext=seal_field(
            dek, text.encode(), report_id=report.public_id, field=note_field(nid)
        ),
    )
    db.add(note)
    audit.record(db, actor=_actor(account_id), action="case.noted", report_ref=report.public_id)
    return note


def grant(
    db: Session, report: Report, *, account_id: int, private_key: bytes, grantee_id: int
) -> None:
    """Give another staff member the report key (coordinators only).

    The coordinator unwraps the key with their own private key and wraps it
    to the grantee's public key: access is granted cryptographically, and
    the server never holds the key in a form it could use itself.
    """
    granter = db.get(Account, account_id)
    grantee = db.get(Account, grantee_id)
    if granter is None or granter.role != Role.COORDINATOR.value:
        raise NoAccess()
    # Administrators never hold report keys, as at intake and in the
    # escrow rewrap.
    if (
        grantee is None
        or not grantee.active
        or grantee.public_key is None
        or grantee.role not in KEY_HOLDER_ROLES
    ):
        raise TriageError("grantee")
    dek = data_key_for(db, report, account_id, private_key)
    existing = db.scalars(
        select(KeyWrap).where(KeyWrap.report_id == report.id, KeyWrap.account_id == grantee_id)
    ).first()
    if existing is None:
        db.add(
            KeyWrap(
                report_id=report.id,
                account_id=grantee_id,
                wrapped=wrap_data_key(dek, grantee.public_key, report_id=report.public_id),
            )
        )
        # A report newly wrapped to someone is news for them, as at intake.
        note_activity(db, [grantee_id])
    audit.record(
        db,
        actor=_actor(account_id),
        action="case.granted",
        report_ref=report.public_id,
        detail=f"account:{grantee_id}",
    )


def revoke(
    db: Session, report: Report, *, account_id: int, private_key: bytes, grantee_id: int
) -> None:
    """Delete a staff member's key wrap of the report (coordinators only).

    Like granting, revoking needs the coordinator's own key of the report:
    a coordinator who cannot open a case must not decide who else may (nor
    lock its reviewers out of it, which would stall the case silently).
    """
    granter = db.get(Account, account_id)
    if granter is None or granter.role != Role.COORDINATOR.value or grantee_id == account_id:
        raise NoAccess()
    data_key_for(db, report, account_id, private_key)
    db.execute(
        delete(KeyWrap).where(KeyWrap.report_id == report.id, KeyWrap.account_id == grantee_id)
    )
    # Revoked while reset: the escrow rewrap must not give it back either.
    db.execute(
        delete(HeldAccess).where(
            HeldAccess.report_id == report.id, HeldAccess.account_id == grantee_id
        )
    )
    if report.assignee_id == grantee_id:
        report.assignee_id = None
    audit.record(
        db,
        actor=_actor(account_id),
        action="case.revoked",
        report_ref=report.public_id,
        detail=f"account:{grantee_id}",
    )


def staff_without_access(
    db: Session, report: Report, have_access: list[Account] | None = None
) -> list[Account]:
    """Active reviewers and coordinators who hold no key of this report.

    ``have_access`` is :func:`holders` when the caller has it already.
    """
    have = {a.id for a in (holders(db, report) if have_access is None else have_access)}
    everyone = db.scalars(
        select(Account)
        .where(
            Account.active.is_(True),
            Account.role.in_(KEY_HOLDER_ROLES),
        )
        .order_by(Account.email)
    )
    return [a for a in everyone if a.id not in have]
