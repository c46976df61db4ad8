"""Partner organisations: added, listed and removed by administrators (audited).

A partner is an organisation (a lawyers' group, a UN mechanism, a
documentation NGO) with one or more ``age`` recipients; packs are sealed to
those keys and to nobody else (registry.referral.packs).  Every change is
an audit event in the caller's transaction; the caller commits.  The
events name the partner by row id only: the log keeps codes, never free
text (registry.audit).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry import audit
from registry.models import Partner
from registry.packing.recipients import BadRecipient, parse_recipients

NAME_MAX = 120
CONTACT_MAX = 2000


class PartnerRefused(ValueError):
    """A change that breaks a rule; ``reason`` says which, ``line`` which recipient line.

    Reasons: ``name`` (empty or too long), ``name-taken``, ``contact`` (too
    long), ``recipient`` (``line``: the first line that is not an ``age1…``
    key, 0 for none or too many), ``unknown`` (no such partner), ``removed``.
    """

    def __init__(self, reason: str, line: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


def _actor(account_id: int | None) -> str:
    # From the command line there is no account: the operator acts as "system".
    return audit.SYSTEM if account_id is None else audit.account_actor(account_id)


def detail_of(partner: Partner) -> str:
    """How audit events name a partner: ``partner:<row id>`` (never its name)."""
    return f"partner:{partner.id}"


def add_partner(
    db: Session,
    *,
    name: str,
    contact: str,
    recipients: str,
    account_id: int | None,
    today: date,
) -> Partner:
    """Add a partner; :class:`PartnerRefused` on a bad name, contact or recipient line."""
    name, contact = name.strip(), contact.strip()
    if not name or len(name) > NAME_MAX:
        raise PartnerRefused("name")
    if len(contact) > CONTACT_MAX:
        raise PartnerRefused("contact")
    try:
        keys = parse_recipients(recipients)
    except BadRecipient as bad:
        raise PartnerRefused("recipient", bad.line) from None
    # Names are unique whatever their case: two "Viasna"s would be mixed up.
    taken = db.scalar(select(Partner.id).where(func.lower(Partner.name) == name.lower()))
    if taken is not None:
        raise PartnerRefused("name-taken")
    partner = Partner(
        name=name,
        contact=contact,
        recipients="\n".join(keys),
        added_on=today,
        added_by=account_id,
    )
    db.add(partner)
    db.flush()
    audit.record(db, actor=_actor(account_id), action="partner.added", detail=detail_of(partner))
    return partner


def list_partners(db: Session, *, include_removed: bool = True) -> list[Partner]:
    """Partners by name; the removed ones too unless ``include_removed`` is False."""
    query = select(Partner).order_by(Partner.name)
    if not include_removed:
        query = query.where(Partner.removed_on.is_(None))
    return list(db.scalars(query))


def find_partner(db: Session, ref: str) -> Partner:
    """A partner by row id or exact name; :class:`PartnerRefused` ``unknown`` if none."""
    partner = None
    if ref.isascii() and ref.isdigit() and len(ref) <= 19:
        partner = db.get(Partner, int(ref))
    if partner is None:
        partner = db.scalar(select(Partner).where(Partner.name == ref))
    if partner is None:
        raise PartnerRefused("unknown")
    return partner


def remove_partner(db: Session, partner: Partner, *, account_id: int | None, today: date) -> None:
    """Mark a partner removed: no pack goes to it any more.

    WHY the row stays: the audit log's referral events name it by id, and
    who received which case must stay answerable after the partnership ends.
    """
    if partner.removed_on is not None:
        raise PartnerRefused("removed")
    partner.removed_on = today
    audit.record(db, actor=_actor(account_id), action="partner.removed", detail=detail_of(partner))
