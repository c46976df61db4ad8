"""ChaCha20-Poly1305 envelopes: the shared core of fields, sessions, locks and local secrets.

Body layout: ``preamble || nonce (12) || ciphertext || tag (16)``.  The
preamble (empty except for password locks) is authenticated as part of the
associated data.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from registry.crypto.envelope import HEADER_LENGTH, Kind, associated_data, body_of, header
from registry.crypto.errors import CannotOpen
from registry.crypto.randomness import Rng, draw

KEY_LENGTH = 32
NONCE_LENGTH = 12
TAG_LENGTH = 16


def seal(
    key: bytes,
    plaintext: bytes,
    *,
    kind: Kind,
    context: Sequence[bytes | str],
    rng: Rng | None,
    preamble: bytes = b"",
) -> bytes:
    """Encrypt ``plaintext`` under ``key`` into an envelope of ``kind`` bound to ``context``."""
    if len(key) != KEY_LENGTH:
        raise ValueError("the key must be 32 bytes")
    # WHY a random 96-bit nonce is safe here: every key seals few messages
    # (a report's handful of fields, one session key, one TOTP seed), far
    # below the ~2^32 messages per key at which random nonces could collide.
    nonce = draw(rng, NONCE_LENGTH)
    ad = associated_data(kind, preamble, *context)
    return header(kind) + preamble + nonce + ChaCha20Poly1305(key).encrypt(nonce, plaintext, ad)


def preamble_of(envelope: bytes, *, kind: Kind, length: int) -> bytes:
    """Return the ``length``-byte preamble of ``envelope`` (CannotOpen if too short)."""
    body = body_of(envelope, kind)
    # WHY check the minimum length before anything else: a truncated envelope
    # must fail the same way as a forged one, never with an IndexError.
    if len(body) < length + NONCE_LENGTH + TAG_LENGTH:
        raise CannotOpen()
    return body[:length]


def open_(
    key: bytes,
    envelope: bytes,
    *,
    kind: Kind,
    context: Sequence[bytes | str],
    preamble_length: int = 0,
) -> bytes:
    """Decrypt an envelope made by :func:`seal`; CannotOpen on any failure."""
    preamble = preamble_of(envelope, kind=kind, length=preamble_length)
    start = HEADER_LENGTH + preamble_length
    nonce, ciphertext = envelope[start : start + NONCE_LENGTH], envelope[start + NONCE_LENGTH :]
    ad = associated_data(kind, preamble, *context)
    try:
        return ChaCha20Poly1305(key).decrypt(nonce, ciphertext, ad)
    except (InvalidTag, ValueError, TypeError):
        # WHY one exception and "from None": a wrong key, a bad tag and a
        # malformed key must look identical, with no chained cause to read.
        raise CannotOpen() from None
