"""Second factors (TOTP seeds, recovery codes) keyed so that only the password opens them.

WHY: sealed under the deployment's local key (``keys/secret.key``), every
TOTP seed and every recovery-code check went to whoever took the disk, and
only the Argon2id password then stood between them and a reviewer's private
key.  Here both are keyed under a *factor key* derived from the reviewer's
private key, which the server holds only unlocked by the password at login
(or, for a live session, under the secret in the browser's cookie).

Keys (HKDF-SHA256 without salt: every input is already uniformly random)::

    factor key    = HKDF(private key (96 bytes),   info = "sviedka/v1/factor-key")
    seed key      = HKDF(factor key,               info = "sviedka/v1/totp-seed-key")
    code key      = HKDF(factor key,               info = "sviedka/v1/recovery-code-key")
    enrolment key = HKDF(browser secret (32 bytes), info = "sviedka/v1/enrolment-key")

Envelopes (version 1, the layout of :mod:`registry.crypto.aead`; the
associated data is label, header and the account reference)::

    TOTP_SEED (8):  seed under the seed key
    ENROLMENT (9):  factor key (32) || seed, under the enrolment key

Recovery code tags (stored, compared; never opened)::

    RECOVERY_CODE (10): version (1) || kind (1) || HMAC-SHA256(code key,
                        label, header, account reference, code digest)

WHY derive from the private key rather than from the Argon2id output: the
Argon2id key changes with every lock (fresh salt, new password), while the
private key stays the same across a password change, so the seed and the
codes need no re-sealing then; and the factor key is exactly as hard to get
as the private key, which is what the second factor stands in front of.
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from registry.crypto import aead
from registry.crypto.envelope import Kind, associated_data, header
from registry.crypto.errors import CannotOpen
from registry.crypto.keys import PRIVATE_KEY_LENGTH
from registry.crypto.randomness import Rng

FACTOR_KEY_LENGTH = 32
BROWSER_SECRET_LENGTH = 32
# RFC 4226 asks for at least 128 bits; 64 bytes bounds what an opener accepts.
MIN_SEED_LENGTH = 16
MAX_SEED_LENGTH = 64
RECOVERY_TAG_LENGTH = 2 + 32

_FACTOR_LABEL = b"sviedka/v1/factor-key"
_SEED_LABEL = b"sviedka/v1/totp-seed-key"
_CODE_LABEL = b"sviedka/v1/recovery-code-key"
_ENROLMENT_LABEL = b"sviedka/v1/enrolment-key"


def new_browser_secret() -> bytes:
    """A fresh secret for the enrolling browser (it seals the enrolment, :func:`seal_enrolment`)."""
    return os.urandom(BROWSER_SECRET_LENGTH)


def _derive(secret: bytes, label: bytes) -> bytes:
    # WHY one HKDF label per job: the seed key, the code key and the
    # private key itself (an HPKE key) never serve two purposes.
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(secret)


def second_factor_key(private_key: bytes) -> bytes:
    """The 32-byte factor key of a reviewer, from their 96-byte private key.

    Raises ValueError if ``private_key`` is not 96 bytes.
    """
    if not isinstance(private_key, bytes) or len(private_key) != PRIVATE_KEY_LENGTH:
        raise ValueError("a private key is 96 bytes")
    return _derive(private_key, _FACTOR_LABEL)


def _checked_factor_key(factor_key: bytes) -> bytes:
    if not isinstance(factor_key, bytes) or len(factor_key) != FACTOR_KEY_LENGTH:
        # WHY refuse rather than derive: HKDF accepts any length, so a
        # truncated key would silently derive a different, working key.
        raise ValueError("a factor key is 32 bytes")
    return factor_key


def _check_seed(seed: bytes) -> None:
    if not isinstance(seed, bytes) or not MIN_SEED_LENGTH <= len(seed) <= MAX_SEED_LENGTH:
        raise ValueError("a TOTP seed is 16 to 64 bytes")


def seal_totp_seed(
    factor_key: bytes, seed: bytes, *, account_ref: str, rng: Rng | None = None
) -> bytes:
    """Seal a TOTP seed under a reviewer's factor key, bound to ``account_ref``.

    Raises ValueError if the key is not 32 bytes or the seed not 16 to 64.
    """
    _check_seed(seed)
    key = _derive(_checked_factor_key(factor_key), _SEED_LABEL)
    return aead.seal(key, seed, kind=Kind.TOTP_SEED, context=(account_ref,), rng=rng)


def open_totp_seed(factor_key: bytes, sealed: bytes, *, account_ref: str) -> bytes:
    """Open a seed sealed by :func:`seal_totp_seed`; CannotOpen on any failure."""
    try:
        key = _derive(_checked_factor_key(factor_key), _SEED_LABEL)
    except ValueError:
        raise CannotOpen() from None
    return aead.open_(key, sealed, kind=Kind.TOTP_SEED, context=(account_ref,))


def recovery_code_tag(factor_key: bytes, code_digest: bytes, *, account_ref: str) -> bytes:
    """The stored form of a recovery code: a versioned HMAC of its digest.

    ``code_digest`` is what the caller made of the code (e.g. a hash of it
    bound to the account); keying it means a copy of the database and the
    server's keys cannot test a guessed code without the reviewer's
    password.  Equal inputs give equal tags, so the tag can be looked up.
    Raises ValueError if ``factor_key`` is not 32 bytes.
    """
    key = _derive(_checked_factor_key(factor_key), _CODE_LABEL)
    message = associated_data(Kind.RECOVERY_CODE, account_ref, code_digest)
    # WHY the header in the stored value: a tag says what it is, so rows
    # written in the older, unkeyed format are told apart and re-keyed.
    return header(Kind.RECOVERY_CODE) + hmac.digest(key, message, "sha256")


def is_recovery_code_tag(stored: bytes) -> bool:
    """Whether ``stored`` has the form of a :func:`recovery_code_tag` (not its validity)."""
    return len(stored) == RECOVERY_TAG_LENGTH and stored[:2] == header(Kind.RECOVERY_CODE)


@dataclass(frozen=True)
class EnrolmentSecrets:
    """What an enrolment in progress carries: the new TOTP seed and the factor key."""

    totp_seed: bytes
    factor_key: bytes

    def __repr__(self) -> str:
        # WHY: printed in a log or a traceback, this must not show either key.
        return "EnrolmentSecrets(...)"


def _enrolment_key(browser_secret: bytes) -> bytes:
    if not isinstance(browser_secret, bytes) or len(browser_secret) != BROWSER_SECRET_LENGTH:
        raise ValueError("a browser secret is 32 bytes")
    return _derive(browser_secret, _ENROLMENT_LABEL)


def seal_enrolment(
    browser_secret: bytes,
    secrets: EnrolmentSecrets,
    *,
    account_ref: str,
    rng: Rng | None = None,
) -> bytes:
    """Seal an enrolment's seed and factor key under the enrolling browser's secret.

    Between choosing the password and confirming the first code the server
    has no password to derive the factor key from; the browser's secret
    (which the server keeps only as a hash) stands in for it.  Raises
    ValueError on a secret, key or seed of the wrong length.
    """
    _check_seed(secrets.totp_seed)
    plaintext = _checked_factor_key(secrets.factor_key) + secrets.totp_seed
    key = _enrolment_key(browser_secret)
    return aead.seal(key, plaintext, kind=Kind.ENROLMENT, context=(account_ref,), rng=rng)


def open_enrolment(browser_secret: bytes, sealed: bytes, *, account_ref: str) -> EnrolmentSecrets:
    """Open what :func:`seal_enrolment` sealed; CannotOpen on any failure."""
    try:
        key = _enrolment_key(browser_secret)
    except ValueError:
        raise CannotOpen() from None
    plaintext = aead.open_(key, sealed, kind=Kind.ENROLMENT, context=(account_ref,))
    seed = plaintext[FACTOR_KEY_LENGTH:]
    # WHY check although authenticated: a plaintext of another shape is a
    # bug upstream and must not become a seed or a key.
    if not MIN_SEED_LENGTH <= len(seed) <= MAX_SEED_LENGTH:
        raise CannotOpen()
    return EnrolmentSecrets(totp_seed=seed, factor_key=plaintext[:FACTOR_KEY_LENGTH])
