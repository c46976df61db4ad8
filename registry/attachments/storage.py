"""The directory of sealed blobs.

Only ciphertext is ever written here.  A blob is written under ``tmp/``
while the upload streams in and moved into place only when the report's
transaction is about to commit; anything left in ``tmp/`` (a failed or
interrupted submission) is swept away, so no orphan blob survives.

WHY incoming blobs are locked: an upload over Tor may stream for an hour,
and a finished one may still wait for its request to commit, so no age
tells a live blob from a dead one.  The process writing a blob holds an
exclusive ``flock`` on it from creation until its request ends; the sweep
deletes only blobs it can lock itself.  The kernel drops a process's locks
the moment it dies, however it dies (crash, SIGKILL, a worker recycled), so
exactly the blobs of dead uploads are swept, by any process of the site.

WHY a ``held/`` folder: when the report form comes back with an error, the
files already sealed stay for the next try (issue 13).  Their keys live
only in the person's page (:mod:`registry.attachments.held`); here each is
ciphertext nobody on the server can open, dated midnight, and deleted by
the sweep once a full day has passed without the form being sent.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import time
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.orm import Session

# Held blobs are swept once their day is this many days past (so after one
# to two days: file times carry the day only, promise 3).
HOLD_DAYS = 1
# How often a new blob name is tried when a sweep deleted the file between
# its creation and its lock (each try takes a fresh random name).
_CREATE_TRIES = 5


def shred_file(path: Path) -> None:
    """Overwrite a file with zeros, flush it to disk, then delete it (best effort).

    For files whose freed blocks must not keep what they held (an incoming
    blob, a database copy made for a backup): a plain unlink leaves the old
    bytes on the disk until something else is written there.
    """
    with contextlib.suppress(FileNotFoundError), path.open("r+b") as handle:
        size = handle.seek(0, os.SEEK_END)
        handle.seek(0)
        for start in range(0, size, 1 << 20):
            handle.write(bytes(min(1 << 20, size - start)))
        handle.flush()
        os.fsync(handle.fileno())
    path.unlink(missing_ok=True)


def midnight() -> int:
    """Midnight UTC of today, as a Unix time (for file times that date nothing)."""
    return int(time.time()) // 86400 * 86400


class IncomingBlob:
    """A blob being written under ``tmp/``, locked against the sweep until released."""

    def __init__(self, name: str, path: Path, sink: BinaryIO, lock_fd: int) -> None:
        self.name = name
        self.path = path
        self.sink = sink
        self._lock_fd: int | None = lock_fd

    def finish(self) -> None:
        """Close the writer and set the file's times to midnight UTC.

        WHY: a finished blob may wait in ``tmp/`` for its request to commit,
        or be left there by a process that dies; its modification time would
        otherwise say to the second when a person's upload ended (promise 3).
        """
        if not self.sink.closed:
            self.sink.close()
        stamp = midnight()
        with contextlib.suppress(FileNotFoundError):
            os.utime(self.path, (stamp, stamp))

    def release(self) -> None:
        """Close the writer and drop the lock (at the end of the request; idempotent).

        Call it only after the blob was kept or deleted: once released, an
        incoming blob is the sweep's.
        """
        if not self.sink.closed:
            self.sink.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


class BlobStore:
    """Sealed blobs under ``root``: ``tmp/`` while incoming, ``held/`` between two
    tries of a form, ``blobs/`` once kept."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.incoming = root / "tmp"
        self.kept = root / "blobs"
        self.held = root / "held"

    def ensure(self) -> None:
        """Create the directories (mode 0700: blobs are nobody else's business)."""
        for path in (self.root, self.incoming, self.kept, self.held):
            path.mkdir(mode=0o700, parents=True, exist_ok=True)

    def new_incoming(self) -> IncomingBlob:
        """A fresh blob in ``tmp/``, open for writing and locked by this process."""
        self.ensure()
        for _ in range(_CREATE_TRIES):
            name = secrets.token_hex(16)
            path = self.incoming / name
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            try:
                # Blocks only while a sweep holds this new file (microseconds).
                fcntl.flock(fd, fcntl.LOCK_EX)
                # WHY check after locking: a sweep may have locked and deleted
                # the file between its creation and this lock; writing into
                # that unlinked file would lose the upload, so take a new name.
                if _same_file(path, fd):
                    # WHY a duplicate descriptor: it shares the lock, so the
                    # lock outlives the writer, which closes when the stream
                    # ends while the request may still be running.
                    lock_fd = os.dup(fd)
                    return IncomingBlob(name, path, os.fdopen(fd, "wb"), lock_fd)
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)
        raise OSError("no incoming blob could be created")

    def incoming_path(self, name: str) -> Path:
        """Where an incoming blob is being written."""
        return self.incoming / _checked(name)

    def keep(self, name: str) -> None:
        """Move an incoming blob into place (same filesystem: atomic).

        Its access and modification times are set back to midnight UTC: a
        file's exact time would date a submitter's action (promise 3).
        """
        target = self.kept / _checked(name)
        os.replace(self.incoming / _checked(name), target)
        stamp = midnight()
        os.utime(target, (stamp, stamp))

    def hold(self, name: str) -> None:
        """Move a finished incoming blob to ``held/``, dated midnight, for the form's next try.

        The caller still holds the blob's lock until its request ends, so no
        sweep takes it in between.
        """
        target = self.held / _checked(name)
        os.replace(self.incoming / _checked(name), target)
        stamp = midnight()
        os.utime(target, (stamp, stamp))

    def claim_held(self, name: str) -> IncomingBlob | None:
        """Take a held blob back into ``tmp/``, locked like a new upload; None if gone.

        None too when another request holds it (the same form sent twice at
        once): one of them gets the file, never both.
        """
        path = self.held / _checked(name)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            # Only the very file still named in held/ (not swept meanwhile).
            if not _same_file(path, fd):
                os.close(fd)
                return None
            os.replace(path, self.incoming / name)
        except OSError:
            os.close(fd)
            return None
        # Nothing more is written to a held blob: its writer is a closed handle.
        sink = os.fdopen(os.dup(fd), "rb")
        sink.close()
        return IncomingBlob(name, self.incoming / name, sink, fd)

    def sweep_held(self, days: int = HOLD_DAYS) -> int:
        """Delete the held blobs of forms left unsent for ``days`` full days; return how many."""
        try:
            entries = [entry.name for entry in os.scandir(self.held)]
        except FileNotFoundError:
            return 0
        before = midnight() - days * 86400
        return sum(
            _sweep_one(self.held / name, older_than=before)
            for name in entries
            if is_blob_name(name)
        )

    def shred_incoming(self, name: str) -> None:
        """Overwrite an incoming blob with zeros, then delete it (best effort)."""
        shred_file(self.incoming / _checked(name))

    def keep_and_commit(self, db: Session, names: Iterable[str]) -> None:
        """Move the incoming blobs ``names`` into place, then commit ``db``.

        The one way a request stores files with their rows: if a move or the
        commit fails, the transaction is rolled back and every blob moved so
        far is deleted again, so no kept blob is without its row and no row
        without its blob.  Blobs are moved before the commit because a
        committed row whose blob never arrived would be damage.
        """
        kept: list[str] = []
        try:
            for name in names:
                self.keep(name)
                kept.append(name)
            db.commit()
        except BaseException:
            db.rollback()
            self.discard(kept)
            raise

    def discard(self, names: Iterable[str]) -> None:
        """Delete incoming or kept blobs; missing ones are fine."""
        for name in names:
            for folder in (self.incoming, self.kept):
                (folder / _checked(name)).unlink(missing_ok=True)

    def discard_incoming(self, names: Iterable[str]) -> None:
        """Delete incoming blobs (kept ones are not touched)."""
        for name in names:
            (self.incoming / _checked(name)).unlink(missing_ok=True)

    def open(self, name: str) -> BinaryIO:
        """Open a kept blob for reading."""
        return (self.kept / _checked(name)).open("rb")

    def sweep_incoming(self) -> int:
        """Delete the incoming blobs of dead uploads; return how many.

        A blob some live process holds (streaming, or waiting for its request
        to commit) is left alone, whatever its age.  WHY unlink without
        zero-filling first: a leftover is ciphertext under a key that lived
        only in the memory of the process that died, so it opens for nobody;
        overwriting it would let anyone who starts and drops uploads make the
        server write every byte twice (and on SSDs and journaling file
        systems promises nothing anyway).
        """
        try:
            entries = [entry.name for entry in os.scandir(self.incoming)]
        except FileNotFoundError:
            return 0
        return sum(_sweep_one(self.incoming / name) for name in entries if is_blob_name(name))

    def kept_names(self) -> set[str]:
        """Names of all kept blobs (for finding orphans)."""
        return {p.name for p in self.kept.iterdir()} if self.kept.exists() else set()


def _sweep_one(path: Path, *, older_than: int | None = None) -> bool:
    try:
        # O_NOFOLLOW and O_NONBLOCK: a planted link or FIFO is never followed
        # or waited on (and is then not ours to delete: the lock check fails).
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return False  # gone already (kept, discarded or swept by another worker)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False  # a live upload holds it
        # WHY check the name still points at the file locked: it may have been
        # kept (moved to blobs/) or deleted after it was listed; only the very
        # file in tmp/ that nobody holds is deleted.  The unlink happens while
        # the lock is held, so no writer can take the file in between.
        if not _same_file(path, fd):
            return False
        if older_than is not None and os.fstat(fd).st_mtime >= older_than:
            return False  # a held blob whose form may still be sent
        path.unlink()
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def _same_file(path: Path, fd: int) -> bool:
    try:
        named = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)


def is_blob_name(name: str) -> bool:
    """Whether ``name`` is a blob name this store makes (32 hex digits), so never a path."""
    return len(name) == 32 and all(c in "0123456789abcdef" for c in name)


def _checked(name: str) -> str:
    # Names are ours (hex); refusing anything else rules out path traversal
    # even if a database row were tampered with.
    if not is_blob_name(name):
        raise ValueError("bad blob name")
    return name
