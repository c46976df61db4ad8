"""Checking, sealing to the report, listing and opening attachments."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Generator, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.attachments.imageplan import CleaningBudget, OverBudget, TooLarge
from registry.attachments.plainreader import SealedReader
from registry.attachments.sniff import SNIFF_BYTES
from registry.attachments.sniff import sniff as sniff_media_type
from registry.attachments.storage import BlobStore
from registry.attachments.upload import UPLOAD_CONTEXT, SealedUpload
from registry.crypto import (
    open_field,
    open_stream,
    open_with_private_key,
    seal_to_public_key,
)
from registry.crypto.stream import DEFAULT_CHUNK_SIZE, StreamSealer
from registry.models import Attachment, Report, SealedField
from registry.positions import next_position
from registry.slots import Slots

FILE_NAME_MAX = 200
# Photo formats the scrubber can re-encode without metadata.
SCRUBBABLE = frozenset({"image/jpeg", "image/png", "image/webp"})
# Photo formats accepted but not cleanable here (Pillow cannot write HEIC).
UNCLEANABLE_PHOTOS = frozenset({"image/heic"})


@dataclass
class CleaningLimits:
    """What cleaning the photos of one request may take: its budget, the worker's slots."""

    budget: CleaningBudget
    slots: Slots

    def slot(self) -> AbstractContextManager[None]:
        """One of the worker's cleaning slots (raises Busy when none frees up)."""
        return self.slots.hold()


class AttachmentRejected(ValueError):
    """A file that cannot be accepted; ``reason`` is a code for the message."""

    def __init__(self, reason: str, name: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.name = name


@dataclass
class Prepared:
    """An accepted upload, sealed in ``tmp/``, with what will be sealed about it."""

    upload: SealedUpload
    name: str
    media_type: str
    original_sha256: str
    size: int
    scrubbed: bool


@dataclass(frozen=True)
class AttachmentView:
    """What a reviewer sees of an attachment (opened for this request)."""

    public_id: str
    name: str
    media_type: str
    size: int
    original_sha256: str
    scrubbed: bool

    @property
    def previewable(self) -> bool:
        """A photo the registry re-encoded itself, so safe to show inline.

        WHY only these: their bytes were written here by the scrubber, as a
        fresh JPEG, PNG or WebP; no uploader chose them (a polyglot, a page
        named photo.jpg), so a browser renders only pixels made here.
        """
        return self.scrubbed and self.media_type in SCRUBBABLE


def prepare(
    upload: SealedUpload, name: str, store: BlobStore, *, cleaning: CleaningLimits | None
) -> Prepared:
    """Check an upload by its content and, for photos, remove location data.

    The type comes from the first bytes (never from the name or the
    browser's claim).  When the person chose it (``cleaning`` given), a
    photo is decoded and re-encoded without EXIF/XMP/GPS within the
    request's budget and one of the worker's slots, and sealed again; the
    original's SHA-256 is kept (sealed) for the chain of custody.  Raises
    AttachmentRejected, or Busy when no cleaning slot freed up in time.
    """
    info = upload.finish()
    name = (name or "").strip()[-FILE_NAME_MAX:] or "file"
    if upload.refused:
        raise AttachmentRejected(upload.refused, name)
    if info.plaintext_size == 0:
        raise AttachmentRejected("empty", name)
    media_type = sniff_media_type(upload.head)
    if media_type is None:
        raise AttachmentRejected("type", name)
    prepared = Prepared(upload, name, media_type, info.sha256_hex, info.plaintext_size, False)
    if cleaning is not None and media_type in UNCLEANABLE_PHOTOS:
        # The person asked for location data to be removed and we cannot do
        # it for this format: refuse rather than store the GPS tag silently.
        raise AttachmentRejected("uncleanable", name)
    if cleaning is not None and media_type in SCRUBBABLE:
        _scrub(prepared, store, cleaning)
    return prepared


def _scrub(prepared: Prepared, store: BlobStore, cleaning: CleaningLimits) -> None:
    from registry.attachments.scrub import scrub_image

    upload = prepared.upload
    with store.incoming_path(upload.blob).open("rb") as sealed:

        def chunks() -> Generator[bytes, None, None]:
            sealed.seek(0)
            yield from open_stream(
                upload.key, sealed, report_id=UPLOAD_CONTEXT, attachment_id=upload.attachment_id
            )

        # WHY read through the sealed blob: the original is never written in
        # the clear, and never held whole in memory either (a 50 MB file
        # would add 50 MB to the decoded pixels); one chunk at a time.
        reader = SealedReader(chunks, prepared.size)
        with io.BufferedReader(reader, DEFAULT_CHUNK_SIZE) as source:
            try:
                cleaned = scrub_image(
                    source, prepared.media_type, budget=cleaning.budget, slot=cleaning.slot()
                )
            except OverBudget:
                raise AttachmentRejected("budget", prepared.name) from None
            except TooLarge:
                raise AttachmentRejected("too-large", prepared.name) from None
            except (ValueError, RuntimeError):
                raise AttachmentRejected("image", prepared.name) from None
    # A fresh key for the cleaned copy: the original was sealed under the
    # upload's key, and nobody who can open the kept file may be able to
    # open a stray copy of the original with it.
    key = os.urandom(32)
    cleaned_blob = store.new_incoming()
    try:
        _seal_into(cleaned_blob.sink, cleaned, key, upload.attachment_id)
        cleaned_blob.finish()
    except BaseException:
        store.discard_incoming([cleaned_blob.name])
        cleaned_blob.release()
        raise
    upload.key = key
    original = upload.replace_blob(cleaned_blob)
    store.shred_incoming(original.name)
    original.release()
    prepared.size = len(cleaned)
    prepared.scrubbed = True


def _seal_into(sink: BinaryIO, data: bytes, key: bytes, attachment_id: str) -> None:
    sealer = StreamSealer(key, sink, report_id=UPLOAD_CONTEXT, attachment_id=attachment_id)
    view = memoryview(data)
    # A chunk at a time: the sealer's buffer never holds a second copy.
    for start in range(0, len(view), DEFAULT_CHUNK_SIZE):
        sealer.write(bytes(view[start : start + DEFAULT_CHUNK_SIZE]))
    sealer.finish()


def _purpose(kind: str, attachment_id: str) -> str:
    return f"{kind}:{attachment_id}"


def attach(db: Session, report: Report, files: list[Prepared], *, today: date) -> list[Attachment]:
    """Add rows for prepared files; the file keys and names sealed to the inbox key."""
    rows = []
    first = next_position(db, Attachment, report.id) if files else 0
    for position, item in enumerate(files, start=first):
        aid = item.upload.attachment_id
        meta = {
            "name": item.name,
            "type": item.media_type,
            "size": item.size,
            "sha256": item.original_sha256,
            "scrubbed": item.scrubbed,
        }
        rows.append(
            Attachment(
                public_id=aid,
                report_id=report.id,
                seq=position,
                blob=item.upload.blob,
                added_on=today,
                sealed_key=seal_to_public_key(
                    item.upload.key,
                    report.inbox_public_key,
                    report_id=report.public_id,
                    purpose=_purpose("attachment-key", aid),
                ),
                sealed_meta=seal_to_public_key(
                    json.dumps(meta).encode(),
                    report.inbox_public_key,
                    report_id=report.public_id,
                    purpose=_purpose("attachment-meta", aid),
                ),
            )
        )
    db.add_all(rows)
    return rows


def add_report_files(
    db: Session, report: Report, files: list[Prepared], store: BlobStore, *, today: date
) -> None:
    """Attach files to an existing report and commit; no orphan blob on failure."""
    kept: list[str] = []
    try:
        attach(db, report, files, today=today)
        db.flush()
        for item in files:
            store.keep(item.upload.blob)
            kept.append(item.upload.blob)
        db.commit()
    except Exception:
        db.rollback()
        store.discard(kept)
        raise


def _inbox_private(db: Session, report: Report, dek: bytes) -> bytes:
    from registry.intake.service import INBOX_KEY

    field = db.get(SealedField, (report.id, INBOX_KEY))
    if field is None:
        raise AttachmentRejected("missing", "")
    return open_field(dek, field.ciphertext, report_id=report.public_id, field=INBOX_KEY)


def _view(row: Attachment, report: Report, inbox: bytes) -> AttachmentView:
    meta = json.loads(
        open_with_private_key(
            row.sealed_meta,
            inbox,
            report_id=report.public_id,
            purpose=_purpose("attachment-meta", row.public_id),
        )
    )
    return AttachmentView(
        row.public_id, meta["name"], meta["type"], meta["size"], meta["sha256"], meta["scrubbed"]
    )


def list_for_staff(db: Session, report: Report, dek: bytes) -> list[AttachmentView]:
    """Every attachment of the report with its opened metadata."""
    rows = list(
        db.scalars(
            # Upload order: ids are random.
            select(Attachment).where(Attachment.report_id == report.id).order_by(Attachment.seq)
        )
    )
    if not rows:
        return []
    inbox = _inbox_private(db, report, dek)
    return [_view(row, report, inbox) for row in rows]


def _opened(
    db: Session, report: Report, dek: bytes, public_id: str
) -> tuple[Attachment, AttachmentView, bytes]:
    """One attachment's row, opened metadata and file key."""
    row = db.scalars(
        select(Attachment).where(
            Attachment.report_id == report.id, Attachment.public_id == public_id
        )
    ).first()
    if row is None:
        raise AttachmentRejected("missing", public_id)
    # One inbox unseal and one metadata open: only this file's row.
    inbox = _inbox_private(db, report, dek)
    view = _view(row, report, inbox)
    key = open_with_private_key(
        row.sealed_key,
        inbox,
        report_id=report.public_id,
        purpose=_purpose("attachment-key", public_id),
    )
    return row, view, key


def _chunks(store: BlobStore, row: Attachment, key: bytes) -> Generator[bytes, None, None]:
    blob = store.open(row.blob)

    def chunks() -> Generator[bytes, None, None]:
        with blob:
            yield from open_stream(key, blob, report_id=UPLOAD_CONTEXT, attachment_id=row.public_id)

    return chunks()


def open_for_staff(
    db: Session, report: Report, dek: bytes, public_id: str, store: BlobStore
) -> tuple[AttachmentView, Iterator[bytes]]:
    """An attachment's metadata and a generator of its verified plaintext chunks."""
    row, view, key = _opened(db, report, dek, public_id)
    return view, _chunks(store, row, key)


def open_preview(
    db: Session, report: Report, dek: bytes, public_id: str, store: BlobStore
) -> tuple[AttachmentView, Iterator[bytes]]:
    """Like :func:`open_for_staff`, only for a photo the registry cleaned.

    Anything else (a photo kept as sent, a PDF, a video) raises
    :class:`AttachmentRejected` before its blob is opened.
    """
    row, view, key = _opened(db, report, dek, public_id)
    if not view.previewable:
        raise AttachmentRejected("preview", public_id)
    chunks = _chunks(store, row, key)
    # Chunks hold at least 1 KiB, so the first one has every byte sniff needs.
    first = next(chunks, b"")
    # WHY sniff the decrypted bytes again: the Content-Type sent must be
    # the type of the bytes served, not only what the sealed metadata says.
    if sniff_media_type(first[:SNIFF_BYTES]) != view.media_type:
        chunks.close()
        raise AttachmentRejected("type", public_id)
    return view, _prepended(first, chunks)


def _prepended(first: bytes, rest: Generator[bytes, None, None]) -> Generator[bytes, None, None]:
    # A generator (not itertools.chain) so that closing the response closes
    # the blob too, even when it stops after the first chunk.
    try:
        yield first
        yield from rest
    finally:
        rest.close()


def blobs_of(db: Session, report: Report) -> list[str]:
    """Blob names of a report (to delete the files when it is withdrawn)."""
    return list(db.scalars(select(Attachment.blob).where(Attachment.report_id == report.id)))
