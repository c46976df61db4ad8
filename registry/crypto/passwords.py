"""Private keys locked under a password (reviewers' keys, the escrow key file).

Body layout::

    params (12: memory KiB, iterations, lanes; big-endian u32)
    || salt (16) || nonce (12) || ciphertext || tag (16)

Params and salt form the authenticated preamble, so costs can be raised for
new locks while old envelopes still open with the costs they were made with.
"""

from __future__ import annotations

import struct
import unicodedata

from registry.crypto import aead
from registry.crypto.envelope import Kind
from registry.crypto.errors import CannotOpen
from registry.crypto.kdf import PARAMS_LENGTH, Argon2Params, argon2id
from registry.crypto.keys import PRIVATE_KEY_LENGTH
from registry.crypto.randomness import Rng, draw

SALT_LENGTH = 16
_PREAMBLE_LENGTH = PARAMS_LENGTH + SALT_LENGTH
_LABEL = b"sviedka/v1/password-lock"


def _key_from_password(password: str, salt: bytes, params: Argon2Params) -> bytes:
    # WHY NFC: the same password typed on two systems may arrive composed
    # ("é") or decomposed ("e" + accent); both must unlock the key.
    secret = unicodedata.normalize("NFC", password).encode("utf-8")
    return argon2id(secret, salt=salt, params=params, label=_LABEL)


def lock_private_key(
    private_key: bytes, password: str, *, params: Argon2Params, rng: Rng | None = None
) -> bytes:
    """Encrypt a 96-byte private key under a key derived from ``password`` with Argon2id.

    Raises ValueError if the private key is not 96 bytes.
    """
    if len(private_key) != PRIVATE_KEY_LENGTH:
        raise ValueError("a private key is 96 bytes")
    # WHY a fresh salt per lock: two reviewers with the same password, or one
    # reviewer re-locking, never share a key-encryption key.
    salt = draw(rng, SALT_LENGTH)
    kek = _key_from_password(password, salt, params)
    preamble = params.encode() + salt
    return aead.seal(
        kek, private_key, kind=Kind.PASSWORD_LOCK, context=(), rng=rng, preamble=preamble
    )


def unlock_private_key(locked: bytes, password: str) -> bytes:
    """Recover the private key locked by :func:`lock_private_key`.

    Wrong password, tampering, truncation or unreasonable cost parameters all
    raise CannotOpen.
    """
    preamble = aead.preamble_of(locked, kind=Kind.PASSWORD_LOCK, length=_PREAMBLE_LENGTH)
    try:
        # WHY validate before deriving: the bounds in Argon2Params stop a
        # forged envelope from making the server run a huge Argon2.
        params = Argon2Params.decode(preamble[:PARAMS_LENGTH])
    except (ValueError, struct.error):
        raise CannotOpen() from None
    kek = _key_from_password(password, preamble[PARAMS_LENGTH:], params)
    private_key = aead.open_(
        kek, locked, kind=Kind.PASSWORD_LOCK, context=(), preamble_length=_PREAMBLE_LENGTH
    )
    if len(private_key) != PRIVATE_KEY_LENGTH:
        raise CannotOpen()
    return private_key
