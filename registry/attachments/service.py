"""Checking, sealing to the report, listing and opening attachments."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Generator
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, BinaryIO

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from registry.attachments.imageplan import CleaningBudget, OverBudget, TooLarge
from registry.attachments.plainreader import SealedReader
from registry.attachments.sniff import sniff as sniff_media_type
from registry.attachments.storage import BlobStore
from registry.attachments.upload import UPLOAD_CONTEXT, SealedUpload
from registry.attachments.verify import Expected
from registry.crypto import (
    STREAM_CHUNK_SIZE,
    CannotOpen,
    StreamInfo,
    StreamSealer,
    open_field,
    open_stream,
    open_with_private_key,
    seal_to_public_key,
    sign_statement,
)
from registry.models import Attachment, Report, SealedField
from registry.records.authorship import SubmitterKey, file_digest
from registry.records.integrity import Damage
from registry.records.positions import next_position
from registry.records.vocabulary import INBOX_KEY, purpose
from registry.serving.slots import Slots

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


class FileDamaged(Exception):
    """The file, its sealed key or its metadata failed the integrity check."""


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
    # SHA-256 of what is stored, when that is not the original (a cleaned photo).
    stored_sha256: str | None = None


@dataclass(frozen=True)
class AttachmentView:
    """What a reviewer sees of an attachment (opened for this request).

    ``intact`` is False for a file whose key or metadata failed its
    integrity check: then only its id is known, and nothing may be offered.
    ``verified`` is True when the submitter's statement over the file's key,
    hashes, name, type and size verifies (registry.records.authorship); ``legacy``
    when the report predates statements, so no file of it can verify.
    """

    public_id: str
    name: str
    media_type: str
    size: int
    original_sha256: str
    scrubbed: bool
    intact: bool = True
    # SHA-256 of the stored plaintext, for a cleaned photo stored since it is kept.
    stored_sha256: str | None = None
    verified: bool = False
    legacy: bool = False

    @property
    def servable(self) -> bool:
        """Whether the file may be downloaded: intact, and verified (or of an older report).

        WHY legacy files are still served: without the receipt nobody can
        sign them afterwards, and refusing would hide every older file.
        """
        return self.intact and (self.verified or self.legacy)

    @classmethod
    def damaged(cls, public_id: str) -> AttachmentView:
        """A file listed only as having failed its integrity check."""
        return cls(public_id, "", "", 0, "", scrubbed=False, intact=False)

    @property
    def expected(self) -> Expected:
        """What the stored plaintext must be: its size and, when known, its SHA-256."""
        if self.stored_sha256 is not None:
            return Expected(self.size, self.stored_sha256)
        # A file kept as sent is stored as its original: the custody hash is its hash.
        return Expected(self.size, None if self.scrubbed else self.original_sha256)

    @property
    def previewable(self) -> bool:
        """A photo the registry re-encoded itself, so safe to show inline.

        WHY only these: their bytes were written here by the scrubber, as a
        fresh JPEG, PNG or WebP; no uploader chose them (a polyglot, a page
        named photo.jpg), so a browser renders only pixels made here.
        """
        return self.servable and self.scrubbed and self.media_type in SCRUBBABLE


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
        with io.BufferedReader(reader, STREAM_CHUNK_SIZE) as source:
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
        stored = _seal_into(cleaned_blob.sink, cleaned, key, upload.attachment_id)
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
    prepared.stored_sha256 = stored.sha256_hex


def _seal_into(sink: BinaryIO, data: bytes, key: bytes, attachment_id: str) -> StreamInfo:
    sealer = StreamSealer(key, sink, report_id=UPLOAD_CONTEXT, attachment_id=attachment_id)
    view = memoryview(data)
    # A chunk at a time: the sealer's buffer never holds a second copy.
    for start in range(0, len(view), STREAM_CHUNK_SIZE):
        sealer.write(bytes(view[start : start + STREAM_CHUNK_SIZE]))
    return sealer.finish()


def attach(
    db: Session, report: Report, files: list[Prepared], *, today: date, signing_seed: bytes
) -> list[Attachment]:
    """Add rows for prepared files; the file keys and names sealed to the inbox key.

    Each file's metadata carries the submitter's statement, signed with the
    receipt's ``signing_seed`` (registry.records.authorship.file_digest).
    """
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
        if item.stored_sha256 is not None:
            # WHY: the custody hash is the original's; this one lets a
            # download check the cleaned copy it sends (registry.attachments.verify).
            meta["stored_sha256"] = item.stored_sha256
        # WHY a signature inside the sealed metadata: sealing to the inbox
        # public key proves nothing (the database holds it); the statement
        # proves the receipt holder sent this key, these hashes and this name.
        meta["sig"] = sign_statement(
            signing_seed,
            report_id=report.public_id,
            kind="file",
            item_id=aid,
            digest=file_digest(item.upload.key, meta),
        ).hex()
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
                    purpose=purpose("attachment-key", aid),
                ),
                sealed_meta=seal_to_public_key(
                    json.dumps(meta).encode(),
                    report.inbox_public_key,
                    report_id=report.public_id,
                    purpose=purpose("attachment-meta", aid),
                ),
            )
        )
    db.add_all(rows)
    return rows


def add_report_files(
    db: Session,
    report: Report,
    files: list[Prepared],
    store: BlobStore,
    *,
    today: date,
    signing_seed: bytes,
) -> None:
    """Attach files to an existing report and commit; no orphan blob on failure."""
    try:
        attach(db, report, files, today=today, signing_seed=signing_seed)
        db.flush()
    except Exception:
        db.rollback()
        raise
    store.keep_and_commit(db, [item.upload.blob for item in files])


def inbox_private(db: Session, report: Report, dek: bytes) -> bytes:
    """The report's inbox private key; CannotOpen if it is damaged or gone."""
    field = db.get(SealedField, (report.id, INBOX_KEY))
    if field is None:
        # Every report is stored with its inbox key: a missing row is damage.
        raise CannotOpen()
    return open_field(dek, field.ciphertext, report_id=report.public_id, field=INBOX_KEY)


def _meta(row: Attachment, report: Report, inbox: bytes) -> dict[str, object]:
    meta = json.loads(
        open_with_private_key(
            row.sealed_meta,
            inbox,
            report_id=report.public_id,
            purpose=purpose("attachment-meta", row.public_id),
        )
    )
    if not isinstance(meta, dict):
        raise TypeError("metadata")
    return meta


def _view(row: Attachment, meta: dict[str, Any]) -> AttachmentView:
    return AttachmentView(
        row.public_id,
        meta["name"],
        meta["type"],
        meta["size"],
        meta["sha256"],
        meta["scrubbed"],
        stored_sha256=meta.get("stored_sha256"),
    )


def opened_row(
    row: Attachment, report: Report, inbox: bytes, signer: SubmitterKey
) -> tuple[AttachmentView, bytes]:
    """An attachment's metadata and file key; CannotOpen if either fails its check.

    The view's ``verified`` says whether the submitter's statement in the
    metadata verifies against ``signer`` for this very key and metadata.
    """
    try:
        meta = _meta(row, report, inbox)
        view = _view(row, meta)
        sig = meta.get("sig")
        statement = bytes.fromhex(sig) if isinstance(sig, str) else None
    except (ValueError, KeyError, TypeError, AttributeError):
        # Authenticated, yet not the metadata this code writes: only a bug
        # or a forged seal gets here; either way the file cannot be trusted.
        raise CannotOpen() from None
    key = open_with_private_key(
        row.sealed_key,
        inbox,
        report_id=report.public_id,
        purpose=purpose("attachment-key", row.public_id),
    )
    verified = signer.verifies(
        statement,
        report_id=report.public_id,
        kind="file",
        item_id=row.public_id,
        digest=file_digest(key, meta),
    )
    return replace(view, verified=verified, legacy=signer.legacy), key


# Built once (registry.records.access says why).
# Upload order: ids are random.
_ATTACHMENTS = (
    select(Attachment)
    .where(Attachment.report_id == bindparam("report_id"))
    .order_by(Attachment.seq)
)


def list_for_staff(
    db: Session, report: Report, dek: bytes, damage: Damage, *, signer: SubmitterKey
) -> list[AttachmentView]:
    """Every attachment of the report with its opened metadata.

    A file whose key or metadata fails its check (or all of them, when the
    inbox key does) is listed as damaged and noted in ``damage`` as part
    ``file``; the other files still show (promise 10).  A file whose
    statement does not verify against ``signer`` is listed unverified and,
    when the report has a verify key, noted as ``file`` too.  The
    blobs are not read here: a damaged blob shows when it is downloaded.
    """
    rows = list(db.scalars(_ATTACHMENTS, {"report_id": report.id}))
    if not rows:
        return []
    try:
        inbox: bytes | None = inbox_private(db, report, dek)
    except CannotOpen:
        inbox = None
    views = []
    for row in rows:
        try:
            if inbox is None:
                raise CannotOpen()
            # WHY open the key too (and drop it): a swapped key would
            # otherwise show a file that then never downloads.
            view, _key = opened_row(row, report, inbox, signer)
            if not view.verified and signer.public is not None:
                # A report with a verify key stores only signed files: this
                # one was put or changed there by someone else.  (Without a
                # key, the record that held it is what is noted damaged.)
                damage.note("file")
        except CannotOpen:
            damage.note("file")
            view = AttachmentView.damaged(row.public_id)
        views.append(view)
    return views


def blobs_of(db: Session, report: Report) -> list[str]:
    """Blob names of a report (to delete the files when it is withdrawn)."""
    return list(db.scalars(select(Attachment.blob).where(Attachment.report_id == report.id)))
