"""Hybrid ML-KEM-768 + X25519 key pairs in their raw byte encodings.

- private key: 96 bytes = ML-KEM-768 seed (64, ``d || z``) || X25519 private (32)
- public key: 1216 bytes = ML-KEM-768 public (1184) || X25519 public (32)

The public encoding is the one of the MLKEM768-X25519 (X-Wing) HPKE KEM, so
it can be checked against the published test vectors.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519

from registry.crypto.errors import CannotOpen
from registry.crypto.randomness import Rng, draw

MLKEM_SEED_LENGTH = 64
MLKEM_PUBLIC_LENGTH = 1184
X25519_LENGTH = 32
PRIVATE_KEY_LENGTH = MLKEM_SEED_LENGTH + X25519_LENGTH
PUBLIC_KEY_LENGTH = MLKEM_PUBLIC_LENGTH + X25519_LENGTH


@dataclass(frozen=True)
class KeyPair:
    """A hybrid key pair: ``private`` (96 bytes) and ``public`` (1216 bytes)."""

    private: bytes
    public: bytes

    def __repr__(self) -> str:
        # WHY: a key pair printed in a log or a traceback must not show the private key.
        return f"KeyPair(public={self.public[:8].hex()}...)"


def load_private_key(private: bytes) -> hpke.MLKEM768X25519PrivateKey:
    """Build the library's HPKE private key from our 96-byte encoding (CannotOpen if malformed)."""
    if not isinstance(private, bytes) or len(private) != PRIVATE_KEY_LENGTH:
        raise CannotOpen()
    # WHY store the ML-KEM seed rather than the expanded key: 64 bytes instead
    # of 2400, and FIPS 203 key generation from the seed is deterministic.
    mlkem_key = mlkem.MLKEM768PrivateKey.from_seed_bytes(private[:MLKEM_SEED_LENGTH])
    x25519_key = x25519.X25519PrivateKey.from_private_bytes(private[MLKEM_SEED_LENGTH:])
    return hpke.MLKEM768X25519PrivateKey(mlkem_key, x25519_key)


def load_public_key(public: bytes) -> hpke.MLKEM768X25519PublicKey:
    """Build the library's HPKE public key from our 1216-byte encoding (ValueError if malformed)."""
    if not isinstance(public, bytes) or len(public) != PUBLIC_KEY_LENGTH:
        raise ValueError("a public key is 1216 bytes")
    # WHY from_public_bytes: it rejects ML-KEM keys whose coefficients are out
    # of range (the FIPS 203 modulus check), so a corrupt key fails loudly.
    mlkem_key = mlkem.MLKEM768PublicKey.from_public_bytes(public[:MLKEM_PUBLIC_LENGTH])
    x25519_key = x25519.X25519PublicKey.from_public_bytes(public[MLKEM_PUBLIC_LENGTH:])
    return hpke.MLKEM768X25519PublicKey(mlkem_key, x25519_key)


def _public_bytes(private: bytes) -> bytes:
    mlkem_key = mlkem.MLKEM768PrivateKey.from_seed_bytes(private[:MLKEM_SEED_LENGTH])
    x25519_key = x25519.X25519PrivateKey.from_private_bytes(private[MLKEM_SEED_LENGTH:])
    return mlkem_key.public_key().public_bytes_raw() + x25519_key.public_key().public_bytes_raw()


def keypair_from_seed(seed: bytes) -> KeyPair:
    """Derive a key pair deterministically from a 96-byte seed (ValueError on another length).

    The seed *is* the private key encoding: 64 bytes of ML-KEM-768 seed and
    32 bytes of X25519 private key.
    """
    if not isinstance(seed, bytes) or len(seed) != PRIVATE_KEY_LENGTH:
        raise ValueError("a key pair seed is 96 bytes")
    return KeyPair(private=seed, public=_public_bytes(seed))


def generate_keypair(rng: Rng | None = None) -> KeyPair:
    """Generate a new random key pair (96 random bytes through :func:`keypair_from_seed`)."""
    # WHY through the seed: the same code path serves random and receipt-derived
    # key pairs, and an injected ``rng`` makes the result reproducible in tests.
    return keypair_from_seed(draw(rng, PRIVATE_KEY_LENGTH))


def public_key_of(private: bytes) -> bytes:
    """Return the 1216-byte public key of a 96-byte private key (CannotOpen if malformed)."""
    if not isinstance(private, bytes) or len(private) != PRIVATE_KEY_LENGTH:
        raise CannotOpen()
    return _public_bytes(private)
