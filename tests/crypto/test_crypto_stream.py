"""Sealed streams (attachments): round trip, truncation, reordering, tampering, bounded memory."""

from __future__ import annotations

import hashlib
import io
import random
import struct
from collections.abc import Callable
from typing import Any

import pytest

from registry.crypto import CannotOpen, StreamInfo, open_field, open_stream, seal_field
from registry.crypto.stream import (
    DEFAULT_CHUNK_SIZE,
    MAX_CHUNK_SIZE,
    STREAM_HEADER_LENGTH,
    seal_stream,
)

MakeRng = Callable[[int], Callable[[int], bytes]]
KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
REPORT = "R-7Q2M"
ATTACHMENT = "A-3K9P"
CHUNK = 1024
BLOCK = CHUNK + 16  # one sealed full chunk
HEADER = STREAM_HEADER_LENGTH


def _data(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


def _seal(plaintext: bytes, chunk_size: int = CHUNK, **kwargs: Any) -> tuple[bytes, StreamInfo]:
    sink = io.BytesIO()
    options: dict[str, Any] = {"report_id": REPORT, "attachment_id": ATTACHMENT} | kwargs
    key = options.pop("key", KEY)
    info = seal_stream(key, io.BytesIO(plaintext), sink, chunk_size=chunk_size, **options)
    return sink.getvalue(), info


def _open(sealed: bytes, **kwargs: Any) -> bytes:
    options: dict[str, Any] = {"report_id": REPORT, "attachment_id": ATTACHMENT} | kwargs
    key = options.pop("key", KEY)
    return b"".join(open_stream(key, io.BytesIO(sealed), **options))


def _chunks(sealed: bytes) -> list[bytes]:
    """The sealed chunks of a stream sealed with CHUNK (header removed)."""
    body = sealed[HEADER:]
    return [body[i : i + BLOCK] for i in range(0, len(body), BLOCK)]


def _flip(data: bytes, position: int, mask: int = 0x01) -> bytes:
    return data[:position] + bytes([data[position] ^ mask]) + data[position + 1 :]


class RecordingReader(io.BytesIO):
    """A source that remembers the largest read asked for, and can give short reads."""

    def __init__(self, data: bytes, most: int | None = None) -> None:
        super().__init__(data)
        self.largest = 0
        self.most = most

    def read(self, size: int | None = -1, /) -> bytes:
        assert size is not None
        assert size >= 0, "an unbounded read would hold the whole file"
        self.largest = max(self.largest, size)
        return super().read(size if self.most is None else min(size, self.most))


class RecordingWriter(io.BytesIO):
    """A sink that remembers the largest write."""

    largest = 0

    def write(self, data: Any, /) -> int:
        self.largest = max(self.largest, len(data))
        return super().write(data)


FOUR_CHUNKS = _seal(_data(3 * CHUNK + 100))[0]


@pytest.mark.parametrize(
    "size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 1, 250_007]
)
def test_round_trip(size: int) -> None:
    plaintext = _data(size, seed=size)
    sealed, info = _seal(plaintext)
    assert _open(sealed) == plaintext
    chunks = max(1, -(-size // CHUNK))  # an empty file is one empty last chunk
    assert info == StreamInfo(size, hashlib.sha256(plaintext).hexdigest(), len(sealed))
    assert len(sealed) == HEADER + size + 16 * chunks


def test_random_large_sizes() -> None:
    sizes = random.Random(7)
    for _ in range(5):
        chunk_size = sizes.randrange(1024, 8192)
        plaintext = _data(sizes.randrange(0, 200_000), seed=chunk_size)
        sealed, info = _seal(plaintext, chunk_size=chunk_size)
        assert _open(sealed) == plaintext
        assert info.sealed_size == len(sealed)


def test_five_megabytes_at_default_chunk_size() -> None:
    plaintext = _data(5_000_000)
    sealed, info = _seal(plaintext, chunk_size=DEFAULT_CHUNK_SIZE)
    assert _open(sealed) == plaintext
    assert info.sha256_hex == hashlib.sha256(plaintext).hexdigest()
    assert info.plaintext_size == 5_000_000


def test_open_yields_one_chunk_at_a_time() -> None:
    plaintext = _data(3 * CHUNK + 100)
    assert [
        len(c)
        for c in open_stream(
            KEY, io.BytesIO(FOUR_CHUNKS), report_id=REPORT, attachment_id=ATTACHMENT
        )
    ] == [CHUNK] * 3 + [100]
    assert _open(FOUR_CHUNKS) == plaintext


def test_no_plaintext_reaches_the_sink() -> None:
    sealed, _ = _seal(b"Officer badge 4471. " * 500)
    assert b"Officer" not in sealed
    assert b"4471" not in sealed


def test_header_layout(make_rng: MakeRng) -> None:
    sealed, _ = _seal(b"x", rng=make_rng(0))
    assert sealed[:2] == bytes([1, 7])  # version 1, kind STREAM
    assert sealed[2:18] == bytes(range(16))  # the salt came from the injected rng
    assert sealed[18:22] == struct.pack(">I", CHUNK)


def test_fixed_rng_makes_output_deterministic(make_rng: MakeRng) -> None:
    plaintext = _data(5000)
    first, _ = _seal(plaintext, rng=make_rng(0))
    assert _seal(plaintext, rng=make_rng(0))[0] == first
    assert _seal(plaintext, rng=make_rng(1))[0] != first


def test_sealing_twice_differs() -> None:
    assert _seal(b"same")[0] != _seal(b"same")[0]


def test_same_key_and_salt_other_attachment_uses_another_keystream(make_rng: MakeRng) -> None:
    """Counter nonces restart per file; the subkey must differ or the keystream would repeat."""
    one, two = _data(CHUNK, seed=1), _data(CHUNK, seed=2)
    sealed_one, _ = _seal(one, rng=make_rng(0), attachment_id="A-1")
    sealed_two, _ = _seal(two, rng=make_rng(0), attachment_id="A-2")
    assert sealed_one[:HEADER] == sealed_two[:HEADER]  # same key, same salt
    xor_cipher = bytes(a ^ b for a, b in zip(sealed_one[HEADER:], sealed_two[HEADER:], strict=True))
    xor_plain = bytes(a ^ b for a, b in zip(one, two, strict=True))
    assert xor_cipher[:CHUNK] != xor_plain


def test_broken_rng_is_refused() -> None:
    with pytest.raises(ValueError, match="random source"):
        _seal(b"x", rng=lambda n: bytes(n - 1))


@pytest.mark.parametrize("key_length", [0, 16, 33])
def test_wrong_key_length_seal_is_value_error(key_length: int) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        _seal(b"x", key=bytes(key_length))


@pytest.mark.parametrize("key_length", [0, 16, 33])
def test_wrong_key_length_open_is_cannot_open(key_length: int) -> None:
    with pytest.raises(CannotOpen):
        _open(FOUR_CHUNKS, key=bytes(key_length))


@pytest.mark.parametrize("chunk_size", [0, 1, 1023, MAX_CHUNK_SIZE + 1, True, 4096.0])
def test_bad_chunk_size_is_value_error(chunk_size: Any) -> None:
    with pytest.raises(ValueError, match="chunk size"):
        _seal(b"x", chunk_size=chunk_size)


def test_wrong_key() -> None:
    with pytest.raises(CannotOpen):
        _open(FOUR_CHUNKS, key=OTHER_KEY)


@pytest.mark.parametrize(
    "context",
    [
        {"report_id": "R-OTHER"},
        {"attachment_id": "A-OTHER"},
        {"report_id": ATTACHMENT, "attachment_id": REPORT},
    ],
)
def test_context_swap(context: dict[str, str]) -> None:
    with pytest.raises(CannotOpen):
        _open(FOUR_CHUNKS, **context)


def test_context_is_unambiguous() -> None:
    sealed, _ = _seal(b"x", report_id="a|b", attachment_id="c")
    with pytest.raises(CannotOpen):
        _open(sealed, report_id="a", attachment_id="b|c")


def test_wrong_key_fails_before_the_first_chunk_is_yielded() -> None:
    """A download can refuse before sending anything: open_stream itself raises."""
    with pytest.raises(CannotOpen):
        open_stream(OTHER_KEY, io.BytesIO(FOUR_CHUNKS), report_id=REPORT, attachment_id=ATTACHMENT)


def test_tampered_later_chunk_fails_after_earlier_chunks() -> None:
    """Online decryption: verified chunks come out before a later chunk fails."""
    tampered = _flip(FOUR_CHUNKS, HEADER + 2 * BLOCK + 5)
    chunks = open_stream(KEY, io.BytesIO(tampered), report_id=REPORT, attachment_id=ATTACHMENT)
    assert len(next(chunks)) == CHUNK
    assert len(next(chunks)) == CHUNK
    with pytest.raises(CannotOpen) as failure:
        next(chunks)
    assert failure.value.__cause__ is None
    assert str(failure.value) == "cannot open"


def test_truncation_to_every_shorter_length() -> None:
    for length in range(len(FOUR_CHUNKS)):
        with pytest.raises(CannotOpen):
            _open(FOUR_CHUNKS[:length])


@pytest.mark.parametrize("size", [CHUNK, 2 * CHUNK, 3 * CHUNK, 3 * CHUNK + 100])
def test_truncation_at_every_chunk_boundary(size: int) -> None:
    """Cut exactly between chunks, the rest still verifies chunk by chunk, but has no last chunk."""
    sealed, _ = _seal(_data(size))
    for boundary in range(HEADER, len(sealed), BLOCK):
        with pytest.raises(CannotOpen):
            _open(sealed[:boundary])


def test_truncation_mid_chunk() -> None:
    for start in range(HEADER, len(FOUR_CHUNKS), BLOCK):
        for cut in (1, 16, 17, BLOCK // 2, BLOCK - 16, BLOCK - 1):
            if start + cut < len(FOUR_CHUNKS):
                with pytest.raises(CannotOpen):
                    _open(FOUR_CHUNKS[: start + cut])


def test_dropping_the_last_chunk() -> None:
    chunks = _chunks(FOUR_CHUNKS)
    with pytest.raises(CannotOpen):
        _open(FOUR_CHUNKS[:HEADER] + b"".join(chunks[:-1]))


def test_dropping_a_middle_chunk() -> None:
    chunks = _chunks(FOUR_CHUNKS)
    with pytest.raises(CannotOpen):
        _open(FOUR_CHUNKS[:HEADER] + b"".join(chunks[:1] + chunks[2:]))


@pytest.mark.parametrize(("first", "second"), [(0, 1), (1, 2), (0, 2), (2, 3)])
def test_swapping_two_chunks(first: int, second: int) -> None:
    chunks = _chunks(FOUR_CHUNKS)
    chunks[first], chunks[second] = chunks[second], chunks[first]
    with pytest.raises(CannotOpen):
        _open(FOUR_CHUNKS[:HEADER] + b"".join(chunks))


@pytest.mark.parametrize("index", [0, 1, 2, 3])
def test_duplicating_a_chunk(index: int) -> None:
    chunks = _chunks(FOUR_CHUNKS)
    chunks.insert(index, chunks[index])
    with pytest.raises(CannotOpen):
        _open(FOUR_CHUNKS[:HEADER] + b"".join(chunks))


def test_flipping_any_header_bit() -> None:
    for position in range(HEADER):
        for mask in (0x01, 0x80):
            with pytest.raises(CannotOpen):
                _open(_flip(FOUR_CHUNKS, position, mask))


def test_flipping_a_bit_in_each_chunk() -> None:
    for start in range(HEADER, len(FOUR_CHUNKS), BLOCK):
        end = min(start + BLOCK, len(FOUR_CHUNKS))
        # first byte, a middle byte, the last ciphertext byte, every tag byte
        for position in (start, (start + end) // 2, end - 17, *range(end - 16, end)):
            with pytest.raises(CannotOpen):
                _open(_flip(FOUR_CHUNKS, position))


@pytest.mark.parametrize(
    "extra",
    [b"\x00", bytes(16), bytes(BLOCK), FOUR_CHUNKS[-116:]],
    ids=["one-byte", "tag-size", "block-size", "last-chunk-again"],
)
def test_appending_bytes(extra: bytes) -> None:
    with pytest.raises(CannotOpen):
        _open(FOUR_CHUNKS + extra)


@pytest.mark.parametrize("size", [0, CHUNK, 2 * CHUNK])
def test_appending_after_a_full_last_chunk(size: int) -> None:
    sealed, _ = _seal(_data(size))
    for extra in (b"\x00", _seal(b"")[0][HEADER:], sealed[-BLOCK:]):
        with pytest.raises(CannotOpen):
            _open(sealed + extra)


@pytest.mark.parametrize("other_size", [1025, 2048, 4096, 64 * 1024])
def test_edited_chunk_size_in_header(other_size: int) -> None:
    """Sealed with chunks of 1 KiB, header rewritten to another valid size: refused."""
    edited = FOUR_CHUNKS[:18] + struct.pack(">I", other_size) + FOUR_CHUNKS[22:]
    with pytest.raises(CannotOpen):
        _open(edited)


def test_edited_chunk_size_is_caught_by_the_tag_even_when_framing_agrees() -> None:
    """One short chunk frames alike under both sizes: only the authenticated header tells."""
    sealed, _ = _seal(b"short file")
    edited = sealed[:18] + struct.pack(">I", 2 * CHUNK) + sealed[22:]
    with pytest.raises(CannotOpen):
        _open(edited)


@pytest.mark.parametrize("absurd", [0, 1, 1023, MAX_CHUNK_SIZE + 1, 2**32 - 1])
def test_absurd_chunk_size_is_refused_before_reading_the_body(absurd: int) -> None:
    edited = FOUR_CHUNKS[:18] + struct.pack(">I", absurd) + FOUR_CHUNKS[22:]
    source = RecordingReader(edited)
    with pytest.raises(CannotOpen):
        open_stream(KEY, source, report_id=REPORT, attachment_id=ATTACHMENT)
    assert source.largest == HEADER


@pytest.mark.parametrize("version", [0, 2, 255])
def test_unknown_version(version: int) -> None:
    with pytest.raises(CannotOpen):
        _open(bytes([version]) + FOUR_CHUNKS[1:])


@pytest.mark.parametrize("kind", [1, 2, 3, 4, 5, 6, 8, 255])
def test_other_kinds_are_refused(kind: int) -> None:
    with pytest.raises(CannotOpen):
        _open(FOUR_CHUNKS[:1] + bytes([kind]) + FOUR_CHUNKS[2:])


def test_kind_confusion_with_fields() -> None:
    field = seal_field(KEY, b"x" * 100, report_id=REPORT, field=ATTACHMENT)
    with pytest.raises(CannotOpen):
        _open(field)
    with pytest.raises(CannotOpen):
        open_field(KEY, FOUR_CHUNKS, report_id=REPORT, field=ATTACHMENT)


def test_right_header_then_zeros() -> None:
    with pytest.raises(CannotOpen):
        _open(FOUR_CHUNKS[:HEADER] + bytes(len(FOUR_CHUNKS) - HEADER))


@pytest.mark.parametrize("chunk_size", [CHUNK, DEFAULT_CHUNK_SIZE])
def test_seal_reads_and_writes_in_bounded_pieces(chunk_size: int) -> None:
    plaintext = _data(10 * chunk_size + 3)
    source, sink = RecordingReader(plaintext), RecordingWriter()
    seal_stream(
        KEY, source, sink, report_id=REPORT, attachment_id=ATTACHMENT, chunk_size=chunk_size
    )
    assert source.largest == chunk_size
    assert sink.largest == chunk_size + 16


def test_open_reads_in_bounded_pieces_and_lazily() -> None:
    sealed, _ = _seal(_data(50 * CHUNK))
    source = RecordingReader(sealed)
    chunks = open_stream(KEY, source, report_id=REPORT, attachment_id=ATTACHMENT)
    next(chunks)
    # header, the first chunk and one chunk of look-ahead: no more
    assert source.tell() == HEADER + 2 * BLOCK
    assert b"".join(chunks)
    assert source.largest == BLOCK


def test_short_reads_give_the_same_stream(make_rng: MakeRng) -> None:
    """A socket-like source returning a few bytes per read seals exactly as a file does."""
    plaintext = _data(3 * CHUNK + 5)
    expected, _ = _seal(plaintext, rng=make_rng(0))
    sink = io.BytesIO()
    seal_stream(
        KEY,
        RecordingReader(plaintext, most=100),
        sink,
        report_id=REPORT,
        attachment_id=ATTACHMENT,
        chunk_size=CHUNK,
        rng=make_rng(0),
    )
    assert sink.getvalue() == expected
    source = RecordingReader(expected, most=7)
    assert (
        b"".join(open_stream(KEY, source, report_id=REPORT, attachment_id=ATTACHMENT)) == plaintext
    )


def test_short_writes_are_completed() -> None:
    class Trickle(io.BytesIO):
        def write(self, data: Any, /) -> int:
            return super().write(bytes(data)[:10])

    sink = Trickle()
    seal_stream(
        KEY,
        io.BytesIO(b"y" * 3000),
        sink,
        report_id=REPORT,
        attachment_id=ATTACHMENT,
        chunk_size=CHUNK,
    )
    assert _open(sink.getvalue()) == b"y" * 3000


def test_a_sink_that_accepts_nothing_is_an_error() -> None:
    class Stuck(io.BytesIO):
        def write(self, data: Any, /) -> int:
            return 0

    with pytest.raises(OSError, match="no bytes"):
        seal_stream(KEY, io.BytesIO(b"z"), Stuck(), report_id=REPORT, attachment_id=ATTACHMENT)
