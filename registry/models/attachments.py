"""Attachments: sealed blobs on disk, sealed metadata in the database."""

from __future__ import annotations

from datetime import date

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from registry.models.base import Base


class Attachment(Base):
    """One file of a report.

    The file is sealed chunk by chunk (STREAM) under its own random key; that
    key and the metadata (original name, media type, SHA-256 of the original,
    whether location data was removed) are sealed to the report's inbox key,
    so the submitter can add files later without holding the report key.
    Nothing about the file is plain except that it exists.
    """

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(16), unique=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    # File name of the sealed blob in the storage directory (random).
    blob: Mapped[str] = mapped_column(String(64), unique=True)
    sealed_key: Mapped[bytes]
    sealed_meta: Mapped[bytes]
    # Day only, like every submitter-caused time (promise 3).
    added_on: Mapped[date]
