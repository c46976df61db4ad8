"""Key pairs, HPKE wraps and sealed messages beyond the generic envelope tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from registry.crypto import (
    CannotOpen,
    KeyPair,
    generate_keypair,
    new_data_key,
    open_with_private_key,
    seal_to_public_key,
    unwrap_data_key,
    wrap_data_key,
)
from registry.crypto.keys import keypair_from_seed, public_key_of
from registry.crypto.padding import padded_size

MakeRng = Callable[[int], Callable[[int], bytes]]


def test_key_lengths() -> None:
    pair = generate_keypair()
    assert len(pair.private) == 96
    assert len(pair.public) == 1216


def test_keypair_from_seed_is_deterministic() -> None:
    seed = bytes(range(96))
    assert keypair_from_seed(seed) == keypair_from_seed(seed)
    assert keypair_from_seed(seed).private == seed


def test_each_half_of_the_seed_matters(keypair: KeyPair, other_keypair: KeyPair) -> None:
    assert keypair.public != other_keypair.public
    seed = bytearray(keypair.private)
    seed[0] ^= 1  # in the ML-KEM seed
    assert keypair_from_seed(bytes(seed)).public[:1184] != keypair.public[:1184]
    seed = bytearray(keypair.private)
    seed[95] ^= 1  # in the X25519 private key
    changed = keypair_from_seed(bytes(seed)).public
    assert changed[:1184] == keypair.public[:1184]
    assert changed[1184:] != keypair.public[1184:]


def test_generate_keypair_uses_injected_rng(make_rng: MakeRng) -> None:
    assert generate_keypair(make_rng(0)) == generate_keypair(make_rng(0))
    assert generate_keypair(make_rng(0)) == keypair_from_seed(bytes(range(96)))
    assert generate_keypair() != generate_keypair()


def test_public_key_of(keypair: KeyPair) -> None:
    assert public_key_of(keypair.private) == keypair.public


@pytest.mark.parametrize("private", [b"", bytes(95), bytes(97), bytes(1216)])
def test_public_key_of_malformed(private: bytes) -> None:
    with pytest.raises(CannotOpen):
        public_key_of(private)


@pytest.mark.parametrize("seed", [b"", bytes(64), bytes(97)])
def test_keypair_from_seed_rejects_wrong_length(seed: bytes) -> None:
    with pytest.raises(ValueError, match="96 bytes"):
        keypair_from_seed(seed)


def test_repr_hides_private_key(keypair: KeyPair) -> None:
    assert keypair.private.hex() not in repr(keypair)
    assert repr(keypair.private) not in repr(keypair)


def test_new_data_key(make_rng: MakeRng) -> None:
    assert len(new_data_key()) == 32
    assert new_data_key() != new_data_key()
    assert new_data_key(make_rng(5)) == bytes(range(5, 37))


def test_wrap_to_several_recipients() -> None:
    dek = new_data_key()
    pairs = [generate_keypair() for _ in range(3)]
    wraps = [wrap_data_key(dek, pair.public, report_id="R1") for pair in pairs]
    for pair, wrapped in zip(pairs, wraps, strict=True):
        assert unwrap_data_key(wrapped, pair.private, report_id="R1") == dek
    with pytest.raises(CannotOpen):
        unwrap_data_key(wraps[0], pairs[1].private, report_id="R1")


def test_wrap_size(keypair: KeyPair) -> None:
    wrapped = wrap_data_key(new_data_key(), keypair.public, report_id="R1")
    # header 2 + encapsulated key 1120 + data key 32 + tag 16
    assert len(wrapped) == 2 + 1120 + 32 + 16


@pytest.mark.parametrize("dek", [b"", bytes(16), bytes(33)])
def test_wrap_rejects_wrong_dek_length(keypair: KeyPair, dek: bytes) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        wrap_data_key(dek, keypair.public, report_id="R1")


MANGLED_PUBLIC_KEYS: dict[str, Callable[[bytes], bytes]] = {
    "empty": lambda public: b"",
    "short": lambda public: public[:-1],
    "long": lambda public: public + b"\x00",
    "ml-kem-out-of-range": lambda public: b"\xff" * 1184 + public[1184:],
    "x25519-zero": lambda public: public[:1184] + bytes(32),
}


@pytest.mark.parametrize("mangle", MANGLED_PUBLIC_KEYS.values(), ids=MANGLED_PUBLIC_KEYS.keys())
def test_wrap_rejects_malformed_public_key(
    keypair: KeyPair, mangle: Callable[[bytes], bytes]
) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the message depends on which check hit
        wrap_data_key(new_data_key(), mangle(keypair.public), report_id="R1")


@pytest.mark.parametrize("private_length", [0, 95, 97])
def test_unwrap_with_malformed_private_key(keypair: KeyPair, private_length: int) -> None:
    wrapped = wrap_data_key(new_data_key(), keypair.public, report_id="R1")
    private = (keypair.private * 2)[:private_length]
    with pytest.raises(CannotOpen):
        unwrap_data_key(wrapped, private, report_id="R1")


def test_unwrap_refuses_a_sealed_message(keypair: KeyPair) -> None:
    """A sealed message is never accepted as a wrapped data key, even of 32 bytes."""
    sealed = seal_to_public_key(bytes(32), keypair.public, report_id="R1", purpose="")
    with pytest.raises(CannotOpen):
        unwrap_data_key(sealed, keypair.private, report_id="R1")


@pytest.mark.parametrize("size", [0, 1, 100_000])
def test_seal_to_public_key_sizes(keypair: KeyPair, size: int) -> None:
    plaintext = bytes(size)
    sealed = seal_to_public_key(plaintext, keypair.public, report_id="R1", purpose="reply")
    # Padded to its size class (registry.crypto.padding), never its own length.
    assert len(sealed) == padded_size(size) + 2 + 1120 + 16
    opened = open_with_private_key(sealed, keypair.private, report_id="R1", purpose="reply")
    assert opened == plaintext


def test_context_encoding_is_unambiguous(keypair: KeyPair) -> None:
    """("a|b", "c") and ("a", "b|c") must not be interchangeable contexts."""
    sealed = seal_to_public_key(b"m", keypair.public, report_id="a|b", purpose="c")
    with pytest.raises(CannotOpen):
        open_with_private_key(sealed, keypair.private, report_id="a", purpose="b|c")
    sealed = seal_to_public_key(b"m", keypair.public, report_id="ab", purpose="")
    with pytest.raises(CannotOpen):
        open_with_private_key(sealed, keypair.private, report_id="a", purpose="b")
