"""Files sealed chunk by chunk: the STREAM construction of online authenticated encryption.

Attachments can be hundreds of megabytes, so they are sealed and opened a
chunk at a time and never held whole in memory; plaintext is never written
anywhere, only read from ``source`` and, when opening, handed to the caller.
STREAM is from Hoang, Reyhanitabar, Rogaway and Vizár, "Online
Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance" (CRYPTO 2015).

Layout::

    header  = version (1) || kind (1, STREAM) || salt (16) || chunk_size (4, big-endian)
    sealed  = header || chunk_0 || chunk_1 || ... || chunk_n
    chunk_i = ChaCha20-Poly1305(subkey, nonce_i, plaintext_i, associated data = header)
    nonce_i = i (11 bytes, big-endian) || 1 if chunk_i is the last chunk else 0
    subkey  = HKDF-SHA256(key, salt, info = label, version, kind, report id, attachment id)

Every chunk but the last holds exactly ``chunk_size`` bytes of plaintext
(``chunk_size + 16`` sealed); the last holds 0 to ``chunk_size`` bytes, and
is empty only when the whole file is (an empty file is one empty last chunk).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from registry.crypto.aead import KEY_LENGTH, TAG_LENGTH
from registry.crypto.envelope import HEADER_LENGTH, Kind, associated_data, header
from registry.crypto.errors import CannotOpen
from registry.crypto.randomness import Rng, draw

SALT_LENGTH = 16
DEFAULT_CHUNK_SIZE = 64 * 1024
# WHY bounds on the chunk size: the opener reads it from the header before
# anything is authenticated, and allocates a buffer of that size; a forged
# header must not make the server allocate gigabytes (or loop over 1-byte
# chunks) before the first tag check fails.
MIN_CHUNK_SIZE = 1024
MAX_CHUNK_SIZE = 4 * 1024 * 1024

_CHUNK_SIZE_FORMAT = ">I"
STREAM_HEADER_LENGTH = HEADER_LENGTH + SALT_LENGTH + struct.calcsize(_CHUNK_SIZE_FORMAT)
_COUNTER_LENGTH = 11


@dataclass(frozen=True)
class StreamInfo:
    """What :func:`seal_stream` measured while streaming.

    ``sha256_hex`` is the SHA-256 of the plaintext as read from the source,
    for the chain of custody; ``sealed_size`` is the number of bytes written.
    """

    plaintext_size: int
    sha256_hex: str
    sealed_size: int


def seal_stream(
    dek: bytes,
    source: BinaryIO,
    sink: BinaryIO,
    *,
    report_id: str,
    attachment_id: str,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    rng: Rng | None = None,
) -> StreamInfo:
    """Read ``source`` to its end and write it, sealed, to ``sink``.

    ``dek`` is the 32-byte key the file is sealed under (the report's data
    key, or a key of the attachment's own).  ``report_id`` and
    ``attachment_id`` are bound into the subkey, so the sealed file cannot
    be moved to another attachment or report.  At most about three chunks
    are held in memory at once.  Raises ValueError if ``dek`` is not 32
    bytes, if ``chunk_size`` is outside 1 KiB .. 4 MiB, or if ``rng`` is
    broken; errors of ``source`` and ``sink`` propagate, and then ``sink``
    holds an incomplete stream that the caller must discard (it would never
    open anyway: it has no last chunk).
    """
    sealer = StreamSealer(
        dek, sink, report_id=report_id, attachment_id=attachment_id, chunk_size=chunk_size, rng=rng
    )
    while True:
        # No single read asks for more than a chunk, which bounds memory.
        data = source.read(chunk_size)
        if not data:
            return sealer.finish()
        sealer.write(data)


class StreamSealer:
    """Seal bytes written to it into ``sink``; call :meth:`finish` at the end."""

    def __init__(
        self,
        key: bytes,
        sink: BinaryIO,
        *,
        report_id: str,
        attachment_id: str,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        rng: Rng | None = None,
    ) -> None:
        if len(key) != KEY_LENGTH:
            raise ValueError("the key must be 32 bytes")
        if type(chunk_size) is not int or not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
            raise ValueError("the chunk size must be an integer from 1 KiB to 4 MiB")
        # A fresh salt per stream, as in seal_stream: a new subkey every time.
        salt = draw(rng, SALT_LENGTH)
        self._header = header(Kind.STREAM) + salt + struct.pack(_CHUNK_SIZE_FORMAT, chunk_size)
        self._cipher = ChaCha20Poly1305(
            _subkey(key, salt, report_id=report_id, attachment_id=attachment_id)
        )
        self._sink = sink
        self._chunk_size = chunk_size
        self._pending = bytearray()
        self._counter = 0
        self._digest = hashlib.sha256()
        self._size = 0
        self._sealed_size = len(self._header)
        self._done: StreamInfo | None = None
        _write_all(sink, self._header)

    def write(self, data: bytes) -> None:
        """Take more plaintext; seal every chunk that cannot be the last."""
        if self._done is not None:
            raise ValueError("the stream is finished")
        self._digest.update(data)
        self._size += len(data)
        self._pending += data
        # WHY "more than" a chunk: a chunk that exactly fills the buffer may
        # be the last one, which must carry the last flag; only more data
        # proves it is not.
        while len(self._pending) > self._chunk_size:
            self._seal(bytes(self._pending[: self._chunk_size]), last=False)
            del self._pending[: self._chunk_size]

    def finish(self) -> StreamInfo:
        """Seal what is left as the last chunk; return size and SHA-256."""
        if self._done is None:
            self._seal(bytes(self._pending), last=True)
            self._pending.clear()
            self._done = StreamInfo(self._size, self._digest.hexdigest(), self._sealed_size)
        return self._done

    def _seal(self, chunk: bytes, *, last: bool) -> None:
        sealed = self._cipher.encrypt(_nonce(self._counter, last=last), chunk, self._header)
        _write_all(self._sink, sealed)
        self._sealed_size += len(sealed)
        self._counter += 1


def open_stream(
    dek: bytes, source: BinaryIO, *, report_id: str, attachment_id: str
) -> Iterator[bytes]:
    """Open a stream sealed by :func:`seal_stream`, yielding plaintext chunks as they verify.

    The header and the first chunk are checked before this returns, so a
    wrong key, wrong ids or a forged header raise CannotOpen here, before a
    download has sent anything.  Later chunks are verified one at a time as
    the iterator is consumed: a tampered, reordered, duplicated or missing
    chunk, a truncated stream (also exactly at a chunk boundary) or bytes
    after the last chunk raise CannotOpen from the iterator, after the
    chunks before it have already been yielded.  That is inherent in online
    decryption: a consumer (a streamed download) must treat a CannotOpen
    part-way through as a failed whole, never keep or show the part it got.
    """
    stream_header = _read_exactly(source, STREAM_HEADER_LENGTH)
    if (
        len(stream_header) != STREAM_HEADER_LENGTH
        or stream_header[:HEADER_LENGTH] != header(Kind.STREAM)
        or len(dek) != KEY_LENGTH
    ):
        raise CannotOpen()
    salt = stream_header[HEADER_LENGTH : HEADER_LENGTH + SALT_LENGTH]
    (chunk_size,) = struct.unpack(_CHUNK_SIZE_FORMAT, stream_header[-4:])
    if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        raise CannotOpen()
    cipher = ChaCha20Poly1305(_subkey(dek, salt, report_id=report_id, attachment_id=attachment_id))
    chunks = _open_chunks(cipher, stream_header, source, chunk_size + TAG_LENGTH)
    # There is always a first chunk (or CannotOpen), so next() cannot stop.
    first = next(chunks)
    return _yield_all(first, chunks)


def _open_chunks(
    cipher: ChaCha20Poly1305, stream_header: bytes, source: BinaryIO, block_size: int
) -> Iterator[bytes]:
    current = _read_exactly(source, block_size)
    counter = 0
    while True:
        # WHY decide "last" from the end of the source, not from the data: a
        # stream cut at a chunk boundary then opens its final chunk with the
        # last flag, which that chunk was not sealed with, so truncation
        # fails; bytes appended after the real last chunk make it open
        # without the flag, so extension fails too.
        following = _read_exactly(source, block_size) if len(current) == block_size else b""
        last = not following
        try:
            plaintext = cipher.decrypt(_nonce(counter, last=last), current, stream_header)
        except (InvalidTag, ValueError):
            # WHY "from None": a wrong key, a bad tag and a short chunk must
            # look identical, with no chained cause to read.
            raise CannotOpen() from None
        yield plaintext
        if last:
            return
        current = following
        counter += 1


def _yield_all(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


def _subkey(dek: bytes, salt: bytes, *, report_id: str, attachment_id: str) -> bytes:
    # WHY a subkey per stream rather than the key itself: the counter nonces
    # restart at 0 for every file, so each file needs a key of its own; and
    # the ids in ``info`` bind the file to its attachment row and report
    # (the label and header in it separate this use of the key from fields).
    info = associated_data(Kind.STREAM, report_id, attachment_id)
    return HKDF(algorithm=hashes.SHA256(), length=KEY_LENGTH, salt=salt, info=info).derive(dek)


def _nonce(counter: int, *, last: bool) -> bytes:
    # WHY counter || last flag: the position of every chunk is authenticated
    # (no reordering, dropping or duplicating), and so is which chunk ends
    # the file (no truncation).  An 11-byte counter cannot overflow: 2**88
    # chunks of at least 1 KiB is beyond any file.
    return counter.to_bytes(_COUNTER_LENGTH, "big") + (b"\x01" if last else b"\x00")


def _read_exactly(source: BinaryIO, length: int) -> bytes:
    # WHY loop: pipes, sockets and request bodies may return fewer bytes than
    # asked before their end; chunk boundaries must depend only on the data.
    # No single read asks for more than ``length`` bytes, which bounds memory.
    parts: list[bytes] = []
    remaining = length
    while remaining > 0:
        part = source.read(remaining)
        if not part:
            break
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)


def _write_all(sink: BinaryIO, data: bytes) -> None:
    # WHY loop: a raw (unbuffered) file may write only part of what it is
    # given; a silently short write would leave an unopenable blob, that is,
    # lost evidence.
    view = memoryview(data)
    while view:
        written = sink.write(view)
        if not written:
            raise OSError("the sink accepted no bytes")
        view = view[written:]
