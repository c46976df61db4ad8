"""Who sent it: checking the submitter's statements on messages and files.

Messages and files from the submitter are sealed to the report's inbox
PUBLIC key, which the database holds, so a seal alone proves nothing about
the sender (anyone who can write the database can seal).  Since statements
(:mod:`registry.crypto.statements`), each one also carries a signature by
the receipt-derived signing key, inside the sealed plaintext, and the
verify key is stored in the report's ``answers`` record under the data key
(:mod:`registry.records.texts`).  Reviewers see which items verify.

Reports stored before this have no verify key.  WHY they still open and
download: no offline migration is possible (signing needs the receipt,
which only the submitter holds), so their items are shown as "could not be
verified" but are served as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from registry.crypto import (
    STATEMENT_LENGTH,
    CannotOpen,
    content_digest,
    open_field,
    sign_statement,
    verify_statement,
)
from registry.models import Report, SealedField
from registry.records.texts import decode_verify_key
from registry.records.vocabulary import ANSWERS, NARRATIVE

# WHY 0xFF starts a signed message: no UTF-8 text starts with it, so a
# message stored before statements (bare text) is never read as framed.
_FRAMED = b"\xff"


@dataclass(frozen=True)
class SubmitterKey:
    """The verify key of a report's submitter, as far as it can be trusted.

    ``public`` is None when the report has no usable key; then ``legacy``
    says whether that is because it was stored before statements (items are
    served, unverified) or because the record holding it is damaged or gone
    (items are not served: a forger must not downgrade a report).
    """

    public: bytes | None
    legacy: bool = False

    def verifies(
        self, statement: bytes | None, *, report_id: str, kind: str, item_id: str, digest: bytes
    ) -> bool:
        """Whether ``statement`` is the submitter's signature over this item."""
        if self.public is None or statement is None:
            return False
        return verify_statement(
            self.public, statement, report_id=report_id, kind=kind, item_id=item_id, digest=digest
        )


def submitter_key(db: Session, report: Report, dek: bytes) -> SubmitterKey:
    """The report's verify key, opened with its data key (see :class:`SubmitterKey`)."""
    record = db.get(SealedField, (report.id, ANSWERS))
    if record is None:
        narrative = db.get(SealedField, (report.id, NARRATIVE))
        opened = False
        if narrative is not None:
            try:
                open_field(dek, narrative.ciphertext, report_id=report.public_id, field=NARRATIVE)
                opened = True
            except CannotOpen:
                pass
        return key_from_record(None, has_record=False, narrative_opened=opened)
    try:
        plaintext = open_field(dek, record.ciphertext, report_id=report.public_id, field=ANSWERS)
    except CannotOpen:
        plaintext = None
    return key_from_record(plaintext, has_record=True, narrative_opened=False)


def key_from_record(
    record: bytes | None, *, has_record: bool, narrative_opened: bool
) -> SubmitterKey:
    """The verify key from an :data:`ANSWERS` record the caller already opened.

    ``record`` is its plaintext (None: it failed its check).  Without a
    record, the layout of a row per text predates statements; it counts as
    such only if its narrative opened under this report's key (a forger
    cannot make one), else the record was removed: damage.
    """
    if not has_record:
        return SubmitterKey(None, legacy=narrative_opened)
    if record is None:
        return SubmitterKey(None)
    try:
        key = decode_verify_key(record)
    except CannotOpen:
        return SubmitterKey(None)
    # An authentic record without a key was written before statements.
    return SubmitterKey(key, legacy=key is None)


def message_digest(text: bytes) -> bytes:
    """What a message's statement covers: the SHA-256 of its text."""
    return content_digest(text)


def frame_message(seed: bytes, *, report_id: str, message_id: str, text: bytes) -> bytes:
    """The plaintext of a submitter message's staff copy: marker, statement, text."""
    statement = sign_statement(
        seed, report_id=report_id, kind="message", item_id=message_id, digest=message_digest(text)
    )
    return _FRAMED + statement + text


def split_message(plaintext: bytes) -> tuple[bytes | None, bytes]:
    """The statement (None for an unsigned message) and the text of a staff copy."""
    if plaintext[:1] != _FRAMED:
        return None, plaintext
    body = plaintext[1:]
    if len(body) < STATEMENT_LENGTH:
        # Marked as signed, yet too short: show the rest, never verified.
        return b"", body
    return body[:STATEMENT_LENGTH], body[STATEMENT_LENGTH:]


def file_digest(key: bytes, meta: Mapping[str, object]) -> bytes:
    """What a file's statement covers: its key, custody hash, stored hash, name, type, size.

    WHY the key and both hashes: a download checks the blob against them,
    so the signed tuple pins the very bytes a reviewer receives.
    """
    return content_digest(
        key,
        str(meta.get("sha256", "")),
        str(meta.get("stored_sha256") or ""),
        str(meta.get("name", "")),
        str(meta.get("type", "")),
        str(meta.get("size", "")),
        "scrubbed" if meta.get("scrubbed") else "kept",
    )
