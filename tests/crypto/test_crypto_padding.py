"""Promise 12: sealed texts are padded to size classes; stored unpadded ones still open."""

from __future__ import annotations

import struct

import pytest

from registry.crypto import (
    CannotOpen,
    aead,
    open_field,
    open_with_private_key,
    seal_field,
    seal_to_public_key,
)
from registry.crypto.envelope import Kind
from registry.crypto.hpke_wrap import _seal as hpke_seal
from registry.crypto.keys import keypair_from_seed
from registry.crypto.padding import LARGE_STEP, SMALL_CLASSES, pad, padded_size, unpad

KEY = bytes(range(32))
PAIR = keypair_from_seed(bytes(range(96)))
AEAD_OVERHEAD = 2 + 12 + 16
HPKE_OVERHEAD = 2 + 1120 + 16
# Every class boundary: the longest text that fits, and one byte more.
BOUNDARIES = [size - 4 for size in SMALL_CLASSES] + [2 * LARGE_STEP - 4, 3 * LARGE_STEP - 4]


def _text(length: int) -> bytes:
    return (b"\x00\xffAbc" * (length // 5 + 1))[:length]


@pytest.mark.parametrize(
    ("length", "size"),
    [
        (0, 256),
        (1, 256),
        (252, 256),
        (253, 1024),
        (1020, 1024),
        (1021, 4096),
        (4092, 4096),
        (4093, 16384),
        (16380, 16384),
        (16381, 32768),
        (32764, 32768),
        (32765, 49152),
        (500_000, 507_904),
    ],
)
def test_size_classes(length: int, size: int) -> None:
    assert padded_size(length) == size
    assert len(pad(_text(length))) == size


@pytest.mark.parametrize(
    "length", [0, 1, *BOUNDARIES, *(b + 1 for b in BOUNDARIES), 480_000, 1_000_000]
)
def test_pad_round_trip(length: int) -> None:
    text = _text(length)
    padded = pad(text)
    assert padded[:4] == struct.pack(">I", length)
    assert unpad(padded) == text


def test_trailing_zeros_of_the_text_survive() -> None:
    """The length prefix, not the first zero, ends the text."""
    assert unpad(pad(b"ends in zeros\x00\x00")) == b"ends in zeros\x00\x00"


@pytest.mark.parametrize(
    "padded",
    [
        b"",
        b"\x00\x00\x00",
        struct.pack(">I", 5) + b"abcd",  # says 5, holds 4
        struct.pack(">I", 1) + b"a" + b"\x00" * 10 + b"\x01",  # non-zero padding
        struct.pack(">I", 2**32 - 1) + bytes(252),
    ],
)
def test_malformed_padding_cannot_open(padded: bytes) -> None:
    with pytest.raises(CannotOpen):
        unpad(padded)


def test_opener_accepts_other_class_sizes() -> None:
    """Classes may be retuned later: any consistent padding opens."""
    assert unpad(struct.pack(">I", 3) + b"abc" + bytes(100)) == b"abc"


@pytest.mark.parametrize("length", [0, 1, *BOUNDARIES, *(b + 1 for b in BOUNDARIES)])
def test_sealed_field_length_is_its_class(length: int) -> None:
    text = _text(length)
    sealed = seal_field(KEY, text, report_id="R1", field="answers")
    assert sealed[:2] == bytes((1, Kind.PADDED_FIELD))
    assert len(sealed) == padded_size(length) + AEAD_OVERHEAD
    assert open_field(KEY, sealed, report_id="R1", field="answers") == text


def test_texts_of_one_class_seal_to_one_length() -> None:
    lengths = {
        len(seal_field(KEY, _text(n), report_id="R1", field="answers")) for n in (0, 9, 200, 252)
    }
    assert lengths == {256 + AEAD_OVERHEAD}


@pytest.mark.parametrize("length", [0, 252, 253, 20_000 * 4])
def test_message_to_a_public_key_is_padded(length: int) -> None:
    text = _text(length)
    sealed = seal_to_public_key(text, PAIR.public, report_id="R1", purpose="inbox:M1")
    assert sealed[:2] == bytes((1, Kind.PADDED_MESSAGE))
    assert len(sealed) == padded_size(length) + HPKE_OVERHEAD
    assert open_with_private_key(sealed, PAIR.private, report_id="R1", purpose="inbox:M1") == text


def test_unpadded_field_of_the_older_kind_still_opens() -> None:
    old = aead.seal(KEY, b"old narrative", kind=Kind.FIELD, context=("R1", "narrative"), rng=None)
    assert len(old) == len(b"old narrative") + AEAD_OVERHEAD
    assert open_field(KEY, old, report_id="R1", field="narrative") == b"old narrative"


def test_unpadded_message_of_the_older_kind_still_opens() -> None:
    old = hpke_seal(b"old reply", PAIR.public, Kind.SUBMITTER_MESSAGE, "R1", "submitter:M1")
    opened = open_with_private_key(old, PAIR.private, report_id="R1", purpose="submitter:M1")
    assert opened == b"old reply"


def test_relabelling_between_padded_and_older_field_fails() -> None:
    """The kind byte chooses the layout, but it is authenticated: swapping it opens nothing."""
    padded = seal_field(KEY, b"x", report_id="R1", field="f")
    old = aead.seal(KEY, b"x", kind=Kind.FIELD, context=("R1", "f"), rng=None)
    for envelope, kind in ((padded, Kind.FIELD), (old, Kind.PADDED_FIELD)):
        with pytest.raises(CannotOpen):
            open_field(KEY, envelope[:1] + bytes([kind]) + envelope[2:], report_id="R1", field="f")


def test_relabelling_between_padded_and_older_message_fails() -> None:
    padded = seal_to_public_key(b"x", PAIR.public, report_id="R1", purpose="p")
    old = hpke_seal(b"x", PAIR.public, Kind.SUBMITTER_MESSAGE, "R1", "p")
    for envelope, kind in ((padded, Kind.SUBMITTER_MESSAGE), (old, Kind.PADDED_MESSAGE)):
        relabelled = envelope[:1] + bytes([kind]) + envelope[2:]
        with pytest.raises(CannotOpen):
            open_with_private_key(relabelled, PAIR.private, report_id="R1", purpose="p")


def test_a_padded_field_with_bad_padding_inside_cannot_open() -> None:
    """Even authenticated, a plaintext that is not a valid padding is refused."""
    forged = aead.seal(
        KEY, b"\x00\x00\x00\x09abc", kind=Kind.PADDED_FIELD, context=("R", "f"), rng=None
    )
    with pytest.raises(CannotOpen):
        open_field(KEY, forged, report_id="R", field="f")
