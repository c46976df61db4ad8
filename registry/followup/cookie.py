"""The follow-up session, kept entirely in the submitter's browser.

The server stores nothing about a returning submitter: no session row, no
last-seen time that could be joined with a network log (promise 3).  The
cookie carries the report id, the receipt-derived private key and signing
seed, sealed under the deployment's local key, with an expiry that slides
forward on every request (idle timeout) and a fixed issue time (absolute
timeout).

Payload: issued (8) || expires (8) || private key (96) || signing seed (32)
|| report public id (ASCII).
"""

from __future__ import annotations

import base64
import struct
import time
from dataclasses import dataclass

from registry.crypto import CannotOpen, open_local, seal_local

COOKIE = "sv_followup"
# WHY a new context with the signing seed: a cookie of the older layout
# (no seed) then fails to open and the person enters the receipt again,
# rather than being misread with the report id taken as a seed.
CONTEXT = "followup-session/v2"
IDLE_SECONDS = 15 * 60
ABSOLUTE_SECONDS = 2 * 60 * 60
_HEAD = struct.Struct(">QQ")
_PRIVATE = 96
_SEED = 32


@dataclass(frozen=True)
class FollowupSession:
    """Who came back: their report, the key that opens their messages, the seed that signs."""

    public_id: str
    private_key: bytes
    issued_at: int
    signing_seed: bytes


def encode(local_key: bytes, session: FollowupSession, *, now: float | None = None) -> str:
    """Seal ``session`` into a cookie value valid for the next idle period."""
    now = time.time() if now is None else now
    payload = (
        _HEAD.pack(session.issued_at, int(now) + IDLE_SECONDS)
        + session.private_key
        + session.signing_seed
        + session.public_id.encode("ascii")
    )
    sealed = seal_local(local_key, payload, context=CONTEXT)
    return base64.urlsafe_b64encode(sealed).decode().rstrip("=")


def decode(
    local_key: bytes, value: str | None, *, now: float | None = None
) -> FollowupSession | None:
    """Open a cookie value; ``None`` when absent, forged or expired."""
    if not value:
        return None
    now = time.time() if now is None else now
    try:
        sealed = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        payload = open_local(local_key, sealed, context=CONTEXT)
    except (ValueError, CannotOpen):
        return None
    if len(payload) <= _HEAD.size + _PRIVATE + _SEED:
        return None
    issued, expires = _HEAD.unpack_from(payload)
    if now > expires or now - issued > ABSOLUTE_SECONDS:
        return None
    body = payload[_HEAD.size :]
    return FollowupSession(
        public_id=body[_PRIVATE + _SEED :].decode("ascii"),
        private_key=body[:_PRIVATE],
        issued_at=issued,
        signing_seed=body[_PRIVATE : _PRIVATE + _SEED],
    )
