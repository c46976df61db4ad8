"""Partner organisations that receive referred cases as sealed evidence packs."""

from __future__ import annotations

from datetime import date

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from registry.models.base import Base, RowId, random_row_id


class Partner(Base):
    """A partner organisation (a lawyers' group, a UN mechanism, a documentation NGO).

    Plain by design: it names an organisation, not a person who submitted.
    ``recipients`` are the partner's ``age`` public keys (``age1…``, one per
    line); a pack is encrypted to all of them and to nobody else.  A removed
    partner keeps its row (``removed_on`` set) so the audit log's referral
    events still name who received what; no pack goes to it any more.
    """

    __tablename__ = "partners"

    # Random like every other row id (see random_row_id).
    id: Mapped[int] = mapped_column(RowId, primary_key=True, default=random_row_id)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    # How to reach the partner (a note for coordinators); never a submitter's data.
    contact: Mapped[str] = mapped_column(Text, default="")
    # age X25519 recipients, one per line.
    recipients: Mapped[str] = mapped_column(Text)
    added_on: Mapped[date]
    added_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    removed_on: Mapped[date | None]
