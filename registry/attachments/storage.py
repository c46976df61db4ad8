"""The directory of sealed blobs.

Only ciphertext is ever written here.  A blob is written under ``tmp/``
while the upload streams in and moved into place only when the report's
transaction is about to commit; anything left in ``tmp/`` (a failed or
interrupted submission) is swept away, so no orphan blob survives.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO


class BlobStore:
    """Sealed blobs under ``root``: ``tmp/`` while incoming, ``blobs/`` once kept."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.incoming = root / "tmp"
        self.kept = root / "blobs"

    def ensure(self) -> None:
        """Create the directories (mode 0700: blobs are nobody else's business)."""
        for path in (self.root, self.incoming, self.kept):
            path.mkdir(mode=0o700, parents=True, exist_ok=True)

    def new_incoming(self) -> tuple[str, BinaryIO]:
        """A fresh blob name and a file open for writing in ``tmp/``."""
        self.ensure()
        name = secrets.token_hex(16)
        fd = os.open(self.incoming / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        return name, os.fdopen(fd, "wb")

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
        midnight = int(time.time()) // 86400 * 86400
        os.utime(target, (midnight, midnight))

    def shred_incoming(self, name: str) -> None:
        """Overwrite an incoming blob with zeros, then delete it (best effort)."""
        path = self.incoming / _checked(name)
        with contextlib.suppress(FileNotFoundError), path.open("r+b") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(0)
            handle.write(bytes(size))
            handle.flush()
            os.fsync(handle.fileno())
        path.unlink(missing_ok=True)

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
        """Delete every leftover incoming blob; return how many."""
        if not self.incoming.exists():
            return 0
        leftovers = list(self.incoming.iterdir())
        for path in leftovers:
            path.unlink(missing_ok=True)
        return len(leftovers)

    def kept_names(self) -> set[str]:
        """Names of all kept blobs (for finding orphans)."""
        return {p.name for p in self.kept.iterdir()} if self.kept.exists() else set()


def _checked(name: str) -> str:
    # Names are ours (hex); refusing anything else rules out path traversal
    # even if a database row were tampered with.
    if len(name) != 32 or any(c not in "0123456789abcdef" for c in name):
        raise ValueError("bad blob name")
    return name
