"""Recovery codes: ten one-time stand-ins for a TOTP code, per account.

Someone who loses their phone logs in with a password and one of these
codes instead of the 6-digit code.  A code is 16 symbols of Crockford's
base32 (80 bits), shown as ``XXXX-XXXX-XXXX-XXXX``; it works once.

Stored keyed, as :func:`registry.crypto.recovery_code_tag` of a digest of
the code, under the account's factor key (which only the password
unlocks): a copy of the database and ``keys/secret.key`` cannot even test a
guessed code.  Older versions stored the bare digest; those rows are keyed
at the account's next login (:func:`key_old_codes`).
"""

from __future__ import annotations

import hashlib
import os
import re

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from registry.crypto import RECEIPT_ALPHABET, is_recovery_code_tag, recovery_code_tag
from registry.models import RecoveryCode
from registry.models.base import utcnow

CODE_COUNT = 10
CODE_SYMBOLS = 16
GROUP_SIZE = 4
# The same alphabet as receipts: no I, L, O or U, so a code copied by hand
# on paper cannot be misread as another.
ALPHABET = RECEIPT_ALPHABET
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = str.maketrans("", "", " \t\r\n-")
_MAX_INPUT_LENGTH = 64
_SHOWN = re.compile("-".join([f"[{ALPHABET}]{{{GROUP_SIZE}}}"] * (CODE_SYMBOLS // GROUP_SIZE)))


def _new_symbols() -> str:
    # One byte per symbol, low 5 bits kept: 256 is a multiple of 32, so
    # every symbol is exactly uniform.
    return "".join(ALPHABET[byte & 31] for byte in os.urandom(CODE_SYMBOLS))


def shown_form(canonical: str) -> str:
    """A canonical code grouped for reading: ``XXXX-XXXX-XXXX-XXXX``."""
    return "-".join(canonical[i : i + GROUP_SIZE] for i in range(0, len(canonical), GROUP_SIZE))


def normalize_code(text: str) -> str | None:
    """The canonical 16-symbol form of a typed code, or ``None`` if malformed.

    Accepts lower case, spaces and dashes, and reads O as 0 and I or L as 1.
    """
    # ASCII only, checked before upper-casing: Unicode case mapping would
    # turn "ß" into "SS", accepting text no one was shown.
    if len(text) > _MAX_INPUT_LENGTH or not text.isascii():
        return None
    canonical = text.translate(_SEPARATORS).upper().translate(_CONFUSABLE)
    if len(canonical) != CODE_SYMBOLS or any(c not in ALPHABET for c in canonical):
        return None
    return canonical


def parse_shown(text: str) -> list[str] | None:
    """The codes of a codes page sent back by the browser, or ``None``.

    Only exactly :data:`CODE_COUNT` codes in their shown form are accepted,
    so the page that re-shows them cannot be made to show anything else.
    """
    codes = text.split()
    if len(codes) != CODE_COUNT or not all(_SHOWN.fullmatch(code) for code in codes):
        return None
    return codes


def _code_digest(account_id: int, canonical: str) -> bytes:
    # 80 random bits cannot be guessed offline, so a fast hash suffices (no
    # Argon2).  The account id is hashed in: a hash copied into another
    # account's rows by someone with database write access does not work there.
    # This digest is what older versions stored; it stays the input of the
    # keyed tag so that their rows can be keyed without knowing the codes.
    return hashlib.sha256(
        b"sviedka/recovery-code\x00" + str(account_id).encode() + b"\x00" + canonical.encode()
    ).digest()


def _ref(account_id: int) -> str:
    return f"account/{account_id}"


def _code_tag(account_id: int, canonical: str, factor_key: bytes) -> bytes:
    # WHY keyed under the factor key: the server's own keys (secret.key) do
    # not let a thief of the disk check a guessed code; only the password does.
    digest = _code_digest(account_id, canonical)
    return recovery_code_tag(factor_key, digest, account_ref=_ref(account_id))


def issue_codes(db: Session, account_id: int, factor_key: bytes) -> list[str]:
    """Replace the account's codes with :data:`CODE_COUNT` new ones; return them.

    ``factor_key`` is the account's (:func:`registry.crypto.second_factor_key`).
    The plain codes exist only in the return value: the caller shows them
    once and forgets them.
    """
    db.execute(delete(RecoveryCode).where(RecoveryCode.account_id == account_id))
    codes = [_new_symbols() for _ in range(CODE_COUNT)]
    for canonical in codes:
        tag = _code_tag(account_id, canonical, factor_key)
        db.add(RecoveryCode(account_id=account_id, code_hash=tag))
    return [shown_form(canonical) for canonical in codes]


def key_old_codes(db: Session, account_id: int, factor_key: bytes) -> None:
    """Key the account's codes still stored as a bare digest (the older format).

    A stored digest becomes exactly the tag :func:`use_code` computes for
    the same code, so every code keeps working.  The caller holds the
    account's row lock.
    """
    ref = _ref(account_id)
    for row in db.scalars(select(RecoveryCode).where(RecoveryCode.account_id == account_id)):
        if not is_recovery_code_tag(row.code_hash):
            row.code_hash = recovery_code_tag(factor_key, row.code_hash, account_ref=ref)


def use_code(db: Session, account_id: int, text: str, factor_key: bytes) -> bool:
    """Spend an unused code of the account; ``True`` when ``text`` was one.

    The caller holds the account's row lock (:func:`registry.auth.locking.locked`),
    so two logins cannot spend the same code at once.
    """
    canonical = normalize_code(text)
    if canonical is None:
        return False
    row = db.scalars(
        select(RecoveryCode).where(
            RecoveryCode.account_id == account_id,
            RecoveryCode.code_hash == _code_tag(account_id, canonical, factor_key),
            RecoveryCode.used_at.is_(None),
        )
    ).first()
    if row is None:
        return False
    row.used_at = utcnow()
    return True


def unused_count(db: Session, account_id: int) -> int:
    """How many of the account's codes are still unused."""
    return (
        db.scalar(
            select(func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.account_id == account_id, RecoveryCode.used_at.is_(None))
        )
        or 0
    )


def delete_codes(db: Session, account_id: int) -> None:
    """Delete every code of the account (reset, removal)."""
    db.execute(delete(RecoveryCode).where(RecoveryCode.account_id == account_id))
