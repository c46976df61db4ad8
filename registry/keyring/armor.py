"""The text form of the escrow key files: a header line, then base64 lines."""

from __future__ import annotations

import base64

PUBLIC_HEADER = "SVIEDKA ESCROW PUBLIC KEY v1"
PRIVATE_HEADER = "SVIEDKA ESCROW PRIVATE KEY v1 (passphrase-locked)"


def armor(header: str, data: bytes) -> str:
    """Text form of a key: a header line and base64 lines."""
    body = base64.b64encode(data).decode()
    lines = [body[i : i + 76] for i in range(0, len(body), 76)]
    return "\n".join([header, *lines, ""])


def dearmor(header: str, text: str) -> bytes:
    """Inverse of :func:`armor`; ``ValueError`` on a wrong header."""
    lines = text.strip().splitlines()
    if not lines or lines[0].strip() != header:
        raise ValueError("not a " + header)
    return base64.b64decode("".join(lines[1:]), validate=True)
