"""The escrow key: recovery when every reviewer has forgotten their password.

The private half is written once, locked under the operator's passphrase,
to a file the operator moves offline.  Only the public half
(``keys/escrow.pub``) stays on the server, so a seized server cannot use it.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from registry.crypto import Argon2Params, generate_keypair, lock_private_key
from registry.keyring import ESCROW_PUBLIC_FILE

PUBLIC_HEADER = "SVIEDKA ESCROW PUBLIC KEY v1"
PRIVATE_HEADER = "SVIEDKA ESCROW PRIVATE KEY v1 (passphrase-locked)"


class EscrowExists(Exception):
    """An escrow public key is already installed."""


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


def create_escrow(keys_dir: Path, private_out: Path, passphrase: str, params: Argon2Params) -> Path:
    """Create the escrow key pair; return the path of the public key.

    The locked private key is written to ``private_out`` (mode 0600, never
    overwritten); the public key to ``keys_dir/escrow.pub``.
    """
    public_path = keys_dir / ESCROW_PUBLIC_FILE
    if public_path.exists():
        raise EscrowExists(str(public_path))
    pair = generate_keypair()
    locked = lock_private_key(pair.private, passphrase, params=params)
    fd = os.open(private_out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(armor(PRIVATE_HEADER, locked))
    keys_dir.mkdir(parents=True, exist_ok=True)
    public_path.write_text(armor(PUBLIC_HEADER, pair.public), encoding="ascii")
    return public_path
