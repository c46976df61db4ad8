"""Fuzzing every opener of the crypto package: CannotOpen, or the original.

Each opener gets random bytes, random bytes behind its own (or another
kind's) header, and real envelopes cut short, extended or with bytes
overwritten, opened with the right key and context.  The only outcomes
allowed are the exact original plaintext (a mutation that changed nothing)
or :class:`registry.crypto.CannotOpen`, the package's one documented
failure (registry/crypto/errors.py): any other exception is a parser bug.
"""

from __future__ import annotations

import base64
import contextlib
import io
import struct
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from registry.crypto import (
    Argon2Params,
    CannotOpen,
    DataKeyUnwrapper,
    EnrolmentSecrets,
    derive_receipt_keys,
    lock_private_key,
    normalize_receipt,
    open_enrolment,
    open_field,
    open_for_session,
    open_local,
    open_stream,
    open_totp_seed,
    open_with_private_key,
    seal_enrolment,
    seal_field,
    seal_for_session,
    seal_local,
    seal_to_public_key,
    seal_totp_seed,
    unlock_private_key,
    unwrap_data_key,
    wrap_data_key,
)
from registry.crypto.envelope import Kind, body_of, header, kind_of
from registry.crypto.kdf import PARAMS_LENGTH
from registry.crypto.keys import keypair_from_seed, load_private_key, public_key_of
from registry.crypto.stream import seal_stream
from registry.followup import cookie
from registry.keyring.armor import PRIVATE_HEADER, armor
from registry.keyring.escrow import open_escrow_file
from tests.fuzz.strategies import EXAMPLES, IN_CI

KEY = bytes(range(32))
PAIR = keypair_from_seed(bytes(range(96)))
REPORT = "R7Q2M"
REF = b"\x01" * 32
PASSWORD = "correct horse battery staple"
CHEAP = Argon2Params(memory_kib=8, iterations=1)
SALT = b"s" * 16

# Pure functions, no app: many examples in a few seconds.
CRYPTO = settings(
    max_examples=max(EXAMPLES * 4, 150),
    derandomize=IN_CI,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

ENROLMENT = EnrolmentSecrets(totp_seed=b"t" * 20, factor_key=KEY)


def _flat(secrets: EnrolmentSecrets) -> bytes:
    return secrets.factor_key + secrets.totp_seed


Opener = Callable[[bytes], bytes]
SEALED: dict[str, tuple[bytes, bytes, Opener]] = {
    # name: (envelope, plaintext, opener with the right key and context)
    "field": (
        seal_field(KEY, b"narrative text", report_id=REPORT, field="narrative"),
        b"narrative text",
        lambda e: open_field(KEY, e, report_id=REPORT, field="narrative"),
    ),
    "wrap": (
        wrap_data_key(KEY, PAIR.public, report_id=REPORT),
        KEY,
        lambda e: unwrap_data_key(e, PAIR.private, report_id=REPORT),
    ),
    "unwrapper": (
        wrap_data_key(KEY, PAIR.public, report_id=REPORT),
        KEY,
        lambda e: DataKeyUnwrapper(PAIR.private).unwrap(e, report_id=REPORT),
    ),
    "message": (
        seal_to_public_key(b"reply", PAIR.public, report_id=REPORT, purpose="reply"),
        b"reply",
        lambda e: open_with_private_key(e, PAIR.private, report_id=REPORT, purpose="reply"),
    ),
    "password lock": (
        lock_private_key(PAIR.private, PASSWORD, params=CHEAP),
        PAIR.private,
        lambda e: unlock_private_key(e, PASSWORD),
    ),
    "session": (
        seal_for_session(PAIR.private, KEY, session_ref=REF),
        PAIR.private,
        lambda e: open_for_session(e, KEY, session_ref=REF),
    ),
    "totp seed": (
        seal_totp_seed(KEY, b"t" * 20, account_ref="account:1"),
        b"t" * 20,
        lambda e: open_totp_seed(KEY, e, account_ref="account:1"),
    ),
    "enrolment": (
        seal_enrolment(KEY, ENROLMENT, account_ref="account:1"),
        KEY + b"t" * 20,
        lambda e: _flat(open_enrolment(KEY, e, account_ref="account:1")),
    ),
    "local": (
        seal_local(KEY, b"totp seed", context="totp"),
        b"totp seed",
        lambda e: open_local(KEY, e, context="totp"),
    ),
}


def _cheap_enough(name: str, envelope: bytes) -> bool:
    """False for a password lock whose (valid) cost would take seconds to derive.

    WHY: the lock's Argon2 cost is read from the envelope, bounded at 4 GiB
    and 64 passes (registry.crypto.kdf); a fuzzer that hits such a bound
    tests the bound, slowly, not the parser.
    """
    if name != "password lock" or envelope[:2] != header(Kind.PASSWORD_LOCK):
        return True
    try:
        params = Argon2Params.decode(envelope[2 : 2 + PARAMS_LENGTH])
    except ValueError:
        return True
    return params.memory_kib * params.iterations <= 64 * 1024


def _mutated(envelope: bytes, cut: int, flips: list[tuple[int, int]], tail: bytes) -> bytes:
    data = bytearray(envelope[: len(envelope) - cut] if cut else envelope)
    for position, byte in flips:
        if data:
            data[position % len(data)] = byte
    return bytes(data) + tail


KINDS = [kind for kind in Kind] + [0, 2, 255]


@CRYPTO
@given(
    name=st.sampled_from(sorted(SEALED)),
    how=st.sampled_from(["random", "own header", "other header", "mutated"]),
    raw=st.binary(max_size=1400),
    kind=st.sampled_from(KINDS),
    cut=st.integers(0, 40),
    flips=st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 255)), max_size=3),
)
@example(name="password lock", how="mutated", raw=b"", kind=0, cut=100, flips=[])
def test_openers_raise_only_cannot_open(
    name: str, how: str, raw: bytes, kind: int, cut: int, flips: list[tuple[int, int]]
) -> None:
    envelope, plaintext, opener = SEALED[name]
    candidate = {
        "random": raw,
        "own header": envelope[:2] + raw,
        "other header": bytes((1, kind)) + raw,
        "mutated": _mutated(envelope, cut, flips, raw[:8]),
    }[how]
    assume(_cheap_enough(name, candidate))
    try:
        opened = opener(candidate)
    except CannotOpen:
        return
    # Only an envelope that still says exactly what was sealed may open.
    assert opened == plaintext


@CRYPTO
@given(envelope=st.binary(max_size=8), kind=st.sampled_from(list(Kind)))
def test_envelope_header(envelope: bytes, kind: Kind) -> None:
    named = kind_of(envelope)
    assert named is None or envelope[:2] == header(named)
    try:
        body = body_of(envelope, kind)
    except CannotOpen:
        assert envelope[:2] != header(kind)
        return
    assert envelope == header(kind) + body


@CRYPTO
@given(
    seed=st.binary(min_size=0, max_size=120),
    wrapped=st.binary(max_size=40),
)
@example(seed=bytes(96), wrapped=b"")
def test_malformed_private_keys(seed: bytes, wrapped: bytes) -> None:
    for use in (
        load_private_key,
        public_key_of,
        DataKeyUnwrapper,
        lambda key: unwrap_data_key(wrapped, key, report_id=REPORT),
        lambda key: open_with_private_key(wrapped, key, report_id=REPORT, purpose="reply"),
    ):
        with contextlib.suppress(CannotOpen):
            use(seed)


@CRYPTO
@given(key=st.binary(max_size=40), envelope=st.binary(max_size=80))
def test_symmetric_openers_with_any_key(key: bytes, envelope: bytes) -> None:
    for opener in (
        lambda: open_field(key, envelope, report_id=REPORT, field="narrative"),
        lambda: open_for_session(envelope, key, session_ref=REF),
        lambda: open_local(key, envelope, context="totp"),
        lambda: open_totp_seed(key, envelope, account_ref="account:1"),
        lambda: open_enrolment(key, envelope, account_ref="account:1"),
        lambda: b"".join(open_stream(key, io.BytesIO(envelope), report_id="r", attachment_id="a")),
    ):
        with pytest.raises(CannotOpen):
            opener()


def _stream(plaintext: bytes) -> bytes:
    sink = io.BytesIO()
    seal_stream(KEY, io.BytesIO(plaintext), sink, report_id="r", attachment_id="a", chunk_size=1024)
    return sink.getvalue()


STREAM_PLAINTEXT = bytes(range(256)) * 9  # three chunks of 1 KiB
STREAM = _stream(STREAM_PLAINTEXT)


@CRYPTO
@given(
    how=st.sampled_from(["random", "own header", "mutated"]),
    raw=st.binary(max_size=3000),
    cut=st.integers(0, 3000),
    flips=st.lists(st.tuples(st.integers(0, 4000), st.integers(0, 255)), max_size=3),
    chunk_size=st.sampled_from([0, 1023, 1024, 4096, 2**22 + 1, 2**32 - 1]),
)
def test_stream_opener(
    how: str, raw: bytes, cut: int, flips: list[tuple[int, int]], chunk_size: int
) -> None:
    candidate = {
        "random": raw,
        "own header": STREAM[:18] + struct.pack(">I", chunk_size) + raw,
        "mutated": _mutated(STREAM, cut, flips, raw[:8]),
    }[how]
    try:
        opened = b"".join(open_stream(KEY, io.BytesIO(candidate), report_id="r", attachment_id="a"))
    except CannotOpen:
        return
    assert opened == STREAM_PLAINTEXT


@CRYPTO
@given(
    text=st.one_of(st.text(max_size=120), st.from_regex(r"[0-9A-Za-z -]{18,40}", fullmatch=True))
)
@example(text="0000-0000-0000-0000-000\u0131")
@example(text="ß" * 10)
def test_receipts(text: str) -> None:
    canonical = normalize_receipt(text)
    try:
        keys = derive_receipt_keys(text, salt=SALT, params=CHEAP)
    except CannotOpen:
        assert canonical is None
        return
    assert canonical is not None
    assert keys.lookup_id == derive_receipt_keys(canonical, salt=SALT, params=CHEAP).lookup_id


@CRYPTO
@given(data=st.binary(max_size=20))
@example(data=b"")
@example(data=b"\0" * 11)
def test_argon2_params_decode_raises_only_value_error(data: bytes) -> None:
    """Regression: a wrong length raised struct.error, not the documented ValueError."""
    try:
        params = Argon2Params.decode(data)
    except ValueError:
        return
    assert len(data) == PARAMS_LENGTH
    assert params.encode() == data


@CRYPTO
@given(
    text=st.one_of(
        st.text(max_size=200),
        st.builds(lambda raw: armor(PRIVATE_HEADER, raw), st.binary(max_size=200)),
    ),
    passphrase=st.text(max_size=20),
)
def test_escrow_file(text: str, passphrase: str) -> None:
    if text.startswith(PRIVATE_HEADER):
        assume(_cheap_enough("password lock", base64.b64decode(text[len(PRIVATE_HEADER) :])))
    # Documented: ValueError when not an escrow file, CannotOpen otherwise.
    with pytest.raises((ValueError, CannotOpen)):
        open_escrow_file(text, passphrase)


@CRYPTO
@given(value=st.one_of(st.text(max_size=300), st.binary(max_size=300).map(lambda b: b.hex())))
def test_followup_cookie(value: str) -> None:
    assert cookie.decode(KEY, value) is None
