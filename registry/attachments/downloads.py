"""Sending a file to a reviewer: verified whole first, then streamed with safe headers."""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.attachments.service import (
    AttachmentRejected,
    AttachmentView,
    FileDamaged,
    inbox_private,
    opened_row,
)
from registry.attachments.sniff import SNIFF_BYTES
from registry.attachments.sniff import sniff as sniff_media_type
from registry.attachments.storage import BlobStore
from registry.attachments.verify import second_pass, verify
from registry.crypto import CannotOpen
from registry.models import Attachment, Report
from registry.records.authorship import submitter_key

# WHY a policy of its own for an inline photo: the response is only an
# image, so nothing in it may load, run or style anything else, and
# ``sandbox`` gives it an origin of its own should a browser ever render it
# as a document.
PREVIEW_CSP = (
    "default-src 'none'; img-src 'self'; style-src 'none'; frame-ancestors 'none'; sandbox"
)


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII fallback and the RFC 5987 UTF-8 name.

    Control characters, quotes and path separators are dropped, so a file
    name chosen by anyone cannot inject a header or a path.
    """
    cleaned = "".join(c for c in name if c.isprintable() and c not in '"\\/;') or "file"
    ascii_name = cleaned.encode("ascii", "replace").decode().replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(cleaned)}"


@dataclass(frozen=True)
class VerifiedFile:
    """A file checked whole; ``chunks`` sends it again (see registry.attachments.verify)."""

    view: AttachmentView
    chunks: Generator[bytes, None, None]
    # The first plaintext bytes, for sniffing.
    head: bytes


def _verified(
    db: Session,
    report: Report,
    dek: bytes,
    public_id: str,
    store: BlobStore,
    accept: Callable[[AttachmentView], bool] = lambda _view: True,
) -> VerifiedFile:
    """Open one attachment and check all of its blob; FileDamaged if anything fails.

    A file whose submitter statement does not verify is FileDamaged too,
    before its blob is opened, unless the report predates statements.

    ``accept`` refuses (AttachmentRejected) by the metadata before the blob
    is read.  Nothing is audited here: the caller audits only a file that
    passed, then sends it.
    """
    row = db.scalars(
        select(Attachment).where(
            Attachment.report_id == report.id, Attachment.public_id == public_id
        )
    ).first()
    if row is None:
        raise AttachmentRejected("missing", public_id)
    try:
        # One inbox unseal and one metadata open: only this file's row.
        view, key = opened_row(
            row, report, inbox_private(db, report, dek), submitter_key(db, report, dek)
        )
    except CannotOpen:
        raise FileDamaged() from None
    if not view.servable:
        # WHY refuse before any byte: anyone who can write the database can
        # seal a file (and a matching custody hash) to the inbox key; only
        # the receipt holder can sign it.  An unsigned file in a report with
        # a verify key is a forgery, and a reviewer must not open it.
        raise FileDamaged()
    if not accept(view):
        raise AttachmentRejected("preview", public_id)
    try:
        blob = store.open(row.blob)
    except (FileNotFoundError, ValueError):  # gone, or a row naming no blob of ours
        raise FileDamaged() from None
    try:
        first = verify(blob, key, row.public_id, view.expected)
    except CannotOpen:
        blob.close()
        raise FileDamaged() from None
    except BaseException:
        blob.close()
        raise
    return VerifiedFile(view, second_pass(blob, key, row.public_id), first[:SNIFF_BYTES])


def open_for_staff(
    db: Session, report: Report, dek: bytes, public_id: str, store: BlobStore
) -> tuple[AttachmentView, Generator[bytes, None, None]]:
    """An attachment's metadata and its plaintext chunks, verified whole first.

    Raises FileDamaged (nothing read is kept) if the key, the metadata or
    any chunk of the blob fails, or its size or SHA-256 differ.
    """
    found = _verified(db, report, dek, public_id, store)
    return found.view, found.chunks


def open_preview(
    db: Session, report: Report, dek: bytes, public_id: str, store: BlobStore
) -> tuple[AttachmentView, Generator[bytes, None, None]]:
    """Like :func:`open_for_staff`, only for a photo the registry cleaned.

    Anything else (a photo kept as sent, a PDF, a video) raises
    :class:`AttachmentRejected` before its blob is opened.
    """
    found = _verified(db, report, dek, public_id, store, lambda view: view.previewable)
    # WHY sniff the decrypted bytes again: the Content-Type sent must be
    # the type of the bytes served, not only what the sealed metadata says.
    # (Chunks hold at least 1 KiB, so the first one has every byte sniff needs.)
    if sniff_media_type(found.head) != found.view.media_type:
        found.chunks.close()
        raise AttachmentRejected("type", public_id)
    return found.view, found.chunks
