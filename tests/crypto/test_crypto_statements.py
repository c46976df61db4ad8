"""Submitter statements: Ed25519 signatures bound to one item of one report."""

from __future__ import annotations

import hashlib

import pytest

from registry.crypto import (
    Argon2Params,
    content_digest,
    derive_receipt_keys,
    sign_statement,
    signing_public_key,
    verify_statement,
)
from registry.crypto.statements import STATEMENT_LENGTH

SEED = bytes(range(32))
OTHER_SEED = bytes(range(1, 33))
DIGEST = hashlib.sha256(b"the text").digest()
ITEM = {"report_id": "R7Q2MKX4P9TB", "kind": "message", "item_id": "M3KD8QZ1TX6V"}
CHEAP = Argon2Params(memory_kib=8, iterations=1)


def _statement() -> bytes:
    return sign_statement(SEED, digest=DIGEST, **ITEM)


def test_round_trip() -> None:
    statement = _statement()
    assert len(statement) == STATEMENT_LENGTH
    assert verify_statement(signing_public_key(SEED), statement, digest=DIGEST, **ITEM)


def test_wrong_key() -> None:
    assert not verify_statement(signing_public_key(OTHER_SEED), _statement(), digest=DIGEST, **ITEM)


@pytest.mark.parametrize(
    "changed",
    [
        {"report_id": "R7Q2MKX4P9TC"},
        {"kind": "file"},
        {"item_id": "M3KD8QZ1TX6W"},
        {"digest": hashlib.sha256(b"another text").digest()},
    ],
    ids=["report", "kind", "item", "digest"],
)
def test_other_item(changed: dict[str, object]) -> None:
    wanted: dict[str, object] = {**ITEM, "digest": DIGEST, **changed}
    assert not verify_statement(signing_public_key(SEED), _statement(), **wanted)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "garble",
    [
        lambda s: s[:-1],
        lambda s: s[:2],
        lambda s: b"",
        lambda s: s + b"\x00",
        lambda s: s[:10] + bytes([s[10] ^ 1]) + s[11:],
        lambda s: bytes([2]) + s[1:],
        lambda s: s[:1] + bytes([1]) + s[2:],
    ],
    ids=["truncated", "header-only", "empty", "extended", "flipped", "version", "kind"],
)
def test_garbled(garble: object) -> None:
    statement = garble(_statement())  # type: ignore[operator]
    assert not verify_statement(signing_public_key(SEED), statement, digest=DIGEST, **ITEM)


def test_malformed_key_is_not_verified() -> None:
    assert not verify_statement(b"short", _statement(), digest=DIGEST, **ITEM)


def test_unknown_kind_or_bad_digest_refused_when_signing() -> None:
    with pytest.raises(ValueError, match="known item"):
        sign_statement(SEED, report_id="R", kind="note", item_id="X", digest=DIGEST)
    with pytest.raises(ValueError, match="known item"):
        sign_statement(SEED, report_id="R", kind="file", item_id="X", digest=DIGEST[:31])


def test_digest_is_length_prefixed() -> None:
    assert content_digest("a", "bc") != content_digest("ab", "c")


def test_receipt_signing_key_is_independent() -> None:
    keys = derive_receipt_keys("0123-4567-89AB-CDEF-GHJK", salt=bytes(16), params=CHEAP)
    assert len(keys.signing_seed) == 32
    assert keys.signing_seed not in (keys.lookup_id, keys.keypair.private[:32])
    other = derive_receipt_keys("0123-4567-89AB-CDEF-GHJM", salt=bytes(16), params=CHEAP)
    assert other.signing_seed != keys.signing_seed
