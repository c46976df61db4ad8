"""Reports: plain triage columns, sealed fields and key wraps (docs/sealed-and-plain.md#reports)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.models.base import NO_ROWID, Base, RowId, random_row_id

if TYPE_CHECKING:
    from registry.models.evidence import CaseSummary
    from registry.models.retention import RetentionHold


class Status(StrEnum):
    """Where a case is in triage."""

    NEW = "new"
    IN_REVIEW = "in-review"
    NEEDS_INFO = "needs-info"
    VERIFIED = "verified"
    CLOSED = "closed"


# Plain columns the queue filters and counts on (besides received_on and id).
_FACET_COLUMNS = ("status", "region", "urgent", "language", "assignee_id", "place", "unit")
# What else the queue's table shows of each report (registry.review.queue.SHOWN).
_SHOWN_COLUMNS = ("public_id", "incident_month")


def _others(*leading: str) -> tuple[str, ...]:
    return tuple(column for column in _FACET_COLUMNS if column not in leading)


class Report(Base):
    """One submission.  Only coarse, queryable facts are plain."""

    __tablename__ = "reports"
    # The queue (registry.review.queue) filters on every plain column and
    # sorts newest first; its facet counts come from a per-worker bitmap
    # snapshot (registry.review.facets) built by one scan.  A report row is
    # wide (two public keys of ~1.2 KB), so reading rows to filter or count
    # costs ~1-3 µs each and 100,000 of them blow the page budget.  Hence:
    # - one index per filterable column, leading with it and then
    #   (received_on, id), so a filtered page is read in order;
    # - every one of them carries all the other facet columns too (covering),
    #   so counts and filters never touch the wide rows;
    # - ix_reports_by_id looks reports up by id through the same narrow
    #   columns (the violation and proposal filters are id lists), and
    #   holds what the queue's table shows besides (public id and month),
    #   so a page's 50 rows are read from it alone (0011);
    # - ix_reports_month orders by month, covering the filters too (0011).
    __table_args__ = (
        Index("ix_reports_received", "received_on", "id", *_FACET_COLUMNS),
        Index("ix_reports_status_received", "status", "received_on", "id", *_others("status")),
        Index("ix_reports_region_received", "region", "received_on", "id", *_others("region")),
        Index(
            "ix_reports_status_region_received",
            "status",
            "region",
            "received_on",
            "id",
            *_others("status", "region"),
        ),
        Index("ix_reports_urgent_received", "urgent", "received_on", "id", *_others("urgent")),
        Index("ix_reports_place_received", "place", "received_on", "id", *_others("place")),
        Index("ix_reports_unit_received", "unit", "received_on", "id", *_others("unit")),
        Index(
            "ix_reports_language_received", "language", "received_on", "id", *_others("language")
        ),
        Index(
            "ix_reports_assignee_received",
            "assignee_id",
            "received_on",
            "id",
            *_others("assignee_id"),
        ),
        Index("ix_reports_month", "incident_month", "id", *_FACET_COLUMNS),
        Index("ix_reports_by_id", "id", "received_on", *_FACET_COLUMNS, *_SHOWN_COLUMNS),
        # The follow-up page lists the receipt costs in use by seeking the
        # next larger value, one index probe per cost (a handful), instead
        # of reading every report (registry.followup.service.receipt_costs).
        Index("ix_reports_receipt_params", "receipt_params"),
    )

    # Random (see random_row_id): a seized database must not order, or
    # date against the audit log, the reports of one day.
    id: Mapped[int] = mapped_column(RowId, primary_key=True, default=random_row_id)
    # Random, not sequential: the id reveals neither volume nor order.
    public_id: Mapped[str] = mapped_column(String(16), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=Status.NEW.value)
    urgent: Mapped[bool] = mapped_column(default=False)
    # Set when the case is closed: a code from the "dispositions" vocabulary.
    disposition: Mapped[str | None] = mapped_column(String(32))
    # The day the case was last closed (NULL while open): retention counts
    # from it (registry.retention).  Day only, like every other plain date.
    closed_on: Mapped[date | None]
    # The day the retention job deleted the case's sealed content, keeping
    # only the plain codes published statistics need (REGISTRY_RETENTION_KEEP
    # = "codes"); NULL while the content is kept.
    purged_on: Mapped[date | None]
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    region: Mapped[str] = mapped_column(String(32))
    # Coarse codes for triage; exact place, names and descriptions are sealed.
    place: Mapped[str | None] = mapped_column(String(32))
    unit: Mapped[str | None] = mapped_column(String(32))
    reporter_role: Mapped[str | None] = mapped_column(String(16))
    # "YYYY-MM"; the exact date is sealed.
    incident_month: Mapped[str | None] = mapped_column(String(7))
    # Day only: a time of receipt could be joined with a network log.
    received_on: Mapped[date]
    language: Mapped[str] = mapped_column(String(5))
    # Derived from the receipt by a slow KDF; reveals nothing about it.
    lookup_id: Mapped[bytes] = mapped_column(unique=True)
    # The Argon2id cost the receipt was derived with (Argon2Params.encode, 12
    # bytes), so raising the cost later leaves every older receipt working:
    # the follow-up page tries each cost still in use.  NULL on reports filed
    # before 0013, which all used the cost configured then (``registry init``
    # fills it in).  Plain: the cost is the same for everyone filed that day.
    receipt_params: Mapped[bytes | None]
    submitter_public_key: Mapped[bytes]
    # The report's own "inbox" key: anyone may seal to it (the submitter
    # adding a message later, without the data key); its private half is a
    # sealed field under the data key, so it opens exactly for key holders.
    inbox_public_key: Mapped[bytes]
    # What the submitter allows (docs/sealed-and-plain.md): how staff may contact them
    # ("receipt" page only, or a sealed "contact" they gave, or "none"),
    # publishing an anonymised summary, referral to partners or UN mechanisms.
    consent_contact: Mapped[str] = mapped_column(String(16), default="receipt")
    consent_publish: Mapped[bool] = mapped_column(default=False)
    consent_refer: Mapped[bool] = mapped_column(default=False)

    violations: Mapped[list[ReportViolation]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="ReportViolation.code"
    )
    flags: Mapped[list[ReportFlag]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="ReportFlag.code"
    )
    fields: Mapped[list[SealedField]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True
    )
    wraps: Mapped[list[KeyWrap]] = relationship(cascade="all, delete-orphan", passive_deletes=True)
    # Read-only views of the one-per-case rows the case page shows, so that
    # page can load them with the report in one statement (joinedload)
    # instead of one query each.  Written only by their services
    # (registry.retention.holds, registry.evidence.summaries).
    hold: Mapped[RetentionHold | None] = relationship(viewonly=True)
    summary: Mapped[CaseSummary | None] = relationship(viewonly=True)


class ReportViolation(Base):
    """A violation-type code attached to a report (plain, for filtering)."""

    __tablename__ = "report_violations"
    # No counting rowid on SQLite: rows sit in (random report id) order (see NO_ROWID).
    __table_args__ = NO_ROWID

    report_id: Mapped[int] = mapped_column(
        RowId, ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)


class ReportFlag(Base):
    """A flag about the victim or the case (child, journalist, still detained…)."""

    __tablename__ = "report_flags"
    # No counting rowid on SQLite: rows sit in (random report id) order (see NO_ROWID).
    __table_args__ = NO_ROWID

    report_id: Mapped[int] = mapped_column(
        RowId, ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)


class SealedField(Base):
    """One sealed field of a report: AEAD under the report's data key."""

    __tablename__ = "sealed_fields"
    # No counting rowid on SQLite: rows sit in (random report id) order (see NO_ROWID).
    __table_args__ = NO_ROWID

    report_id: Mapped[int] = mapped_column(
        RowId, ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    ciphertext: Mapped[bytes]


class KeyWrap(Base):
    """The report's data key, HPKE-wrapped to one staff account or to escrow.

    Access control is this row: no wrap, no key (promise 6, docs/threat-model.md#promise-6).
    """

    __tablename__ = "key_wraps"
    __table_args__ = (UniqueConstraint("report_id", "account_id", "escrow"),)

    # Random: the wraps made at submission sit among the wraps of grants,
    # whose times the audit log keeps (see random_row_id).
    id: Mapped[int] = mapped_column(RowId, primary_key=True, default=random_row_id)
    report_id: Mapped[int] = mapped_column(RowId, ForeignKey("reports.id", ondelete="CASCADE"))
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    escrow: Mapped[bool] = mapped_column(default=False)
    # For an escrow wrap: the fingerprint of the escrow public key it was made
    # to (registry.keyring.escrow_fingerprint), so after `registry escrow
    # rotate` the status can say how many reports still depend on the old key.
    # NULL on escrow wraps made before 0013 (all to the one key there was).
    escrow_key: Mapped[str | None] = mapped_column(String(16))
    wrapped: Mapped[bytes]
