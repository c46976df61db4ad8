"""Second-factor keys: the derivations, the recovery-code tag and the input checks.

Round trip, tamper, truncation, context and kind confusion of the two new
envelopes (``totp-seed``, ``enrolment``) run with every other kind in
``test_crypto_envelopes.py``.
"""

from __future__ import annotations

import hashlib
import hmac
import struct

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from registry.crypto import (
    CannotOpen,
    EnrolmentSecrets,
    is_recovery_code_tag,
    open_enrolment,
    open_totp_seed,
    recovery_code_tag,
    seal_enrolment,
    seal_local,
    seal_totp_seed,
    second_factor_key,
)
from registry.crypto.envelope import Kind, kind_of
from registry.crypto.keys import keypair_from_seed

KEYPAIR = keypair_from_seed(bytes(range(96)))
OTHER_KEYPAIR = keypair_from_seed(bytes(range(100, 196)))
KEY = bytes(range(32))
SEED = bytes(20)
DIGEST = hashlib.sha256(b"a recovery code").digest()


def _hkdf(secret: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret)


def _item(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def test_factor_key_is_the_documented_hkdf_of_the_private_key() -> None:
    """Pinned: these bytes key what is stored; a changed label would lock everyone out."""
    key = second_factor_key(KEYPAIR.private)
    assert key == _hkdf(KEYPAIR.private, b"sviedka/v1/factor-key")
    assert key != second_factor_key(OTHER_KEYPAIR.private)
    with pytest.raises(ValueError, match="96 bytes"):
        second_factor_key(KEYPAIR.private[:-1])


def test_recovery_code_tag_is_the_documented_hmac() -> None:
    tag = recovery_code_tag(KEY, DIGEST, account_ref="account/7")
    code_key = _hkdf(KEY, b"sviedka/v1/recovery-code-key")
    message = b"".join(
        _item(part) for part in (b"sviedka/v1/recovery-code", b"\x01\x0a", b"account/7", DIGEST)
    )
    assert tag == b"\x01\x0a" + hmac.digest(code_key, message, "sha256")
    assert is_recovery_code_tag(tag)
    # The older stored form (a bare 32-byte digest) is told apart.
    assert not is_recovery_code_tag(DIGEST)


def test_recovery_code_tag_depends_on_key_account_and_code() -> None:
    tag = recovery_code_tag(KEY, DIGEST, account_ref="account/7")
    assert tag == recovery_code_tag(KEY, DIGEST, account_ref="account/7")
    others = {
        recovery_code_tag(bytes(32), DIGEST, account_ref="account/7"),
        recovery_code_tag(KEY, DIGEST, account_ref="account/8"),
        recovery_code_tag(KEY, bytes(32), account_ref="account/7"),
    }
    assert tag not in others
    assert len(others) == 3
    with pytest.raises(ValueError, match="32 bytes"):
        recovery_code_tag(KEY[:31], DIGEST, account_ref="account/7")


def test_seed_lengths_and_key_lengths_are_checked() -> None:
    for seed in (bytes(15), bytes(65)):
        with pytest.raises(ValueError, match="16 to 64"):
            seal_totp_seed(KEY, seed, account_ref="a")
        with pytest.raises(ValueError, match="16 to 64"):
            seal_enrolment(KEY, EnrolmentSecrets(seed, KEY), account_ref="a")
    with pytest.raises(ValueError, match="32 bytes"):
        seal_totp_seed(KEY + b"x", SEED, account_ref="a")
    with pytest.raises(ValueError, match="32 bytes"):
        seal_enrolment(KEY[:16], EnrolmentSecrets(SEED, KEY), account_ref="a")
    with pytest.raises(ValueError, match="32 bytes"):
        seal_enrolment(KEY, EnrolmentSecrets(SEED, KEY[:16]), account_ref="a")
    sealed = seal_totp_seed(KEY, SEED, account_ref="a")
    enrolment = seal_enrolment(KEY, EnrolmentSecrets(SEED, KEY), account_ref="a")
    # Openers never raise ValueError: a wrong-length key is just a wrong key.
    for short in (b"", KEY[:31], KEY + b"x"):
        with pytest.raises(CannotOpen):
            open_totp_seed(short, sealed, account_ref="a")
        with pytest.raises(CannotOpen):
            open_enrolment(short, enrolment, account_ref="a")


def test_the_seed_key_is_not_the_factor_key() -> None:
    """The factor key is an HKDF input, never itself an AEAD key: a LOCAL seal under it fails."""
    sealed = seal_local(KEY, SEED, context="account/7")
    relabelled = sealed[:1] + bytes([Kind.TOTP_SEED]) + sealed[2:]
    with pytest.raises(CannotOpen):
        open_totp_seed(KEY, relabelled, account_ref="account/7")


def _zeros(length: int) -> bytes:
    return bytes(length)


def test_injected_randomness_makes_seals_reproducible() -> None:
    first = seal_totp_seed(KEY, SEED, account_ref="a", rng=_zeros)
    assert first == seal_totp_seed(KEY, SEED, account_ref="a", rng=_zeros)
    secrets = EnrolmentSecrets(SEED, KEY)
    once = seal_enrolment(KEY, secrets, account_ref="a", rng=_zeros)
    assert once == seal_enrolment(KEY, secrets, account_ref="a", rng=_zeros)
    assert repr(secrets) == "EnrolmentSecrets(...)"


def test_kind_of_reads_the_header_only() -> None:
    assert kind_of(seal_totp_seed(KEY, SEED, account_ref="a")) is Kind.TOTP_SEED
    assert kind_of(seal_local(KEY, SEED, context="a")) is Kind.LOCAL
    for unknown in (b"", b"\x01", b"\x02\x06rest", b"\x01\xffrest"):
        assert kind_of(unknown) is None
