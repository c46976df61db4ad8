"""Frozen vectors: today's code opens every envelope format the registry ever wrote.

``vectors/registry-envelopes.json`` holds, for each envelope kind, bytes
sealed once by ``make_vectors.py`` with fixed keys and recorded randomness.
Each test opens its vector and checks the plaintext, and where sealing is
deterministic given the random bytes (everything but HPKE, whose ephemeral
key ``cryptography`` draws itself), seals again and checks the exact bytes.

A failure here means the format drifted: stored reports, keys and blobs,
and every recovery tool written against the format, would stop opening.
"""

from __future__ import annotations

import hashlib
import io
import json
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from registry.crypto import (
    Argon2Params,
    CannotOpen,
    EnrolmentSecrets,
    aead,
    derive_receipt_keys,
    lock_private_key,
    open_enrolment,
    open_field,
    open_for_session,
    open_local,
    open_stream,
    open_totp_seed,
    open_with_private_key,
    recovery_code_tag,
    seal_enrolment,
    seal_field,
    seal_for_session,
    seal_local,
    seal_totp_seed,
    second_factor_key,
    sign_statement,
    signing_public_key,
    unlock_private_key,
    unwrap_data_key,
    verify_statement,
)
from registry.crypto.envelope import Kind
from registry.crypto.keys import keypair_from_seed, public_key_of
from registry.crypto.padding import padded_size
from registry.crypto.stream import seal_stream
from registry.records.texts import decode_answers

VECTORS = Path(__file__).parent / "vectors" / "registry-envelopes.json"
DRIFT = (
    "frozen vector {name!r}: {what}. The envelope format changed. Bump the envelope "
    "version (or add a kind) and add a vector, do not regenerate: envelopes already "
    "stored (and the recovery tools that read them) still need the old format to open."
)
Vector = dict[str, Any]


def _load() -> dict[str, Vector]:
    document = json.loads(VECTORS.read_text(encoding="utf-8"))
    return {vector["name"]: vector for vector in document["vectors"]}


ALL = _load()


def _h(vector: Vector, key: str) -> bytes:
    return bytes.fromhex(vector[key])


def _replay(vector: Vector) -> Callable[[int], bytes]:
    """A random source that gives back exactly the bytes recorded with ``vector``."""
    recorded, position = _h(vector, "rng"), 0

    def rng(length: int) -> bytes:
        nonlocal position
        position += length
        return recorded[position - length : position]

    return rng


def _same(vector: Vector, what: str, got: object, want: object) -> None:
    if got != want:
        pytest.fail(DRIFT.format(name=vector["name"], what=f"{what} differs"))


def _opened(vector: Vector, open_: Callable[[], bytes]) -> bytes:
    """What ``open_`` returns; a CannotOpen fails the test with the drift message."""
    try:
        return open_()
    except CannotOpen:
        pytest.fail(DRIFT.format(name=vector["name"], what="it no longer opens"))


def _params(vector: Vector) -> Argon2Params:
    return Argon2Params(vector["memory_kib"], vector["iterations"], vector["lanes"])


def _header(vector: Vector) -> None:
    """A vector's envelope starts with its version (all are 1 so far) and kind number."""
    envelope = _h(vector, "envelope")
    _same(vector, "header bytes", envelope[:2], bytes((1, Kind[vector["pins"]])))


def _vectors(*pins: str) -> list[Any]:
    chosen = [pytest.param(v, id=name) for name, v in ALL.items() if v["pins"] in pins]
    assert chosen, f"no frozen vector for {pins}"
    return chosen


def test_every_envelope_kind_has_a_vector() -> None:
    frozen = {vector["pins"] for vector in ALL.values()}
    missing = {kind.name for kind in Kind} - frozen
    assert not missing, f"envelope kinds without a frozen vector: {sorted(missing)}"


@pytest.mark.parametrize("vector", _vectors("KEYPAIR"))
def test_keypair_encoding(vector: Vector) -> None:
    seed = _h(vector, "seed")
    _same(
        vector, "public key of the seed", keypair_from_seed(seed).public, _h(vector, "public_key")
    )
    _same(vector, "public_key_of", public_key_of(seed), _h(vector, "public_key"))


@pytest.mark.parametrize("vector", _vectors("FIELD"))
def test_field(vector: Vector) -> None:
    """The unpadded kind: no longer written, but every stored one still opens."""
    _header(vector)
    key, envelope, plaintext = _h(vector, "key"), _h(vector, "envelope"), _h(vector, "plaintext")
    where = {"report_id": vector["report_id"], "field": vector["field"]}
    _same(
        vector, "plaintext", _opened(vector, lambda: open_field(key, envelope, **where)), plaintext
    )
    # seal_field now writes PADDED_FIELD; the AEAD core still makes this layout.
    context = (vector["report_id"], vector["field"])
    sealed = aead.seal(key, plaintext, kind=Kind.FIELD, context=context, rng=_replay(vector))
    _same(vector, "sealing again", sealed, envelope)


@pytest.mark.parametrize("vector", _vectors("PADDED_FIELD"))
def test_padded_field(vector: Vector) -> None:
    _header(vector)
    key, envelope, plaintext = _h(vector, "key"), _h(vector, "envelope"), _h(vector, "plaintext")
    where = {"report_id": vector["report_id"], "field": vector["field"]}
    _same(
        vector, "plaintext", _opened(vector, lambda: open_field(key, envelope, **where)), plaintext
    )
    _same(vector, "padded length", len(envelope), 2 + 12 + padded_size(len(plaintext)) + 16)
    sealed = seal_field(key, plaintext, rng=_replay(vector), **where)
    _same(vector, "sealing again", sealed, envelope)
    if "texts" in vector:
        # A report's record: the layout recovery tools read the texts from.
        _same(vector, "texts of the record", decode_answers(plaintext), vector["texts"])


@pytest.mark.parametrize("vector", _vectors("WRAP"))
def test_hpke_wrap(vector: Vector) -> None:
    _header(vector)
    envelope, private = _h(vector, "envelope"), _h(vector, "recipient_private_key")
    opened = _opened(
        vector, lambda: unwrap_data_key(envelope, private, report_id=vector["report_id"])
    )
    _same(vector, "unwrapped data key", opened, _h(vector, "plaintext"))


@pytest.mark.parametrize("vector", _vectors("SUBMITTER_MESSAGE", "PADDED_MESSAGE"))
def test_sealed_to_public_key(vector: Vector) -> None:
    _header(vector)
    envelope, private = _h(vector, "envelope"), _h(vector, "recipient_private_key")
    where = {"report_id": vector["report_id"], "purpose": vector["purpose"]}
    opened = _opened(vector, lambda: open_with_private_key(envelope, private, **where))
    _same(vector, "plaintext", opened, _h(vector, "plaintext"))


@pytest.mark.parametrize("vector", _vectors("PASSWORD_LOCK"))
def test_password_lock(vector: Vector) -> None:
    _header(vector)
    envelope, plaintext, password = (
        _h(vector, "envelope"),
        _h(vector, "plaintext"),
        vector["password"],
    )
    # As typed, and as another system may send it (decomposed): both open.
    decomposed = unicodedata.normalize("NFD", password)
    assert decomposed != password
    for typed in (password, decomposed):
        opened = _opened(vector, lambda typed=typed: unlock_private_key(envelope, typed))
        _same(vector, f"key unlocked with {typed!r}", opened, plaintext)
    sealed = lock_private_key(plaintext, password, params=_params(vector), rng=_replay(vector))
    _same(vector, "locking again", sealed, envelope)


@pytest.mark.parametrize("vector", _vectors("SESSION"))
def test_session(vector: Vector) -> None:
    _header(vector)
    envelope, plaintext = _h(vector, "envelope"), _h(vector, "plaintext")
    secret, ref = _h(vector, "session_secret"), _h(vector, "session_ref")
    opened = _opened(vector, lambda: open_for_session(envelope, secret, session_ref=ref))
    _same(vector, "plaintext", opened, plaintext)
    sealed = seal_for_session(plaintext, secret, session_ref=ref, rng=_replay(vector))
    _same(vector, "sealing again", sealed, envelope)


@pytest.mark.parametrize("vector", _vectors("LOCAL"))
def test_local(vector: Vector) -> None:
    _header(vector)
    key, envelope, plaintext = _h(vector, "key"), _h(vector, "envelope"), _h(vector, "plaintext")
    context = vector["context"]
    opened = _opened(vector, lambda: open_local(key, envelope, context=context))
    _same(vector, "plaintext", opened, plaintext)
    sealed = seal_local(key, plaintext, context=context, rng=_replay(vector))
    _same(vector, "sealing again", sealed, envelope)


@pytest.mark.parametrize("vector", _vectors("STREAM"))
def test_stream(vector: Vector) -> None:
    _header(vector)
    key, envelope, plaintext = _h(vector, "key"), _h(vector, "envelope"), _h(vector, "plaintext")
    ids = {"report_id": vector["report_id"], "attachment_id": vector["attachment_id"]}
    opened = _opened(vector, lambda: b"".join(open_stream(key, io.BytesIO(envelope), **ids)))
    _same(vector, "plaintext", opened, plaintext)
    sink = io.BytesIO()
    info = seal_stream(
        key,
        io.BytesIO(plaintext),
        sink,
        chunk_size=vector["chunk_size"],
        rng=_replay(vector),
        **ids,
    )
    _same(vector, "sealing again", sink.getvalue(), envelope)
    _same(vector, "SHA-256 of the plaintext", info.sha256_hex, vector["sha256"])


@pytest.mark.parametrize("vector", _vectors("RECEIPT"))
def test_receipt_derivation(vector: Vector) -> None:
    salt, params = _h(vector, "salt"), _params(vector)
    for typed in (vector["receipt"], vector["typed"]):
        keys = derive_receipt_keys(typed, salt=salt, params=params)
        _same(vector, f"lookup id of {typed!r}", keys.lookup_id, _h(vector, "lookup_id"))
        _same(vector, "submitter private key", keys.keypair.private, _h(vector, "private_key"))
        public = hashlib.sha256(keys.keypair.public).hexdigest()
        _same(vector, "submitter public key", public, vector["public_key_sha256"])


@pytest.mark.parametrize("vector", _vectors("RECEIPT_SIGNING"))
def test_receipt_signing_key(vector: Vector) -> None:
    """The signing key a receipt gives: every signature stored with a report depends on it."""
    keys = derive_receipt_keys(vector["receipt"], salt=_h(vector, "salt"), params=_params(vector))
    _same(vector, "signing seed", keys.signing_seed, _h(vector, "signing_seed"))
    public = signing_public_key(keys.signing_seed)
    _same(vector, "signing public key", public, _h(vector, "signing_public_key"))


@pytest.mark.parametrize("vector", _vectors("STATEMENT"))
def test_statement(vector: Vector) -> None:
    _header(vector)
    seed, envelope = _h(vector, "signing_seed"), _h(vector, "envelope")
    item = {
        "report_id": vector["report_id"],
        "kind": vector["kind"],
        "item_id": vector["item_id"],
        "digest": _h(vector, "digest"),
    }
    _same(vector, "public key", signing_public_key(seed), _h(vector, "public_key"))
    verified = verify_statement(_h(vector, "public_key"), envelope, **item)
    _same(vector, "verification", verified, True)
    _same(vector, "signing again", sign_statement(seed, **item), envelope)


@pytest.mark.parametrize("vector", _vectors("TOTP_SEED"))
def test_totp_seed(vector: Vector) -> None:
    _header(vector)
    envelope, seed, ref = _h(vector, "envelope"), _h(vector, "plaintext"), vector["account_ref"]
    factor_key = second_factor_key(_h(vector, "private_key"))
    _same(vector, "factor key of the private key", factor_key, _h(vector, "factor_key"))
    opened = _opened(vector, lambda: open_totp_seed(factor_key, envelope, account_ref=ref))
    _same(vector, "seed", opened, seed)
    sealed = seal_totp_seed(factor_key, seed, account_ref=ref, rng=_replay(vector))
    _same(vector, "sealing again", sealed, envelope)


@pytest.mark.parametrize("vector", _vectors("ENROLMENT"))
def test_enrolment(vector: Vector) -> None:
    _header(vector)
    envelope, secret, ref = (
        _h(vector, "envelope"),
        _h(vector, "browser_secret"),
        vector["account_ref"],
    )
    want = EnrolmentSecrets(totp_seed=_h(vector, "totp_seed"), factor_key=_h(vector, "factor_key"))
    try:
        opened = open_enrolment(secret, envelope, account_ref=ref)
    except CannotOpen:
        pytest.fail(DRIFT.format(name=vector["name"], what="it no longer opens"))
    _same(vector, "seed and factor key", opened, want)
    sealed = seal_enrolment(secret, want, account_ref=ref, rng=_replay(vector))
    _same(vector, "sealing again", sealed, envelope)


@pytest.mark.parametrize("vector", _vectors("RECOVERY_CODE"))
def test_recovery_code_tag(vector: Vector) -> None:
    """A stored tag is recomputed, not opened: the same inputs must give the same bytes."""
    _header(vector)
    factor_key = second_factor_key(_h(vector, "private_key"))
    _same(vector, "factor key of the private key", factor_key, _h(vector, "factor_key"))
    tag = recovery_code_tag(
        factor_key, _h(vector, "code_digest"), account_ref=vector["account_ref"]
    )
    _same(vector, "tag", tag, _h(vector, "envelope"))
