"""What a logged-in person changes on their own account.

Password change, new recovery codes, logging out everywhere.  Every
function takes an explicit database session; the caller commits.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from registry import audit
from registry.auth import factors, recovery
from registry.auth.locking import locked
from registry.auth.passwords import password_problem
from registry.auth.service import AuthError, WeakPassword
from registry.auth.sessions import LiveSession, end_all_sessions, end_other_sessions
from registry.crypto import (
    Argon2Params,
    CannotOpen,
    lock_private_key,
    second_factor_key,
    unlock_private_key,
)
from registry.models import Account


class WrongPassword(AuthError):
    """The current password given to confirm a change is wrong."""


def _unlock(account: Account, password: str) -> bytes:
    """The account's private key; the password is checked by opening it."""
    if account.locked_private_key is None:
        raise WrongPassword()
    try:
        return unlock_private_key(account.locked_private_key, password)
    except CannotOpen:
        raise WrongPassword() from None


def change_password(
    db: Session,
    live: LiveSession,
    *,
    current: str,
    new: str,
    params: Argon2Params,
    local_key: bytes,
) -> None:
    """Lock the same private key under a new password; end the other sessions.

    The key pair does not change, so every key wrap addressed to the person
    still opens: no report has to be re-wrapped, and nothing is lost.  The
    other sessions end because a password change is what someone does who
    fears their password is known (promise 5, docs/threat-model.md#promise-5); this browser's
    session stays, its sealed copy of the key being unchanged too.

    The TOTP seed and recovery codes are keyed under the factor key, which
    comes from that same private key: they stay valid with nothing to
    re-seal.  An account still in the older format is moved here, in this
    transaction (``local_key`` opens its seed once; :mod:`registry.auth.factors`).
    """
    account = live.account
    private_key = _unlock(account, current)
    problem = password_problem(new, email=account.email)
    if problem:
        raise WeakPassword(problem)
    relocked = lock_private_key(private_key, new, params=params)
    # Argon2id above, the row lock only now: a concurrent change (from
    # another session of the same person) must not be silently overwritten.
    before = account.locked_private_key
    current_row = locked(db, Account, account.id)
    if current_row is None or current_row.locked_private_key != before:
        raise WrongPassword()
    current_row.locked_private_key = relocked
    factors.upgrade(db, current_row, second_factor_key(private_key), local_key)
    end_other_sessions(db, live)
    audit.record(db, actor=audit.account_actor(account.id), action="account.password-changed")


def replace_recovery_codes(
    db: Session, account: Account, *, password: str, local_key: bytes
) -> list[str]:
    """Delete the old recovery codes and return ten new ones, to show once.

    Asks for the password: a session left open on a shared computer must
    not be enough to mint codes that stand in for the person's phone.  The
    password is also what keys the new codes (the factor key of the private
    key it unlocks); an account still in the older format is moved first,
    so its seed and codes never mix formats.
    """
    private_key = _unlock(account, password)
    factor_key = second_factor_key(private_key)
    # Row lock, as at login: these codes and the seed move together, never
    # interleaved with a login spending a code or moving the same account.
    before = account.locked_private_key
    row = locked(db, Account, account.id)
    if row is None or row.locked_private_key != before:
        raise WrongPassword()  # reset, or the password changed, meanwhile
    factors.upgrade(db, row, factor_key, local_key)
    codes = recovery.issue_codes(db, row.id, factor_key)
    audit.record(
        db, actor=audit.account_actor(account.id), action="account.recovery-codes-replaced"
    )
    return codes


def log_out_everywhere(db: Session, account_id: int) -> None:
    """End every session of the account, this one included."""
    end_all_sessions(db, account_id)
    audit.record(db, actor=audit.account_actor(account_id), action="account.sessions-ended")
