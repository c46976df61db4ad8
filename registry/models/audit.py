"""The append-only, hash-chained audit log (promise 7, docs/threat-model.md#promise-7)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from registry.models.base import Base, UTCDateTime


class AuditEvent(Base):
    """One thing that happened: who did what to which report, and when.

    Rows are written only by :func:`registry.audit.record` and never changed:
    database triggers refuse UPDATE and DELETE, and each row's ``hash`` covers
    its own fields and its predecessor's hash, so a change made around the
    triggers shows up in ``registry audit verify``.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        CheckConstraint("length(prev_hash) = 32", name="prev_hash_length"),
        CheckConstraint("length(hash) = 32", name="hash_length"),
    )

    # The event's position in the chain: 1, 2, 3, … without gaps.  Assigned
    # by record() under the chain lock rather than by a sequence, because a
    # sequence leaves gaps on rollback and a gap must mean "deleted".
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    # UTC, whole seconds for staff actions; midnight for submitter actions
    # (promise 3: a submitter's time could be joined with a network log).
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    # A stable name of who acted ("account:17", "submitter", "system").  The
    # hash covers this string, never ``actor_id``, so removing an account
    # (which clears ``actor_id``) does not break the chain.
    actor: Mapped[str] = mapped_column(String(64))
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(String(64))
    # The report's public id.  Not a foreign key: the reference outlives a
    # withdrawn (deleted) report as a tombstone.
    report_ref: Mapped[str | None] = mapped_column(String(32), index=True)
    # Codes only (a proposal code, a status), never sealed content.
    detail: Mapped[str | None] = mapped_column(String(200))
    # Unique: two events can never claim the same predecessor, so the chain
    # cannot fork even if two writers raced past the lock.
    prev_hash: Mapped[bytes] = mapped_column(unique=True)
    hash: Mapped[bytes] = mapped_column(unique=True)
