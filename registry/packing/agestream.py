"""Encrypting a stream to ``age`` recipients while it is sent: flat memory, no disk.

``pyrage.encrypt_io(reader, writer, recipients)`` reads its input 8 KiB at
a time and writes the age file 64 KiB at a time as it goes.  It runs here on
a thread of its own: its reader pulls from the plaintext chunks (the tar
stream), its writer puts each piece into a small bounded queue, and
:func:`encrypted` hands the pieces to the response as the client takes them.
So at most :data:`QUEUE_PIECES` pieces wait in memory, whatever the pack's
size; a slow client slows the encryption down instead of filling memory.

When the response is closed early (the client went away, the server cut
it), the consumer sets a stop flag: the reader and the writer then raise at
their next call, ``encrypt_io`` returns, and the thread closes the chunks
(which closes any open blob) and ends.  A failure on the thread (a file that
no longer verifies) ends the response with an error, so the client gets a
truncated age file, which ``age -d`` refuses, never a short pack that looks
complete.
"""

from __future__ import annotations

import contextlib
import io
import queue
import threading
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

import pyrage

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer

# 16 × 64 KiB: about 1 MiB of ciphertext waits at most.
QUEUE_PIECES = 16
# How often a blocked writer looks at the stop flag.
POLL_SECONDS = 0.05
# How long a closed response waits for the thread to notice (it notices
# within one poll or one chunk; this bounds a wait on a stuck disk).
JOIN_SECONDS = 10.0


class Stopped(Exception):
    """The consumer went away; the encryption thread stops."""


class PackFailed(Exception):
    """The encryption thread failed; the response must end as an error."""


class _Source(io.RawIOBase):
    """The reader ``encrypt_io`` pulls from: the plaintext chunks, in pieces."""

    def __init__(self, chunks: Iterator[bytes], stop: threading.Event) -> None:
        super().__init__()
        self._chunks = chunks
        self._stop = stop
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        if self._stop.is_set():
            raise Stopped()
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = memoryview(chunk)
        target = memoryview(buffer).cast("B")
        count = min(len(target), len(self._pending))
        target[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count


class QueueSink(io.RawIOBase):
    """The writer pyrage pushes to (encrypt_io, decrypt_io): a bounded queue a reader drains.

    Shared by the pack stream here and the backup reader
    (registry.backup.agedecrypt): both run pyrage on a thread of its own.
    """

    def __init__(self, pieces: queue.Queue[Any], stop: threading.Event) -> None:
        super().__init__()
        self._pieces = pieces
        self._stop = stop

    def writable(self) -> bool:
        return True

    def write(self, data: ReadableBuffer) -> int:
        piece = bytes(data)
        put_unless_stopped(self._pieces, piece, self._stop)
        return len(piece)


def put_unless_stopped(pieces: queue.Queue[Any], item: object, stop: threading.Event) -> None:
    """Put ``item`` when there is room; raise :class:`Stopped` once the consumer has gone."""
    while True:
        if stop.is_set():
            raise Stopped()
        try:
            pieces.put(item, timeout=POLL_SECONDS)
            return
        except queue.Full:
            continue


_END = object()


def encrypted(
    chunks: Generator[bytes, None, None], recipients: list[Any]
) -> Generator[bytes, None, None]:
    """The age encryption of ``chunks`` to ``recipients`` (pyrage recipients), piece by piece.

    The thread starts at the first ``next()``; ``chunks`` is consumed (and
    closed) on that thread only.  Closing this generator stops the thread.
    """
    pieces: queue.Queue[Any] = queue.Queue(maxsize=QUEUE_PIECES)
    stop = threading.Event()

    def run() -> None:
        outcome: object = _END
        try:
            pyrage.encrypt_io(_Source(chunks, stop), QueueSink(pieces, stop), recipients)
        except BaseException as error:  # handed to the consumer, raised there
            outcome = error
        finally:
            chunks.close()
        # Stopped: nobody is left to tell.
        with contextlib.suppress(Stopped):
            put_unless_stopped(pieces, outcome, stop)

    thread = threading.Thread(target=run, name="sviedka-pack", daemon=True)
    thread.start()
    try:
        while True:
            item = pieces.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise PackFailed() from item
            yield item
    finally:
        stop.set()
        # Free a writer blocked on a full queue at once.
        while True:
            try:
                pieces.get_nowait()
            except queue.Empty:
                break
        thread.join(JOIN_SECONDS)
