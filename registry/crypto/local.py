"""Small secrets (e.g. the follow-up cookie) sealed under the deployment's local key.

WHY: a leak of the database alone (a backup, an SQL injection) must not
reveal these secrets; the local key lives on disk outside the database.
It does not help against a seized disk, which holds the key too: TOTP seeds,
once sealed here, now go under the password (:mod:`registry.crypto.second_factor`);
this opener still reads the old ones once, to move them.
"""

from __future__ import annotations

from registry.crypto import aead
from registry.crypto.envelope import Kind, kind_of
from registry.crypto.randomness import Rng


def seal_local(key: bytes, plaintext: bytes, *, context: str, rng: Rng | None = None) -> bytes:
    """Encrypt ``plaintext`` under the 32-byte local ``key``, bound to ``context``.

    Raises ValueError if ``key`` is not 32 bytes.
    """
    return aead.seal(key, plaintext, kind=Kind.LOCAL, context=(context,), rng=rng)


def open_local(key: bytes, sealed: bytes, *, context: str) -> bytes:
    """Decrypt a value sealed by :func:`seal_local`; CannotOpen on any failure."""
    return aead.open_(key, sealed, kind=Kind.LOCAL, context=(context,))


def is_sealed_locally(blob: bytes) -> bool:
    """True when ``blob`` is an envelope of :func:`seal_local` (not opened or checked)."""
    return kind_of(blob) is Kind.LOCAL
