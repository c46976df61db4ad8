"""Messages of a case: sealing and opening, for the submitter and the staff.

- From the submitter: the staff copy is sealed to the report's inbox public
  key (the submitter never holds the data key); the submitter's own copy is
  sealed to the receipt-derived key so they can reread what they sent.
- From staff: the staff copy is sealed under the data key; the submitter's
  copy to the receipt-derived key.

Either way the server, which holds neither private key, cannot read them.

A submitter's staff copy also carries their statement (registry.records.authorship):
whoever can write the database can seal to the inbox key, only the receipt
holder can sign, so reviewers see which messages verify (promise 10).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import partial

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from registry import audit
from registry.crypto import (
    open_field,
    open_with_private_key,
    seal_field,
    seal_to_public_key,
)
from registry.models import Direction, Message, Report, SealedField
from registry.records.authorship import SubmitterKey, frame_message, message_digest, split_message
from registry.records.ids import new_public_id
from registry.records.integrity import Damage
from registry.records.positions import next_position
from registry.records.vocabulary import INBOX_KEY, message_field, purpose

MESSAGE_MAX = 20_000


class InvalidMessage(ValueError):
    """Empty or too long."""


@dataclass(frozen=True)
class MessageView:
    """An opened message, for one request only."""

    direction: str
    created_on: date
    # None: the sealed copy failed its integrity check.
    text: str | None
    # From staff (under the data key) or signed by the receipt holder.
    verified: bool = False


def _check(text: str) -> bytes:
    if not text.strip() or len(text) > MESSAGE_MAX:
        raise InvalidMessage()
    return text.encode()


def post_from_submitter(
    db: Session, report: Report, text: str, *, today: date, signing_seed: bytes
) -> Message:
    """Add a message from the submitter to the staff, signed with the receipt's ``signing_seed``."""
    plaintext, mid = _check(text), new_public_id()
    # WHY the statement inside the inbox seal: nothing new shows on disk,
    # and only the receipt holder could have made it (registry.records.authorship).
    signed = frame_message(signing_seed, report_id=report.public_id, message_id=mid, text=plaintext)
    message = Message(
        public_id=mid,
        report_id=report.id,
        seq=next_position(db, Message, report.id),
        direction=Direction.TO_STAFF.value,
        created_on=today,
        staff_copy=seal_to_public_key(
            signed,
            report.inbox_public_key,
            report_id=report.public_id,
            purpose=purpose("inbox", mid),
        ),
        submitter_copy=seal_to_public_key(
            plaintext,
            report.submitter_public_key,
            report_id=report.public_id,
            purpose=purpose("submitter", mid),
        ),
    )
    db.add(message)
    return message


def post_reply(
    db: Session, report: Report, text: str, *, dek: bytes, author_id: int, today: date
) -> Message:
    """Add a reply from staff to the submitter (needs the report's data key)."""
    plaintext, mid = _check(text), new_public_id()
    message = Message(
        public_id=mid,
        report_id=report.id,
        seq=next_position(db, Message, report.id),
        direction=Direction.TO_SUBMITTER.value,
        created_on=today,
        author_id=author_id,
        staff_copy=seal_field(dek, plaintext, report_id=report.public_id, field=message_field(mid)),
        submitter_copy=seal_to_public_key(
            plaintext,
            report.submitter_public_key,
            report_id=report.public_id,
            purpose=purpose("submitter", mid),
        ),
    )
    db.add(message)
    audit.record(
        db, actor=audit.account_actor(author_id), action="case.replied", report_ref=report.public_id
    )
    return message


# Built once (registry.records.access says why).
# Conversation order: ids are random and messages carry only a day.
_MESSAGES = select(Message).where(Message.report_id == bindparam("report_id")).order_by(Message.seq)


def _messages(db: Session, report: Report) -> list[Message]:
    return list(db.scalars(_MESSAGES, {"report_id": report.id}))


def read_as_submitter(db: Session, report: Report, private_key: bytes) -> list[MessageView]:
    """Every message of the case, opened with the receipt-derived key (damaged: ``None``)."""
    damage = Damage()
    # WHY verified for the submitter: this is their own copy, read with
    # their own receipt; authorship is what reviewers need checked.
    return [
        MessageView(
            m.direction,
            m.created_on,
            verified=True,
            text=damage.text(
                "message",
                partial(
                    open_with_private_key,
                    m.submitter_copy,
                    private_key,
                    report_id=report.public_id,
                    purpose=purpose("submitter", m.public_id),
                ),
            ),
        )
        for m in _messages(db, report)
    ]


def read_as_staff(
    db: Session,
    report: Report,
    dek: bytes,
    damage: Damage,
    *,
    signer: SubmitterKey,
    any_messages: bool = True,
) -> list[MessageView]:
    """Every message of the case, opened with the report's data key.

    A message that fails its integrity check is ``None`` and noted in
    ``damage``; so is every message to the staff if the inbox key is damaged.
    A message to the staff whose statement does not verify against
    ``signer`` has ``verified`` False, and, when the report has a verify
    key, is noted as damage ``message`` (it was forged or altered).
    ``any_messages`` False (the caller knows there are none) spares the
    query; the inbox key is still opened and checked as before.
    """
    inbox_field = db.get(SealedField, (report.id, INBOX_KEY))
    inbox: bytes | None = b""
    if inbox_field is not None:
        inbox = damage.opened(
            "inbox-key",
            partial(
                open_field, dek, inbox_field.ciphertext, report_id=report.public_id, field=INBOX_KEY
            ),
        )
    views = []
    for m in _messages(db, report) if any_messages else []:
        if m.direction == Direction.TO_STAFF.value:
            text, verified = _from_submitter(m, report, inbox, damage, signer)
            views.append(MessageView(m.direction, m.created_on, text, verified))
            continue
        text = damage.text(
            "message",
            partial(
                open_field,
                dek,
                m.staff_copy,
                report_id=report.public_id,
                field=message_field(m.public_id),
            ),
        )
        # WHY staff messages count as verified: sealed under the data key,
        # which a forger with the database alone does not hold.
        views.append(MessageView(m.direction, m.created_on, text, verified=text is not None))
    return views


def _from_submitter(
    m: Message, report: Report, inbox: bytes | None, damage: Damage, signer: SubmitterKey
) -> tuple[str | None, bool]:
    """The text of a message to the staff and whether its statement verifies."""
    if inbox is None:
        damage.note("message")
        return None, False
    plaintext = damage.opened(
        "message",
        partial(
            open_with_private_key,
            m.staff_copy,
            inbox,
            report_id=report.public_id,
            purpose=purpose("inbox", m.public_id),
        ),
    )
    if plaintext is None:
        return None, False
    statement, body = split_message(plaintext)
    verified = signer.verifies(
        statement,
        report_id=report.public_id,
        kind="message",
        item_id=m.public_id,
        digest=message_digest(body),
    )
    if not verified and signer.public is not None:
        # A report with a verify key only ever stores signed messages: an
        # unsigned or wrongly signed one was put there by someone else.
        # (Without a key, the record that held it is what is noted damaged.)
        damage.note("message")
    try:
        return body.decode("utf-8"), verified
    except UnicodeDecodeError:
        damage.note("message")
        return None, False
