"""A reviewer's private key re-sealed for one login session.

The session secret exists only in the browser cookie; the server keeps the
sealed key and a hash of the session id (``session_ref``).  A stolen database
therefore holds no usable private key, and a stolen cookie alone holds no key
material either.
"""

from __future__ import annotations

from registry.crypto import aead
from registry.crypto.envelope import Kind
from registry.crypto.errors import CannotOpen
from registry.crypto.keys import PRIVATE_KEY_LENGTH
from registry.crypto.randomness import Rng, draw


def new_session_secret(rng: Rng | None = None) -> bytes:
    """Return a fresh random 32-byte session secret (to be kept only in the cookie)."""
    return draw(rng, aead.KEY_LENGTH)


def seal_for_session(
    private_key: bytes, session_secret: bytes, *, session_ref: bytes, rng: Rng | None = None
) -> bytes:
    """Seal a 96-byte private key under a session secret, bound to ``session_ref``.

    Raises ValueError if the key or the secret has the wrong length.
    """
    if len(private_key) != PRIVATE_KEY_LENGTH:
        raise ValueError("a private key is 96 bytes")
    # WHY bind session_ref: a sealed key copied into another session's row
    # does not open there, even with that session's cookie.
    return aead.seal(
        session_secret, private_key, kind=Kind.SESSION, context=(session_ref,), rng=rng
    )


def open_for_session(sealed: bytes, session_secret: bytes, *, session_ref: bytes) -> bytes:
    """Recover the private key sealed by :func:`seal_for_session`; CannotOpen on any failure."""
    private_key = aead.open_(session_secret, sealed, kind=Kind.SESSION, context=(session_ref,))
    if len(private_key) != PRIVATE_KEY_LENGTH:
        raise CannotOpen()
    return private_key
