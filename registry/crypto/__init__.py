"""Sviedka's pure cryptography: bytes in, bytes out; no Flask, no database.

Every envelope starts with a version byte and a kind byte (see
:mod:`registry.crypto.envelope`); every failure to open raises
:class:`CannotOpen`.  Functions that draw randomness take an optional
``rng`` (default ``os.urandom``) so tests can be reproducible.
"""

from __future__ import annotations

from registry.crypto.errors import CannotOpen
from registry.crypto.fields import new_data_key, open_field, seal_field
from registry.crypto.hpke_wrap import (
    DataKeyUnwrapper,
    open_with_private_key,
    seal_to_public_key,
    unwrap_data_key,
    wrap_data_key,
)
from registry.crypto.kdf import Argon2Params
from registry.crypto.keys import KeyPair, generate_keypair, keypair_from_seed, public_key_of
from registry.crypto.local import open_local, seal_local
from registry.crypto.passwords import lock_private_key, unlock_private_key
from registry.crypto.receipts import (
    RECEIPT_ALPHABET,
    ReceiptKeys,
    derive_receipt_keys,
    generate_receipt,
    normalize_receipt,
)
from registry.crypto.second_factor import (
    EnrolmentSecrets,
    is_recovery_code_tag,
    open_enrolment,
    open_totp_seed,
    recovery_code_tag,
    seal_enrolment,
    seal_totp_seed,
    second_factor_key,
)
from registry.crypto.sessions import new_session_secret, open_for_session, seal_for_session
from registry.crypto.statements import (
    content_digest,
    sign_statement,
    signing_public_key,
    verify_statement,
)
from registry.crypto.stream import StreamInfo, open_stream, seal_stream

__all__ = [
    "RECEIPT_ALPHABET",
    "Argon2Params",
    "CannotOpen",
    "DataKeyUnwrapper",
    "EnrolmentSecrets",
    "KeyPair",
    "ReceiptKeys",
    "StreamInfo",
    "content_digest",
    "derive_receipt_keys",
    "generate_keypair",
    "generate_receipt",
    "is_recovery_code_tag",
    "keypair_from_seed",
    "lock_private_key",
    "new_data_key",
    "new_session_secret",
    "normalize_receipt",
    "open_field",
    "open_for_session",
    "open_enrolment",
    "open_local",
    "open_stream",
    "open_totp_seed",
    "open_with_private_key",
    "public_key_of",
    "recovery_code_tag",
    "seal_enrolment",
    "seal_field",
    "seal_for_session",
    "seal_local",
    "seal_stream",
    "seal_to_public_key",
    "seal_totp_seed",
    "second_factor_key",
    "sign_statement",
    "signing_public_key",
    "unlock_private_key",
    "unwrap_data_key",
    "verify_statement",
    "wrap_data_key",
]
