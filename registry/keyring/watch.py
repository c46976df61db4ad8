"""The escrow public key as ``keys/escrow.pub`` holds it now, for long-running workers.

WHY a watch instead of the key read at start: a worker that read the file
once wrapped every later report to the key of its start, so reports filed
after ``registry escrow create`` (or ``rotate``) without a restart got no
wrap to the current key (issue 12, hole a).  Each read costs one ``stat``;
the file is read again only when its inode, size or modification time
change.  ``rotate`` installs a new key by renaming a complete file into
place, so a reader never sees half a key.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from registry.keyring import escrow_fingerprint
from registry.keyring.armor import PUBLIC_HEADER, dearmor


@dataclass(frozen=True)
class EscrowKey:
    """An escrow public key and its fingerprint (``key_wraps.escrow_key``)."""

    public: bytes
    fingerprint: str


def read_escrow_key(path: Path) -> EscrowKey:
    """The escrow public key in ``path``; ValueError if it is not one, OSError if unreadable."""
    try:
        public = dearmor(PUBLIC_HEADER, path.read_text(encoding="ascii"))
    except UnicodeDecodeError:
        raise ValueError("not an escrow public key") from None
    return EscrowKey(public, escrow_fingerprint(public))


class EscrowWatch:
    """The current escrow key of one deployment, re-read when its file changes.

    Also remembers, per key, that no report lacks a wrap to it (see
    registry.keyring.backfill), so that the check is not repeated at every
    login once the backfill is done.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int, int] | None = None
        self._key: EscrowKey | None = None
        self._covered: str | None = None

    def current(self) -> EscrowKey | None:
        """The key in the file now; None when there is no escrow key."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        stamp = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        with self._lock:
            if stamp == self._stamp:
                return self._key
            try:
                key = read_escrow_key(self.path)
            except (OSError, ValueError):
                # A file being replaced by hand, or damaged: keep wrapping to
                # the last good key rather than to none (and try again next time).
                return self._key
            self._stamp, self._key = stamp, key
            return key

    def covered(self, fingerprint: str) -> bool:
        """Whether every report was found to have a wrap to this key (in this worker)."""
        return self._covered == fingerprint

    def note_covered(self, fingerprint: str) -> None:
        """Remember that no report lacks a wrap to this key.

        New reports always get one (intake reads :meth:`current`), so this
        stays true until the key changes.
        """
        self._covered = fingerprint
