"""Messages between the submitter and the staff, sealed both ways."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from registry.models.base import Base, RowId, random_row_id


class Direction(StrEnum):
    """Who wrote a message."""

    TO_STAFF = "to-staff"
    TO_SUBMITTER = "to-submitter"


class Message(Base):
    """One message of a case.

    Two sealed copies: ``staff_copy`` opens for staff who hold the report's
    key (to the report's inbox key, or under the data key for replies), and
    ``submitter_copy`` opens only with the receipt-derived key.
    """

    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("report_id", "seq"),)

    # Random: a submitter's message must not sit, in id order, between two
    # staff replies whose times the audit log keeps (see random_row_id).
    id: Mapped[int] = mapped_column(RowId, primary_key=True, default=random_row_id)
    # Random: bound into both ciphertexts so a copy cannot move to another message.
    public_id: Mapped[str] = mapped_column(String(16), unique=True)
    report_id: Mapped[int] = mapped_column(
        RowId, ForeignKey("reports.id", ondelete="CASCADE"), index=True
    )
    # Place in this conversation (1, 2, …): the order the conversation shows
    # anyway, and nothing about other reports or about time.
    seq: Mapped[int]
    direction: Mapped[str] = mapped_column(String(16))
    # Day only, like the day of receipt: a submitter's message time could be
    # joined with a network log (promise 3).
    created_on: Mapped[date]
    author_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    staff_copy: Mapped[bytes]
    submitter_copy: Mapped[bytes]
