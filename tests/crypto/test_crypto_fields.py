"""Sealed fields, local secrets and session keys beyond the generic envelope tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from registry.crypto import (
    CannotOpen,
    KeyPair,
    new_session_secret,
    open_field,
    open_for_session,
    open_local,
    seal_field,
    seal_for_session,
    seal_local,
)
from registry.crypto.padding import padded_size

MakeRng = Callable[[int], Callable[[int], bytes]]
KEY = bytes(range(32))


def test_fixed_rng_makes_seal_field_deterministic(make_rng: MakeRng) -> None:
    first = seal_field(KEY, b"text", report_id="R1", field="f", rng=make_rng(0))
    second = seal_field(KEY, b"text", report_id="R1", field="f", rng=make_rng(0))
    assert first == second
    assert first[2:14] == bytes(range(12))  # the nonce came from the injected rng
    assert seal_field(KEY, b"text", report_id="R1", field="f", rng=make_rng(1)) != first


def test_seal_field_without_rng_is_random() -> None:
    first = seal_field(KEY, b"t", report_id="R", field="f")
    assert first != seal_field(KEY, b"t", report_id="R", field="f")


def test_broken_rng_is_refused() -> None:
    with pytest.raises(ValueError, match="random source"):
        seal_field(KEY, b"t", report_id="R", field="f", rng=lambda n: bytes(n - 1))


@pytest.mark.parametrize("size", [0, 1, 4096, 1_000_000])
def test_field_sizes(size: int) -> None:
    plaintext = bytes(range(256)) * (size // 256) + bytes(size % 256)
    sealed = seal_field(KEY, plaintext, report_id="R1", field="narrative")
    # Padded to its size class (registry.crypto.padding), never its own length.
    assert len(sealed) == padded_size(size) + 2 + 12 + 16
    assert open_field(KEY, sealed, report_id="R1", field="narrative") == plaintext


def test_field_context_is_unambiguous() -> None:
    sealed = seal_field(KEY, b"x", report_id="a|b", field="c")
    with pytest.raises(CannotOpen):
        open_field(KEY, sealed, report_id="a", field="b|c")


def test_unicode_context() -> None:
    sealed = seal_field(KEY, b"x", report_id="R1", field="апісанне")
    assert open_field(KEY, sealed, report_id="R1", field="апісанне") == b"x"


@pytest.mark.parametrize("key_length", [0, 16, 33])
def test_wrong_key_length_seal_is_value_error(key_length: int) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        seal_field(bytes(key_length), b"x", report_id="R1", field="f")
    with pytest.raises(ValueError, match="32 bytes"):
        seal_local(bytes(key_length), b"x", context="c")


@pytest.mark.parametrize("key_length", [0, 16, 33])
def test_wrong_key_length_open_is_cannot_open(key_length: int) -> None:
    sealed = seal_field(KEY, b"x", report_id="R1", field="f")
    with pytest.raises(CannotOpen):
        open_field(bytes(key_length), sealed, report_id="R1", field="f")
    sealed = seal_local(KEY, b"x", context="c")
    with pytest.raises(CannotOpen):
        open_local(bytes(key_length), sealed, context="c")


def test_session_secret(make_rng: MakeRng) -> None:
    assert len(new_session_secret()) == 32
    assert new_session_secret() != new_session_secret()
    assert new_session_secret(make_rng(0)) == bytes(range(32))


def test_session_round_trip_with_fresh_secret(keypair: KeyPair) -> None:
    secret = new_session_secret()
    sealed = seal_for_session(keypair.private, secret, session_ref=b"ref")
    assert open_for_session(sealed, secret, session_ref=b"ref") == keypair.private
    with pytest.raises(CannotOpen):
        open_for_session(sealed, new_session_secret(), session_ref=b"ref")


def test_session_seals_only_private_keys() -> None:
    with pytest.raises(ValueError, match="96 bytes"):
        seal_for_session(b"short", new_session_secret(), session_ref=b"ref")


def test_session_rng_injectable(keypair: KeyPair, make_rng: MakeRng) -> None:
    first = seal_for_session(keypair.private, KEY, session_ref=b"r", rng=make_rng(0))
    assert first == seal_for_session(keypair.private, KEY, session_ref=b"r", rng=make_rng(0))


def test_local_rng_injectable(make_rng: MakeRng) -> None:
    first = seal_local(KEY, b"seed", context="totp", rng=make_rng(0))
    assert first == seal_local(KEY, b"seed", context="totp", rng=make_rng(0))
