"""Deployment key material in ``keys/``.

- ``secret.key``: 32 random bytes, created on first start with mode 0600.
  Sub-keys are derived from it with HKDF for distinct jobs (Flask's cookie
  signing key, the local key that seals the follow-up cookie, the receipt salt, the
  report form's draft-receipt key), so one job's key never doubles as
  another's.
- ``escrow.pub``: the escrow public key.  Its private half never stays here.
  Workers re-read it when it changes (registry.keyring.watch), so a key
  created or rotated while they run is used for the next report.
- ``escrow-<fingerprint>.pub``: earlier escrow public keys, kept after
  ``registry escrow rotate`` (docs/recovery.md).

Nothing in this directory opens a report: the report keys are wrapped to
reviewers' and escrow's public keys only (promise 1 in
docs/threat-model.md; docs/keys.md).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from registry.crypto import Argon2Params
from registry.keyring.armor import PUBLIC_HEADER, dearmor
from registry.serving.slots import KdfSlots

SECRET_FILE = "secret.key"  # noqa: S105  (a file name, not a secret)
ESCROW_PUBLIC_FILE = "escrow.pub"
FINGERPRINT_LENGTH = 16


def escrow_fingerprint(public_key: bytes) -> str:
    """The short name of an escrow public key: the first 16 hex digits of its SHA-256.

    Stored in ``key_wraps.escrow_key`` with every escrow wrap, so that after
    ``registry escrow rotate`` the status can say which reports still depend
    on an older key.  An escrow wrap whose ``escrow_key`` is NULL was made
    before fingerprints were recorded, to the deployment's first escrow key
    (rotation names those with that key's fingerprint first).  64 bits: a
    name among a handful of keys, not a security property (the wrap itself
    is bound to its key by HPKE).
    """
    return hashlib.sha256(public_key).hexdigest()[:FINGERPRINT_LENGTH]


def old_escrow_file(fingerprint: str) -> str:
    """File name, in ``keys/``, of an earlier escrow public key kept after a rotation."""
    return f"escrow-{fingerprint}.pub"


@dataclass(frozen=True)
class Keyring:
    """Keys derived from the deployment secret, plus the escrow public key."""

    flask_secret: bytes
    local_key: bytes
    receipt_salt: bytes
    # Keys the login-throttle rows (HMAC of a typed email): a copy of the
    # database alone does not say which addresses were tried.
    throttle_key: bytes
    # Keys the report form's draft receipts (registry/intake/drafts.py): the
    # receipt of a draft is a MAC under it, so no client can choose one.
    draft_key: bytes
    escrow_public: bytes | None


def derive_subkey(secret: bytes, label: str) -> bytes:
    """The 32-byte sub-key of ``secret`` for the job named ``label`` (HKDF-SHA256)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label.encode()).derive(secret)


def ensure_secret(keys_dir: Path) -> bytes:
    """Read ``secret.key``, creating it (0600) when missing."""
    keys_dir.mkdir(parents=True, exist_ok=True)
    path = keys_dir / SECRET_FILE
    if not path.exists():
        # O_EXCL: two workers starting at once cannot overwrite each other's key.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_bytes()
        with os.fdopen(fd, "wb") as handle:
            handle.write(os.urandom(32))
    secret = path.read_bytes()
    if len(secret) != 32:
        raise RuntimeError(f"{path} is damaged: expected 32 bytes")
    return secret


def load_keyring(keys_dir: Path) -> Keyring:
    """Load (creating when needed) the deployment keyring."""
    secret = ensure_secret(keys_dir)
    escrow_path = keys_dir / ESCROW_PUBLIC_FILE
    escrow = None
    if escrow_path.exists():
        escrow = dearmor(PUBLIC_HEADER, escrow_path.read_text(encoding="ascii"))
    return Keyring(
        flask_secret=derive_subkey(secret, "sviedka/flask-secret"),
        local_key=derive_subkey(secret, "sviedka/local-key"),
        receipt_salt=derive_subkey(secret, "sviedka/receipt-salt")[:16],
        throttle_key=derive_subkey(secret, "sviedka/login-throttle"),
        draft_key=derive_subkey(secret, "sviedka/draft-receipt"),
        escrow_public=escrow,
    )


@dataclass(frozen=True)
class SealingKeys:
    """What sealing a new report needs from the deployment (built by ``runtime.sealing_keys``)."""

    receipt_salt: bytes
    receipt_params: Argon2Params
    escrow_public: bytes | None
    kdf_slots: KdfSlots
    # The keyring's draft key.  Without one (a caller with no form page) no
    # draft is trusted and every report gets a fresh random receipt.
    draft_key: bytes | None = None
