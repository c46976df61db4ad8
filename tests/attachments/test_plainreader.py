"""Reading a sealed blob like a file: verified chunks, seeks, nothing whole in memory."""

from __future__ import annotations

import io
import os
from collections.abc import Generator

import pytest

from registry.attachments.plainreader import SealedReader
from registry.crypto import CannotOpen, open_stream
from registry.crypto.stream import seal_stream

KEY = bytes(range(32))
CHUNK = 1024


def _reader(plaintext: bytes, sealed: bytes | None = None) -> tuple[SealedReader, list[int]]:
    if sealed is None:
        sink = io.BytesIO()
        seal_stream(
            KEY, io.BytesIO(plaintext), sink, report_id="r", attachment_id="a", chunk_size=CHUNK
        )
        sealed = sink.getvalue()
    passes: list[int] = []

    def chunks() -> Generator[bytes, None, None]:
        passes.append(1)
        yield from open_stream(KEY, io.BytesIO(sealed), report_id="r", attachment_id="a")

    return SealedReader(chunks, len(plaintext)), passes


def test_reads_seeks_and_tells_like_a_file() -> None:
    plaintext = os.urandom(5 * CHUNK + 17)
    raw, passes = _reader(plaintext)
    with io.BufferedReader(raw, CHUNK) as reader:
        assert reader.read(10) == plaintext[:10]
        reader.seek(3 * CHUNK + 5)
        assert reader.read(CHUNK) == plaintext[3 * CHUNK + 5 : 4 * CHUNK + 5]
        assert reader.seek(0, io.SEEK_END) == len(plaintext)
        assert reader.read() == b""
        reader.seek(2)
        assert reader.read() == plaintext[2:]
    assert len(passes) == 2  # going back started the stream once more


def test_a_tampered_blob_fails_when_read() -> None:
    plaintext = os.urandom(3 * CHUNK)
    sink = io.BytesIO()
    seal_stream(
        KEY, io.BytesIO(plaintext), sink, report_id="r", attachment_id="a", chunk_size=CHUNK
    )
    sealed = bytearray(sink.getvalue())
    sealed[-5] ^= 1
    raw, _ = _reader(plaintext, bytes(sealed))
    with io.BufferedReader(raw, CHUNK) as reader, pytest.raises(CannotOpen):
        reader.read()


def test_negative_positions_are_refused() -> None:
    raw, _ = _reader(b"abc")
    with pytest.raises(OSError, match="negative"):
        raw.seek(-1)
