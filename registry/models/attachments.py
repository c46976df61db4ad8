"""Attachments: sealed blobs on disk, sealed metadata in the database."""

from __future__ import annotations

from datetime import date

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from registry.models.base import Base, RowId, random_row_id


class Attachment(Base):
    """One file of a report.

    The file is sealed chunk by chunk (STREAM) under its own random key; that
    key and the metadata (original name, media type, SHA-256 of the original,
    whether location data was removed) are sealed to the report's inbox key,
    so the submitter can add files later without holding the report key.
    Nothing about the file is plain except that it exists.
    """

    __tablename__ = "attachments"
    __table_args__ = (UniqueConstraint("report_id", "seq"),)

    # Random: files added later must not be dated by their place among other
    # rows (see random_row_id).
    id: Mapped[int] = mapped_column(RowId, primary_key=True, default=random_row_id)
    public_id: Mapped[str] = mapped_column(String(16), unique=True)
    report_id: Mapped[int] = mapped_column(
        RowId, ForeignKey("reports.id", ondelete="CASCADE"), index=True
    )
    # Upload order within this report (1, 2, …), for listing the files.
    seq: Mapped[int]
    # File name of the sealed blob in the storage directory (random).
    blob: Mapped[str] = mapped_column(String(64), unique=True)
    sealed_key: Mapped[bytes]
    sealed_meta: Mapped[bytes]
    # Day only, like every submitter-caused time (promise 3).
    added_on: Mapped[date]
