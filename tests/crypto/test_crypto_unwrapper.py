"""Unwrapping many data keys with one private key, built once (the search does this)."""

from __future__ import annotations

import pytest

from registry.crypto import (
    CannotOpen,
    DataKeyUnwrapper,
    KeyPair,
    new_data_key,
    seal_to_public_key,
    unwrap_data_key,
    wrap_data_key,
)


def test_it_opens_what_unwrap_data_key_opens(keypair: KeyPair) -> None:
    unwrapper = DataKeyUnwrapper(keypair.private)
    for report_id in ("R1", "R2", "R3"):
        dek = new_data_key()
        wrapped = wrap_data_key(dek, keypair.public, report_id=report_id)
        assert unwrapper.unwrap(wrapped, report_id=report_id) == dek
        assert unwrap_data_key(wrapped, keypair.private, report_id=report_id) == dek


def test_it_refuses_what_unwrap_data_key_refuses(keypair: KeyPair, other_keypair: KeyPair) -> None:
    wrapped = wrap_data_key(new_data_key(), keypair.public, report_id="R1")
    with pytest.raises(CannotOpen):
        DataKeyUnwrapper(other_keypair.private).unwrap(wrapped, report_id="R1")
    unwrapper = DataKeyUnwrapper(keypair.private)
    with pytest.raises(CannotOpen):
        unwrapper.unwrap(wrapped, report_id="R2")  # moved to another report
    tampered = bytearray(wrapped)
    tampered[-1] ^= 1
    with pytest.raises(CannotOpen):
        unwrapper.unwrap(bytes(tampered), report_id="R1")
    with pytest.raises(CannotOpen):
        unwrapper.unwrap(wrapped[:-5], report_id="R1")
    message = seal_to_public_key(b"hello", keypair.public, report_id="R1", purpose="reply")
    with pytest.raises(CannotOpen):
        unwrapper.unwrap(message, report_id="R1")  # not a wrap at all


def test_a_malformed_key_is_refused_at_once() -> None:
    with pytest.raises(CannotOpen):
        DataKeyUnwrapper(bytes(10))


def test_it_does_not_show_the_key(keypair: KeyPair) -> None:
    shown = repr(DataKeyUnwrapper(keypair.private))
    assert keypair.private.hex()[:16] not in shown
    assert shown == "DataKeyUnwrapper(...)"
