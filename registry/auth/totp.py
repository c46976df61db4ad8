"""Time-based one-time passwords (RFC 6238) with replay refusal."""

from __future__ import annotations

import base64
import os
import time
from urllib.parse import quote

from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor import InvalidToken
from cryptography.hazmat.primitives.twofactor.totp import TOTP

STEP_SECONDS = 30
DIGITS = 6
ISSUER = "Sviedka"


def new_secret() -> bytes:
    """A 160-bit TOTP seed (RFC 4226 recommends at least 128, 160 is usual)."""
    return os.urandom(20)


def _totp(secret: bytes) -> TOTP:
    # SHA-1 and 6 digits: what every authenticator app understands.  HOTP's
    # use of SHA-1 is not affected by SHA-1 collision attacks.
    return TOTP(
        secret,
        DIGITS,
        SHA1(),  # noqa: S303
        STEP_SECONDS,
        enforce_key_length=True,
    )


def secret_text(secret: bytes) -> str:
    """The base32 form that a person types into an authenticator app."""
    return base64.b32encode(secret).decode().rstrip("=")


def provisioning_uri(secret: bytes, account_name: str) -> str:
    """The otpauth:// URI shown as a QR code."""
    return _totp(secret).get_provisioning_uri(quote(account_name), ISSUER)


def accept(
    secret: bytes, code: str, *, last_step: int | None, now: float | None = None
) -> int | None:
    """Check ``code``; return the matched time step, or ``None``.

    One step of clock drift either way is allowed.  A step at or before
    ``last_step`` is refused, so a code seen over a shoulder or phished
    cannot be replayed within its validity window.
    """
    code = code.strip().replace(" ", "")
    if len(code) != DIGITS or not (code.isascii() and code.isdigit()):
        return None
    now = time.time() if now is None else now
    step_now = int(now // STEP_SECONDS)
    totp = _totp(secret)
    for step in (step_now - 1, step_now, step_now + 1):
        if last_step is not None and step <= last_step:
            continue
        try:
            totp.verify(code.encode(), step * STEP_SECONDS)
        except InvalidToken:
            continue
        return step
    return None
