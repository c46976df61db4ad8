"""Report data keys and the fields sealed under them."""

from __future__ import annotations

from registry.crypto import aead
from registry.crypto.envelope import Kind
from registry.crypto.randomness import Rng, draw


def new_data_key(rng: Rng | None = None) -> bytes:
    """Return a fresh random 32-byte report data key (DEK)."""
    # WHY one random key per report: a reviewer who loses access to one report,
    # or a leaked DEK, exposes that report only.
    return draw(rng, aead.KEY_LENGTH)


def seal_field(
    dek: bytes, plaintext: bytes, *, report_id: str, field: str, rng: Rng | None = None
) -> bytes:
    """Encrypt one field of a report under its data key.

    The report id and field name are authenticated, so the ciphertext cannot
    be moved to another row or column.  Raises ValueError if ``dek`` is not
    32 bytes.
    """
    return aead.seal(dek, plaintext, kind=Kind.FIELD, context=(report_id, field), rng=rng)


def open_field(dek: bytes, sealed: bytes, *, report_id: str, field: str) -> bytes:
    """Decrypt a field sealed by :func:`seal_field`; CannotOpen on any failure."""
    return aead.open_(dek, sealed, kind=Kind.FIELD, context=(report_id, field))
