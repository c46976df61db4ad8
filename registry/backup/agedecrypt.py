"""An ``age`` file decrypted while it is read: the counterpart of registry.packing.agestream.

``pyrage.decrypt_io`` pushes plaintext into a writer; ``tarfile`` pulls.
So the decryption runs on a thread of its own and hands pieces through a
small bounded queue to :class:`DecryptedReader`, a file object ``tarfile``
reads in stream mode.  Memory stays flat whatever the backup's size.

``age`` authenticates every 64 KiB chunk and marks the last one, so a cut
or changed file fails, but only when the damaged chunk is reached:
everything read before may already have been handed on.  The restore
therefore stages what it reads and applies it only after the whole file
has decrypted (registry.backup.restore).
"""

from __future__ import annotations

import contextlib
import io
import queue
import threading
from typing import TYPE_CHECKING, Any, BinaryIO

import pyrage

from registry.packing.agestream import QueueSink, Stopped, put_unless_stopped

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

QUEUE_PIECES = 16
JOIN_SECONDS = 10.0


class WrongKey(Exception):
    """No identity given opens this file."""


class Damaged(Exception):
    """The file is cut or changed (or not an age file)."""


class _Prefixed(io.RawIOBase):
    """``prefix`` (bytes already read from ``source``), then the rest of ``source``."""

    def __init__(self, prefix: bytes, source: BinaryIO) -> None:
        super().__init__()
        self._prefix = memoryview(prefix)
        self._source = source

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        target = memoryview(buffer).cast("B")
        if self._prefix:
            count = min(len(target), len(self._prefix))
            target[:count] = self._prefix[:count]
            self._prefix = self._prefix[count:]
            return count
        data = self._source.read(len(target))
        target[: len(data)] = data
        return len(data)


_END = object()


class DecryptedReader(io.RawIOBase):
    """The plaintext of an age file, read as a stream; raises WrongKey or Damaged."""

    def __init__(self, prefix: bytes, source: BinaryIO, identities: list[Any]) -> None:
        super().__init__()
        self._pieces: queue.Queue[Any] = queue.Queue(maxsize=QUEUE_PIECES)
        self._stop = threading.Event()
        self._pending = memoryview(b"")
        self._ended = False
        encrypted = io.BufferedReader(_Prefixed(prefix, source))
        self._thread = threading.Thread(
            target=self._run, args=(encrypted, identities), name="sviedka-restore", daemon=True
        )
        self._thread.start()

    def _run(self, encrypted: io.BufferedReader, identities: list[Any]) -> None:
        outcome: object = _END
        try:
            pyrage.decrypt_io(encrypted, QueueSink(self._pieces, self._stop), identities)
        except BaseException as error:  # handed to the reader, raised there
            outcome = error
        with contextlib.suppress(Stopped):
            put_unless_stopped(self._pieces, outcome, self._stop)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        while not self._pending:
            if self._ended:
                return 0
            item = self._pieces.get()
            if item is _END:
                self._ended = True
                return 0
            if isinstance(item, BaseException):
                self._ended = True
                raise _translated(item)
            self._pending = memoryview(item)
        target = memoryview(buffer).cast("B")
        count = min(len(target), len(self._pending))
        target[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count

    def close(self) -> None:
        """Stop the decryption thread (also when the reader is abandoned early)."""
        self._stop.set()
        while True:
            try:
                self._pieces.get_nowait()
            except queue.Empty:
                break
        self._thread.join(JOIN_SECONDS)
        super().close()


def _translated(error: BaseException) -> Exception:
    # pyrage says "No matching keys found" when no identity opens the header;
    # every other failure (cut, changed, not age at all) is damage.
    if isinstance(error, pyrage.DecryptError) and "matching keys" in str(error):
        return WrongKey()
    return Damaged(str(error) or type(error).__name__)
