"""The sealed texts of a report: the account of the events, the answers, the contact.

A new report stores them all in ONE sealed field, :data:`ANSWERS`: a JSON
object from field name to text, holding the narrative, every answer given
and the contact if one was given, padded like every sealed field
(:mod:`registry.crypto.padding`).  WHY one record: with a row per answered
question, the names of a report's rows told a seized disk which questions
the person answered, and each row's length how long each answer was
(promise 12).  Now every report has the same two rows (``answers`` and
``inbox-key``), and the record's length says only its size class.

Reports stored before this keep one row per text (:data:`PER_TEXT_FIELDS`)
and are read exactly as before.  WHY no migration: re-sealing needs the
report's data key, which the server never holds at rest; only a reviewer
or the offline escrow key could do it, one case at a time.

Record layout (UTF-8 JSON, inside the padded AEAD)::

    {"narrative": "...", "when_exact": "...", ..., "contact": "..."}

Only the texts given are present; names are those of :data:`PER_TEXT_FIELDS`.
Reports stored since submitter statements also hold :data:`VERIFY_KEY`: the
hex of the receipt-derived Ed25519 verify key (registry.crypto.statements).
WHY here, under the data key: the key that vouches for what reaches the
inbox must be one a forger with the database alone cannot replace or
remove; removing or damaging this record damages the narrative too, so it
can never pass for an older report without a key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from registry.crypto import CannotOpen, open_field, seal_field
from registry.records.vocabulary import (
    ANSWERS,
    PER_TEXT_FIELDS,
    VERIFY_KEY,
)

_VERIFY_KEY_LENGTH = 32


def encode_answers(texts: Mapping[str, str], *, verify_key: bytes | None = None) -> bytes:
    """The record of ``texts`` (name to text) and the submitter's ``verify_key``, before sealing.

    Raises ValueError for a name that is not one of :data:`PER_TEXT_FIELDS`
    or a verify key that is not 32 bytes.
    """
    unknown = set(texts) - set(PER_TEXT_FIELDS)
    if unknown:
        raise ValueError(f"not a sealed text: {sorted(unknown)}")
    ordered = {name: texts[name] for name in PER_TEXT_FIELDS if name in texts}
    if verify_key is not None:
        if len(verify_key) != _VERIFY_KEY_LENGTH:
            raise ValueError("not a verify key")
        # Fixed length (64 hex digits): every new report's record grows alike.
        ordered[VERIFY_KEY] = verify_key.hex()
    return json.dumps(ordered, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def decode_answers(record: bytes) -> dict[str, str]:
    """The texts in a record made by :func:`encode_answers`; CannotOpen if malformed.

    Names this code does not know are left out (a later version may add some).
    """
    try:
        texts = json.loads(record.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        # Authenticated, so only a bug (or a forged key) gets here.
        raise CannotOpen() from None
    if not isinstance(texts, dict) or not all(isinstance(v, str) for v in texts.values()):
        raise CannotOpen()
    return {name: texts[name] for name in PER_TEXT_FIELDS if name in texts}


def decode_verify_key(record: bytes) -> bytes | None:
    """The submitter's verify key in an :data:`ANSWERS` record; None if it holds none.

    Raises CannotOpen for a record that is not JSON or a key that is malformed.
    """
    try:
        entries = json.loads(record.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CannotOpen() from None
    if not isinstance(entries, dict):
        raise CannotOpen()
    value = entries.get(VERIFY_KEY)
    if value is None:
        return None
    try:
        key = bytes.fromhex(value) if isinstance(value, str) else b""
    except ValueError:
        key = b""
    if len(key) != _VERIFY_KEY_LENGTH:
        raise CannotOpen()
    return key


def seal_answers(
    dek: bytes, texts: Mapping[str, str], *, report_id: str, verify_key: bytes | None = None
) -> bytes:
    """The ciphertext of the :data:`ANSWERS` field holding ``texts`` and ``verify_key``."""
    record = encode_answers(texts, verify_key=verify_key)
    return seal_field(dek, record, report_id=report_id, field=ANSWERS)


def open_texts(dek: bytes, name: str, ciphertext: bytes, *, report_id: str) -> dict[str, str]:
    """The texts held by one stored field ``name``, of either layout, by text name.

    The :data:`ANSWERS` record gives every text it holds; a row of the older
    layout gives its one text.  Raises CannotOpen if the row fails its check.
    """
    return texts_of(name, open_field(dek, ciphertext, report_id=report_id, field=name))


def texts_of(name: str, plaintext: bytes) -> dict[str, str]:
    """The texts in the opened field ``name`` (either layout); CannotOpen if malformed."""
    if name == ANSWERS:
        return decode_answers(plaintext)
    try:
        return {name: plaintext.decode("utf-8")}
    except UnicodeDecodeError:
        raise CannotOpen() from None
