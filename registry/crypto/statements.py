"""Statements: the submitter's signature on each thing they send.

Everything a submitter sends after the report key is gone from their hands
(messages, files) is sealed to the report's inbox PUBLIC key, which the
database holds; sealing proves nothing about who sealed.  A statement is an
Ed25519 signature, by a key derived from the receipt
(:func:`registry.crypto.receipts.derive_receipt_keys`), over one item::

    associated_data(STATEMENT, report id, item kind, item id, SHA-256 digest)

i.e. the length-prefixed label ``sviedka/v1/statement``, the header bytes
and each value.  Envelope: ``version || kind (STATEMENT) || signature (64)``.
The verify key is stored sealed under the report's data key at intake, so
somebody holding only the database cannot swap it (promise 10 in
docs/threat-model.md; layout in docs/envelopes.md).
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from registry.crypto.envelope import Kind, associated_data, body_of, header
from registry.crypto.errors import CannotOpen

SEED_LENGTH = 32
VERIFY_KEY_LENGTH = 32
SIGNATURE_LENGTH = 64
STATEMENT_LENGTH = 2 + SIGNATURE_LENGTH
DIGEST_LENGTH = 32
ITEM_KINDS = frozenset({"message", "file"})


def content_digest(*parts: bytes | str) -> bytes:
    """SHA-256 of the length-prefixed encoding of ``parts`` (strings as UTF-8).

    WHY length-prefixed: ("a", "bc") and ("ab", "c") must not digest alike,
    or a file's name could absorb part of its type and keep a signature.
    """
    digest = hashes.Hash(hashes.SHA256())
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else bytes(part)
        digest.update(len(data).to_bytes(4, "big") + data)
    return digest.finalize()


def signing_public_key(seed: bytes) -> bytes:
    """The 32-byte Ed25519 verify key of a signing ``seed`` (ValueError if not 32 bytes)."""
    private = Ed25519PrivateKey.from_private_bytes(seed)
    return private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def _message(report_id: str, kind: str, item_id: str, digest: bytes) -> bytes:
    if kind not in ITEM_KINDS or len(digest) != DIGEST_LENGTH:
        raise ValueError("not a statement about a known item")
    # WHY bind report, kind and id: a genuine signature on one message must
    # not vouch for a forged row in another report, or for a file by the
    # same id, or for the same text moved under another message id.
    return associated_data(Kind.STATEMENT, report_id, kind, item_id, digest)


def sign_statement(seed: bytes, *, report_id: str, kind: str, item_id: str, digest: bytes) -> bytes:
    """A statement that the receipt holder sent item ``item_id`` with content ``digest``.

    Deterministic (Ed25519).  Raises ValueError for a seed that is not 32
    bytes, an unknown ``kind`` or a digest that is not 32 bytes.
    """
    private = Ed25519PrivateKey.from_private_bytes(seed)
    return header(Kind.STATEMENT) + private.sign(_message(report_id, kind, item_id, digest))


def verify_statement(
    public_key: bytes, statement: bytes, *, report_id: str, kind: str, item_id: str, digest: bytes
) -> bool:
    """Whether ``statement`` is the signature of ``public_key`` over exactly this item.

    False (never an exception) for a wrong key, item, kind, report or
    digest, a malformed key, and a truncated or garbled statement.
    """
    try:
        signature = body_of(statement, Kind.STATEMENT)
        if len(signature) != SIGNATURE_LENGTH:
            return False
        verify_key = Ed25519PublicKey.from_public_bytes(public_key)
        verify_key.verify(signature, _message(report_id, kind, item_id, digest))
    except (CannotOpen, InvalidSignature, ValueError):
        # WHY one answer for every cause: the reviewer is told only that the
        # item could not be verified, never which check failed.
        return False
    return True
