"""Known-answer tests: the library's HPKE against RFC 9180 and the PQ HPKE vectors.

The vectors come from the ``cryptography-vectors`` package (same version as
``cryptography``), read in place.  The single-shot HPKE API encrypts with
empty associated data at sequence number 0, while the vectors' first
encryption uses the AAD "Count-0"; so each test (a) checks that the vector is
self-consistent, (b) re-encrypts the vector's plaintext with the vector's key
and base nonce and empty AAD, and has the library decapsulate ``enc`` and run
the key schedule to open it, and (c) checks the public key encoding.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from typing import Any

import pytest
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from registry.crypto.keys import keypair_from_seed

KEM_X25519 = 0x0020
KEM_MLKEM768_X25519 = 0x647A  # 25722, "X-Wing"
KDF_HKDF_SHA256 = 0x0001
AEAD_CHACHA20_POLY1305 = 0x0003


def _vectors(name: str, kem_id: int) -> list[dict[str, Any]]:
    text = resources.files("cryptography_vectors").joinpath("HPKE", name).read_text()
    entries: list[dict[str, Any]] = json.loads(text)
    chosen = [
        entry
        for entry in entries
        if entry["mode"] == 0
        and entry["kem_id"] == kem_id
        and entry["kdf_id"] == KDF_HKDF_SHA256
        and entry["aead_id"] == AEAD_CHACHA20_POLY1305
    ]
    assert chosen, f"no vector for kem {kem_id:#x} in {name}"
    return chosen


def _h(entry: dict[str, Any], key: str) -> bytes:
    return bytes.fromhex(entry[key])


def _check_schedule(entry: dict[str, Any], suite: hpke.Suite, private_key: Any) -> None:
    first = entry["encryptions"][0]
    aead = ChaCha20Poly1305(_h(entry, "key"))
    nonce = _h(entry, "base_nonce")
    plaintext = _h(first, "pt")
    assert bytes.fromhex(first["nonce"]) == nonce  # sequence 0 uses the base nonce
    # (a) the vector is self-consistent
    assert aead.decrypt(nonce, _h(first, "ct"), _h(first, "aad")) == plaintext
    # (b) the library derives the same key and nonce from enc, skRm and info
    ciphertext = aead.encrypt(nonce, plaintext, b"")
    opened = suite.decrypt(_h(entry, "enc") + ciphertext, private_key, _h(entry, "info"))
    assert opened == plaintext


@pytest.mark.parametrize("entry", _vectors("test-vectors.json", KEM_X25519))
def test_rfc9180_dhkem_x25519_chacha20(entry: dict[str, Any]) -> None:
    suite = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305)
    private_key = x25519.X25519PrivateKey.from_private_bytes(_h(entry, "skRm"))
    # (c) the public key
    assert private_key.public_key().public_bytes_raw() == _h(entry, "pkRm")
    _check_schedule(entry, suite, private_key)


def _xwing_expand(seed: bytes) -> bytes:
    """X-Wing / MLKEM768-X25519 key expansion: SHAKE256(seed) -> ML-KEM seed (64) || X25519 (32)."""
    return hashlib.shake_256(seed).digest(96)


@pytest.mark.parametrize("entry", _vectors("hpke-pq-test-vectors.json", KEM_MLKEM768_X25519))
def test_pq_mlkem768_x25519_chacha20(entry: dict[str, Any]) -> None:
    """Our exact suite: MLKEM768-X25519, HKDF-SHA256, ChaCha20-Poly1305."""
    expanded = _xwing_expand(_h(entry, "skRm"))
    # (c) our 96-byte private encoding is the expanded X-Wing key, and our
    # 1216-byte public encoding (ML-KEM public || X25519 public) is pkRm.
    assert keypair_from_seed(expanded).public == _h(entry, "pkRm")
    assert len(_h(entry, "enc")) == hpke.KEM.MLKEM768_X25519.enc_length() == 1120
    private_key = hpke.MLKEM768X25519PrivateKey(
        mlkem.MLKEM768PrivateKey.from_seed_bytes(expanded[:64]),
        x25519.X25519PrivateKey.from_private_bytes(expanded[64:]),
    )
    suite = hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305)
    _check_schedule(entry, suite, private_key)


@pytest.mark.parametrize("entry", _vectors("hpke-pq-test-vectors.json", KEM_MLKEM768_X25519))
def test_pq_vector_suite_id(entry: dict[str, Any]) -> None:
    """The vector really is for "HPKE" || kem 0x647A || kdf 0x0001 || aead 0x0003."""
    assert _h(entry, "suite_id") == b"HPKE" + bytes.fromhex("647a00010003")
