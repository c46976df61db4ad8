"""The registry's signing key: Ed25519, for the manifests of evidence packs.

A partner who receives a pack (registry.referral) must be able to tell that
its manifests came from this registry and were not changed on the way or
afterwards, with tools of their own.  So every manifest is signed with one
Ed25519 key (RFC 8032), whose public half is published: in
``keys/signing.pub`` and at ``/keys/signing.pub``, as a PEM
``PUBLIC KEY`` (SubjectPublicKeyInfo), the form ``openssl`` and most
libraries read as it is (docs/keys.md, docs/packs.md).

The private key is never stored: it is derived from the deployment secret
(``keys/secret.key``) with HKDF under its own label, like every other
sub-key (registry.keyring), so it lives exactly as long as that secret and
backing up the secret backs it up.  WHY derived rather than random in a
file of its own: one secret to keep, and no second file that could be lost
while the secret survives (the published key would then change silently).
It signs; it opens nothing, so its theft lets a thief sign a forged pack,
not read a report (docs/threat-model.md).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from registry.keyring import derive_subkey, ensure_secret

SIGNING_PUBLIC_FILE = "signing.pub"
SIGNING_LABEL = "sviedka/pack-signing"
SIGNATURE_LENGTH = 64


@dataclass(frozen=True)
class SigningKey:
    """The registry's Ed25519 signing key, derived for this process only."""

    seed: bytes

    def _private(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.seed)

    def sign(self, data: bytes) -> bytes:
        """The 64-byte Ed25519 signature of exactly ``data``."""
        return self._private().sign(data)

    def public_raw(self) -> bytes:
        """The 32-byte public key."""
        return (
            self._private()
            .public_key()
            .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        )

    def public_pem(self) -> str:
        """The public key as published: PEM SubjectPublicKeyInfo (``BEGIN PUBLIC KEY``)."""
        return (
            self._private()
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode("ascii")
        )


def signing_key(keys_dir: Path) -> SigningKey:
    """The signing key of the deployment whose secret is in ``keys_dir``."""
    return SigningKey(derive_subkey(ensure_secret(keys_dir), SIGNING_LABEL))


def publish_signing_key(keys_dir: Path) -> Path:
    """Write ``keys/signing.pub`` when it is missing or differs from the derived key.

    Written to a new file and renamed into place, so a worker starting at
    the same moment never reads half a key.  Mode 0644: it is public.
    """
    path = keys_dir / SIGNING_PUBLIC_FILE
    text = signing_key(keys_dir).public_pem()
    try:
        if path.read_text(encoding="ascii") == text:
            return path
    except (FileNotFoundError, UnicodeDecodeError):
        pass
    temporary = keys_dir / f".{SIGNING_PUBLIC_FILE}.{secrets.token_hex(8)}"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(text)
    os.chmod(temporary, 0o644)  # whatever the umask (the CLI sets 077)
    os.replace(temporary, path)
    return path


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    """An Ed25519 public key from its PEM form; ``ValueError`` for anything else."""
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def signature_valid(public: Ed25519PublicKey, data: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is ``public``'s Ed25519 signature of exactly ``data``."""
    if len(signature) != SIGNATURE_LENGTH:
        return False
    try:
        public.verify(signature, data)
    except InvalidSignature:
        return False
    return True
