"""Report data keys and the fields sealed under them.

Every field is sealed padded (kind PADDED_FIELD, see
:mod:`registry.crypto.padding`), so its length says only a size class.
Fields stored before padding (kind FIELD, the plain text under the AEAD)
still open: they cannot be re-sealed without the report's key, which the
server does not hold.
"""

from __future__ import annotations

from registry.crypto import aead
from registry.crypto.envelope import Kind, kind_of
from registry.crypto.padding import pad, unpad
from registry.crypto.randomness import Rng, draw


def new_data_key(rng: Rng | None = None) -> bytes:
    """Return a fresh random 32-byte report data key (DEK)."""
    # WHY one random key per report: a reviewer who loses access to one report,
    # or a leaked DEK, exposes that report only.
    return draw(rng, aead.KEY_LENGTH)


def seal_field(
    dek: bytes, plaintext: bytes, *, report_id: str, field: str, rng: Rng | None = None
) -> bytes:
    """Encrypt one field of a report under its data key, padded to its size class.

    The report id and field name are authenticated, so the ciphertext cannot
    be moved to another row or column.  Raises ValueError if ``dek`` is not
    32 bytes.
    """
    # WHY pad every field, not only the report's texts: notes, replies,
    # rationales and keys are read off the disk the same way, and one rule
    # leaves no caller to forget.
    return aead.seal(
        dek, pad(plaintext), kind=Kind.PADDED_FIELD, context=(report_id, field), rng=rng
    )


def open_field(dek: bytes, sealed: bytes, *, report_id: str, field: str) -> bytes:
    """Decrypt a field sealed by :func:`seal_field`, padded or of the older plain kind.

    Raises CannotOpen on any failure.
    """
    # WHY trusting the kind byte to choose is safe: the header is part of the
    # associated data, so relabelling a padded field as an old one (or back)
    # makes the AEAD check fail; it never opens with the wrong layout.
    if kind_of(sealed) == Kind.PADDED_FIELD:
        padded = aead.open_(dek, sealed, kind=Kind.PADDED_FIELD, context=(report_id, field))
        return unpad(padded)
    return aead.open_(dek, sealed, kind=Kind.FIELD, context=(report_id, field))
