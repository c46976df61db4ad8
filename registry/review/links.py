"""Links between cases: the same incident, the same perpetrator, a duplicate.

A link is plain (docs/sealed-and-plain.md): it says that two cases belong together, never
why in words.  Making or removing one is a change to both cases, so the
actor must hold the key of both: each data key is unwrapped, and the crypto
is the check, as for every other change (promise 6).  Each change is an
audit event on both cases, in the caller's transaction (promise 7).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import BindParameter, bindparam, case, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry import audit
from registry.models import KeyWrap, LinkKind, Report, ReportLink
from registry.records.access import NoAccess, data_key_for, deleted_meanwhile, find_report
from registry.review.service import CaseView, open_case
from registry.review.triage import TriageError

KINDS = tuple(kind.value for kind in LinkKind)


@dataclass(frozen=True)
class LinkView:
    """A case linked to the one on the page."""

    id: int
    kind: str
    public_id: str
    # Whether the viewer holds a key wrap of the linked case.  Only a hint
    # for the page: opening it still unwraps the key (and may still fail).
    can_open: bool


@dataclass(frozen=True)
class LinkedCase:
    """A linked case on the merged page: opened, or ``None`` without a key."""

    public_id: str
    kinds: tuple[str, ...]
    case: CaseView | None


def _openable(db: Session, public_id: str, account_id: int, private_key: bytes) -> Report:
    """The case ``public_id``, only if the actor can unwrap its key."""
    try:
        other = find_report(db, public_id)
        data_key_for(db, other, account_id, private_key)
    except NoAccess:
        # WHY one refusal for "no such case" and "no key for it": the
        # answer must not tell a reviewer which case ids exist.
        raise TriageError("other") from None
    return other


def _record(db: Session, action: str, account_id: int, kind: str, a: Report, b: Report) -> None:
    """The event on both cases, each naming the other (codes only)."""
    for this, other in ((a, b), (b, a)):
        audit.record(
            db,
            actor=audit.account_actor(account_id),
            action=action,
            report_ref=this.public_id,
            detail=f"{kind}:{other.public_id}",
        )


def link(
    db: Session,
    report: Report,
    *,
    account_id: int,
    private_key: bytes,
    other_public_id: str,
    kind: str,
) -> ReportLink:
    """Link ``report`` to another case the actor can also open.

    Stored once, with the smaller report id first, whichever side links;
    a second identical link is refused with ``TriageError("duplicate")``.
    """
    # Access to this case first: without its key nothing else is judged.
    data_key_for(db, report, account_id, private_key)
    if kind not in KINDS:
        raise TriageError("kind")
    other_public_id = other_public_id.strip().upper()
    if other_public_id == report.public_id:
        raise TriageError("self")
    other = _openable(db, other_public_id, account_id, private_key)
    low, high = sorted((report.id, other.id))
    existing = db.scalars(
        select(ReportLink.id).where(
            ReportLink.report_id == low, ReportLink.other_id == high, ReportLink.kind == kind
        )
    ).first()
    if existing is not None:
        raise TriageError("duplicate")
    row = ReportLink(report_id=low, other_id=high, kind=kind, created_by=account_id)
    db.add(row)
    try:
        db.flush()
    except IntegrityError as refused:
        if deleted_meanwhile(refused):
            # The other case was deleted a moment ago (a purge that keeps
            # nothing, a withdrawal): as for an id nobody can open.
            raise TriageError("other") from None
        # Someone linked the same pair in the same way a moment ago; the
        # unique constraint kept one row.  The caller rolls back.
        raise TriageError("duplicate") from None
    _record(db, "case.linked", account_id, kind, report, other)
    return row


def unlink(
    db: Session, report: Report, *, account_id: int, private_key: bytes, link_id: int
) -> None:
    """Remove a link of ``report``; the actor must be able to open both cases."""
    data_key_for(db, report, account_id, private_key)
    row = db.scalars(
        select(ReportLink).where(
            ReportLink.id == link_id,
            or_(ReportLink.report_id == report.id, ReportLink.other_id == report.id),
        )
    ).first()
    if row is None:
        raise TriageError("link")
    other = db.get(Report, row.other_id if row.report_id == report.id else row.report_id)
    if other is None:
        raise TriageError("link")
    try:
        data_key_for(db, other, account_id, private_key)
    except NoAccess:
        # Removing a link changes the other case too: its key is required.
        raise TriageError("both") from None
    db.delete(row)
    _record(db, "case.unlinked", account_id, row.kind, report, other)


# Built once (registry.records.access says why).
_THIS: BindParameter[int] = bindparam("report_id", type_=ReportLink.report_id.type)
_LINKS = (
    select(ReportLink.id, ReportLink.kind, Report.id, Report.public_id)
    .join(
        Report,
        Report.id
        == case((ReportLink.report_id == _THIS, ReportLink.other_id), else_=ReportLink.report_id),
    )
    .where(or_(ReportLink.report_id == _THIS, ReportLink.other_id == _THIS))
    .order_by(ReportLink.kind, Report.public_id)
)


def links_of(db: Session, report: Report, account_id: int) -> list[LinkView]:
    """Every link of ``report``, with whether the viewer holds a key of the other case."""
    rows = db.execute(_LINKS, {"report_id": report.id}).all()
    if not rows:
        # Most cases have no link: asking which of no cases the viewer holds
        # a key of would be a round trip for an answer known already.
        return []
    held = set(
        db.scalars(
            select(KeyWrap.report_id).where(
                KeyWrap.account_id == account_id, KeyWrap.report_id.in_([r[2] for r in rows])
            )
        )
    )
    return [
        LinkView(link_id, kind, public_id, other in held)
        for link_id, kind, other, public_id in rows
    ]


def open_linked(
    db: Session, public_id: str, account_id: int, private_key: bytes
) -> tuple[CaseView, list[LinkedCase]]:
    """This case and every linked case the viewer can open, each opening audited.

    Raises :class:`NoAccess` for this case; a linked case without a key is
    returned as ``None`` (its key wrap is tried all the same, so the answer
    is the crypto's, and nothing of it is opened or recorded).
    """
    this = open_case(db, public_id, account_id, private_key)
    kinds: dict[str, list[str]] = {}
    for item in links_of(db, this.report, account_id):
        kinds.setdefault(item.public_id, []).append(item.kind)
    linked = []
    # Each case once, however many ways it is linked: one opening, one event.
    for other, its_kinds in kinds.items():
        try:
            opened: CaseView | None = open_case(db, other, account_id, private_key)
        except NoAccess:
            opened = None
        linked.append(LinkedCase(other, tuple(its_kinds), opened))
    return this, linked
