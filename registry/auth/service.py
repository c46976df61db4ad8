"""Account life cycle: invite → password → TOTP → login.

Every function takes an explicit database session and raises
:class:`AuthError` subclasses; views turn them into messages.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from registry import audit
from registry.auth import factors, recovery, throttle, totp
from registry.auth.locking import locked
from registry.auth.passwords import password_problem
from registry.crypto import (
    Argon2Params,
    CannotOpen,
    generate_keypair,
    lock_private_key,
    second_factor_key,
    unlock_private_key,
)
from registry.models import Account, Invite, Role
from registry.models.base import utcnow


class AuthError(Exception):
    """Base of the account errors."""


class InviteInvalid(AuthError):
    """The invite link is unknown, used or expired."""


class EnrolmentElsewhere(InviteInvalid):
    """Another browser already started enrolment with this invite."""


class EnrolmentOutdated(InviteInvalid):
    """Begun before seeds went under the password: choose the password again."""


class WeakPassword(AuthError):
    """The chosen password breaks the policy; ``reason`` says how."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class EmailTaken(AuthError):
    """Another active account already uses this email."""


class CodeRejected(AuthError):
    """A TOTP code was wrong, stale or already used."""


class LoginFailed(AuthError):
    """Email, password or code is wrong.  Deliberately says no more."""


class Throttled(LoginFailed):
    """Too many failures with this email (or codes): refused, nothing checked.

    ``retry_after`` is how long the wait still lasts.  Saying so does not
    help enumerate accounts: unknown emails are blocked exactly like known
    ones, and the guesser already knows how often they tried.  It helps the
    person whose account is attacked, who would otherwise doubt their own
    password.
    """

    def __init__(self, retry_after: timedelta) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


def _token_hash(token: str) -> bytes:
    return hashlib.sha256(b"sviedka/invite\x00" + token.encode()).digest()


def create_invite(
    db: Session,
    *,
    email: str | None,
    role: Role,
    valid_for: timedelta,
    account_id: int | None = None,
) -> str:
    """Create a one-time invite; return the token for the link.

    Only the token's hash is stored, so the link cannot be rebuilt from the
    database.  ``email`` is ``None`` for the first-admin setup link, where
    the person types their own.  ``account_id`` re-enrols an existing
    (inactive) account, after a password reset.
    """
    token = secrets.token_urlsafe(32)
    db.add(
        Invite(
            token_hash=_token_hash(token),
            email=(email or "").strip().lower(),
            role=role.value,
            expires_at=utcnow() + valid_for,
            account_id=account_id,
        )
    )
    return token


def ensure_setup_invite(db: Session, valid_for: timedelta) -> str | None:
    """When no active admin exists, return a fresh first-admin setup token.

    Older unused setup links are deleted first, so only the newest printed
    link works.  Returns ``None`` once an admin exists.
    """
    admins = db.scalar(
        select(func.count())
        .select_from(Account)
        .where(Account.role == Role.ADMIN.value, Account.active.is_(True))
    )
    if admins:
        return None
    db.execute(delete(Invite).where(Invite.email == "", Invite.used_at.is_(None)))
    return create_invite(db, email=None, role=Role.ADMIN, valid_for=valid_for)


def find_invite(db: Session, token: str) -> Invite:
    """The unused, unexpired invite for ``token``, else :class:`InviteInvalid`."""
    invite = db.scalars(select(Invite).where(Invite.token_hash == _token_hash(token))).first()
    if invite is None or invite.used_at is not None or invite.expires_at < utcnow():
        raise InviteInvalid()
    return invite


def _enrolment_ref(browser_secret: bytes) -> bytes:
    return hashlib.sha256(b"sviedka/enrolment-browser\x00" + browser_secret).digest()


def check_enrolment_browser(invite: Invite, browser_secret: bytes | None) -> None:
    """Refuse any browser but the one that chose the password for ``invite``.

    Raises :class:`EnrolmentElsewhere`.  Without this, someone who saw the
    invite link (a forwarded mail, a shoulder) could replay it during
    enrolment and swap in their own password and TOTP seed.
    """
    if invite.enrolment_ref is None:
        return
    if browser_secret is None or not hmac.compare_digest(
        _enrolment_ref(browser_secret), invite.enrolment_ref
    ):
        raise EnrolmentElsewhere()


@dataclass(frozen=True)
class Enrolment:
    """A chosen password: the inactive account, and the secret to give the browser.

    Only the browser holding ``browser_secret`` may continue (or restart)
    this invite's enrolment.
    """

    account: Account
    browser_secret: bytes


def choose_password(
    db: Session,
    invite: Invite,
    *,
    email: str,
    password: str,
    params: Argon2Params,
    browser_secret: bytes | None,
) -> Enrolment:
    """Create (or restart) the invited account with a new key pair.

    ``browser_secret`` is what this browser got from an earlier call for the
    same invite (``None`` at first).  The account stays inactive until TOTP
    is confirmed; an inactive account receives no report keys, so
    restarting the flow loses nothing.
    """
    check_enrolment_browser(invite, browser_secret)
    email = (invite.email or email).strip().lower()
    problem = password_problem(password, email=email)
    if problem:
        raise WeakPassword(problem)
    # The slow parts (Argon2id, key generation) before the lock below.
    keypair = generate_keypair()
    locked_key = lock_private_key(keypair.private, password, params=params)
    # Locked and checked again: two browsers sending the form at the same
    # moment must not both pass the check above.
    current = locked(db, Invite, invite.id)
    if current is None or current.used_at is not None:
        raise InviteInvalid()
    invite = current
    check_enrolment_browser(invite, browser_secret)
    account = db.get(Account, invite.account_id) if invite.account_id else None
    if account is not None and account.active:
        # An invite never takes over a working account (a reset deactivates first).
        raise InviteInvalid()
    if account is None:
        if db.scalars(select(Account).where(Account.email == email)).first() is not None:
            raise EmailTaken()
        account = Account(email=email, role=invite.role, active=False)
        db.add(account)
    account.email, account.role = email, invite.role
    account.public_key = keypair.public
    account.locked_private_key = locked_key
    db.flush()
    # WHY under the browser's secret: the seed must open for the next two
    # steps (show it, check the first code) without the password, which is
    # typed only now; the server keeps only a hash of that secret.
    secret = factors.begin_enrolment(account, keypair.private)
    invite.account_id = account.id
    invite.enrolment_ref = _enrolment_ref(secret)
    return Enrolment(account=account, browser_secret=secret)


def enrolment_totp_secret(account: Account, browser_secret: bytes | None) -> bytes:
    """The TOTP seed of an enrolment in progress, to show to the person.

    Raises :class:`EnrolmentOutdated` when ``browser_secret`` does not open
    it (an enrolment begun before the seed went under the password).
    """
    opened = factors.enrolment_secrets(account, browser_secret)
    if opened is None:
        raise EnrolmentOutdated()
    return opened.totp_seed


def confirm_totp(
    db: Session,
    invite: Invite,
    account: Account,
    code: str,
    *,
    browser_secret: bytes | None,
) -> list[str]:
    """Activate the account once the person proves their app shows the code.

    Returns the account's new recovery codes, to be shown once.  From here
    on the seed and the codes open only with the password
    (:mod:`registry.auth.factors`).
    """
    check_enrolment_browser(invite, browser_secret)
    # Row lock before reading totp_last_step: see registry.auth.locking.
    current = locked(db, Account, account.id)
    if current is None:
        raise InviteInvalid()
    account = current
    opened = factors.enrolment_secrets(account, browser_secret)
    if opened is None:
        raise EnrolmentOutdated()
    step = totp.accept(opened.totp_seed, code, last_step=account.totp_last_step)
    if step is None:
        raise CodeRejected()
    account.totp_last_step = step
    account.active = True
    # A removed person invited back is no longer removed.
    account.removed_at = None
    invite.used_at = utcnow()
    codes = factors.activate(db, account, opened)
    audit.record(
        db, actor=audit.account_actor(account.id), action="account.activated", detail=account.role
    )
    return codes


@lru_cache(maxsize=4)
def _decoy(params: Argon2Params) -> bytes:
    return lock_private_key(os.urandom(96), secrets.token_hex(16), params=params)


@dataclass(frozen=True)
class Authenticated:
    """A successful login: the account and its unlocked private key."""

    account: Account
    private_key: bytes


def authenticate(
    db: Session,
    *,
    email: str,
    password: str,
    code: str,
    params: Argon2Params,
    local_key: bytes,
    policy: throttle.ThrottlePolicy,
    now: datetime | None = None,
) -> Authenticated:
    """Check email, password and TOTP (or a recovery code); return the unlocked key.

    The password is checked by unlocking the private key (the AEAD tag is
    the verifier).  An unknown email costs the same Argon2id work against a
    decoy, so timing does not tell which emails have accounts.

    Throttled through the database (:mod:`registry.auth.throttle`): raises
    :class:`Throttled` without checking anything while the typed email or
    the account's codes are blocked.  The attempt is counted and
    **committed** before Argon2id, so other workers see it during the slow
    check; the caller commits the rest, after :class:`LoginFailed` too (or
    a wrong code goes uncounted).  ``now`` is the clock of the throttle and
    of TOTP (default: the current time).  ``local_key`` opens, once, the
    seed of an account sealed in the older format (:mod:`registry.auth.factors`).
    """
    now = now or utcnow()
    email = throttle.normalise_email(email)
    account = db.scalars(
        select(Account).where(Account.email == email, Account.active.is_(True))
    ).first()
    account_id = account.id if account else None
    attempt = throttle.begin_login(db, policy, email, account_id, now)
    db.commit()
    if isinstance(attempt, throttle.Blocked):
        raise Throttled(attempt.until - now)
    if account is None or account.locked_private_key is None:
        with contextlib.suppress(CannotOpen):
            unlock_private_key(_decoy(params), password)
        raise LoginFailed()
    unlocked_from = account.locked_private_key
    try:
        private_key = unlock_private_key(unlocked_from, password)
    except CannotOpen:
        throttle.audit_block(db, account_id, throttle.PASSWORD, attempt)
        raise LoginFailed() from None
    # Row lock before reading totp_last_step or spending a recovery code, so
    # two logins with one code cannot both pass (registry.auth.locking).
    # Taken only after Argon2id, so no lock waits on the slow part.
    account = locked(db, Account, account.id)
    if account is None or not account.active or account.locked_private_key != unlocked_from:
        raise LoginFailed()  # removed, reset or re-keyed meanwhile
    return _finish(db, account, private_key, code, local_key, policy, now)


def _finish(
    db: Session,
    account: Account,
    private_key: bytes,
    code: str,
    local_key: bytes,
    policy: throttle.ThrottlePolicy,
    now: datetime,
) -> Authenticated:
    """The password was right: the second factor, under its own counter.

    Only the unlocked ``private_key`` gives the factor key that opens the
    seed and keys the codes: the password is checked first by necessity.

    WHY the name counter goes now: password guessing is over (whoever typed
    it knows it); from here the code counter, which only someone with the
    password can raise, limits guesses at the 6-digit code.  It is counted
    before the check under the account's row lock, so no two workers both
    check a code past the limit.
    """
    name_ref = throttle.name_ref(policy, account.email)
    code_ref = throttle.code_ref(policy, account.id)
    throttle.forgive(db, name_ref)
    attempt = throttle.count_attempt(db, policy, code_ref, now)
    if isinstance(attempt, throttle.Blocked):
        raise Throttled(attempt.until - now)
    if not _second_factor(db, account, second_factor_key(private_key), code, local_key, now):
        throttle.audit_block(db, account.id, throttle.CODE, attempt)
        raise LoginFailed()
    throttle.forgive(db, code_ref)
    audit.record(db, actor=audit.account_actor(account.id), action="account.login")
    return Authenticated(account=account, private_key=private_key)


def _second_factor(
    db: Session, account: Account, factor_key: bytes, code: str, local_key: bytes, now: datetime
) -> bool:
    """A TOTP code not used before, or else an unused recovery code (spent now).

    An old-format account moves first (its password is at hand only now).
    """
    step = totp.accept(
        factors.seed_for_login(db, account, factor_key, local_key),
        code,
        last_step=account.totp_last_step,
        now=now.timestamp(),
    )
    if step is not None:
        account.totp_last_step = step
        return True
    if recovery.use_code(db, account.id, code, factor_key):
        audit.record(db, actor=audit.account_actor(account.id), action="account.recovery-code-used")
        return True
    return False
