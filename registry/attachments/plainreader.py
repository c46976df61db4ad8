"""A sealed incoming blob read like a file, one verified chunk in memory at a time.

WHY not the whole plaintext in memory: a photo may be a 50 MB file, and
cleaning it also needs the decoded pixels; holding the file too would
double what one upload costs a worker.  Pillow reads a picture mostly
front to back, and needs ``seek`` only to go back to the start or a few
bytes behind (within the buffer of :class:`io.BufferedReader`).  Going back
further opens the stream again from its first chunk: it costs a second
decryption, never a second copy.  Nothing is written anywhere.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Generator

Chunks = Generator[bytes, None, None]


class SealedReader(io.RawIOBase):
    """Read-only, seekable plaintext of ``size`` bytes from ``reopen()``'s chunks.

    ``reopen`` starts the verified plaintext chunks of the blob from the
    beginning (each call a new pass).
    """

    def __init__(self, reopen: Callable[[], Chunks], size: int) -> None:
        super().__init__()
        self._reopen = reopen
        self._size = size
        self._chunks: Chunks | None = None
        self._chunk = b""
        self._chunk_start = 0
        self._position = 0

    def readable(self) -> bool:
        """Always: this is a reader."""
        return True

    def seekable(self) -> bool:
        """Always: going back starts the stream again."""
        return True

    def tell(self) -> int:
        """The position in the plaintext."""
        return self._position

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        """Move the position (nothing is read until the next read)."""
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._position, os.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise OSError("negative seek position")
        self._position = base + offset
        return self._position

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        """Copy plaintext at the position into ``buffer``; 0 at the end."""
        chunks = self._chunks
        if chunks is None or self._position < self._chunk_start:
            chunks = self._restart()
        while self._position >= self._chunk_start + len(self._chunk):
            following = next(chunks, None)
            if following is None:
                return 0
            self._chunk_start += len(self._chunk)
            self._chunk = following
        offset = self._position - self._chunk_start
        count = min(len(buffer), len(self._chunk) - offset)
        buffer[:count] = self._chunk[offset : offset + count]
        self._position += count
        return count

    def close(self) -> None:
        """Stop the stream (and drop the chunk held)."""
        self._stop()
        super().close()

    def _restart(self) -> Chunks:
        self._stop()
        self._chunks = self._reopen()
        self._chunk, self._chunk_start = b"", 0
        return self._chunks

    def _stop(self) -> None:
        if self._chunks is not None:
            self._chunks.close()
            self._chunks = None
        self._chunk = b""
