"""Sviedka's pure cryptography: bytes in, bytes out; no Flask, no database.

This package's exports are the whole API the registry uses; nothing outside
it imports a submodule (tests/test_layers.py enforces it).  In the spirit of
Fernet, each job has one pair of calls, and every failure to open is the one
exception :class:`CannotOpen`, whatever went wrong:

- a report: :func:`new_data_key`, then :func:`seal_field` / :func:`open_field`
  for each sealed part, and :func:`wrap_data_key` / :func:`unwrap_data_key`
  (or one :class:`DataKeyUnwrapper` for many reports) per key holder;
- files: :class:`StreamSealer` writes a stream in chunks of
  :data:`STREAM_CHUNK_SIZE`; :func:`open_stream` reads it;
- to a public key only (a report's inbox): :func:`seal_to_public_key` /
  :func:`open_with_private_key`;
- people's keys: :func:`generate_keypair`, locked under a password with
  :func:`lock_private_key` / :func:`unlock_private_key` (Argon2id,
  :class:`Argon2Params`);
- receipts: :func:`generate_receipt`, :func:`normalize_receipt`,
  :func:`derive_receipt_keys`; statements signed with the receipt-derived
  key: :func:`sign_statement` / :func:`verify_statement`;
- small server-side secrets: :func:`seal_local` / :func:`open_local`;
  session values: :func:`seal_for_session` / :func:`open_for_session`;
- second factors under the password-derived key (:func:`second_factor_key`).

Every envelope starts with a version byte and a kind byte; the byte layout
of each kind is in docs/envelopes.md.  Functions that draw randomness take
an optional ``rng`` (default ``os.urandom``) so tests can be reproducible.
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
from registry.crypto.keys import KeyPair, generate_keypair
from registry.crypto.local import is_sealed_locally, open_local, seal_local
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
    new_browser_secret,
    open_enrolment,
    open_totp_seed,
    recovery_code_tag,
    seal_enrolment,
    seal_totp_seed,
    second_factor_key,
)
from registry.crypto.sessions import new_session_secret, open_for_session, seal_for_session
from registry.crypto.statements import (
    STATEMENT_LENGTH,
    content_digest,
    sign_statement,
    signing_public_key,
    verify_statement,
)
from registry.crypto.stream import DEFAULT_CHUNK_SIZE as STREAM_CHUNK_SIZE
from registry.crypto.stream import StreamInfo, StreamSealer, open_stream

__all__ = [
    "Argon2Params",
    "CannotOpen",
    "DataKeyUnwrapper",
    "EnrolmentSecrets",
    "KeyPair",
    "RECEIPT_ALPHABET",
    "ReceiptKeys",
    "STATEMENT_LENGTH",
    "STREAM_CHUNK_SIZE",
    "StreamInfo",
    "StreamSealer",
    "content_digest",
    "derive_receipt_keys",
    "generate_keypair",
    "generate_receipt",
    "is_recovery_code_tag",
    "is_sealed_locally",
    "lock_private_key",
    "new_browser_secret",
    "new_data_key",
    "new_session_secret",
    "normalize_receipt",
    "open_enrolment",
    "open_field",
    "open_for_session",
    "open_local",
    "open_stream",
    "open_totp_seed",
    "open_with_private_key",
    "recovery_code_tag",
    "seal_enrolment",
    "seal_field",
    "seal_for_session",
    "seal_local",
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
