"""Reviewers' second factors at rest: under their password, not under the server's key.

The TOTP seed is sealed, and the recovery codes are keyed, under the factor
key (:func:`registry.crypto.second_factor_key`), derived from the private
key that only the password unlocks.  So a seized disk, database and
``keys/secret.key`` together, yields no working second factor and cannot
test a guessed recovery code: the password is needed for that too.

``Account.sealed_totp_secret`` holds one of three envelopes:

- ENROLMENT: between choosing the password and confirming the first code.
  It opens with the secret of the enrolling browser (the server keeps only
  its hash, ``Invite.enrolment_ref``), since no password is typed then.
- TOTP_SEED: an active account.  Opens with the factor key.
- LOCAL: the format before this one, under the deployment's local key.
  Moved at the next login (or password change, or new codes): opened with
  the local key once, sealed under the factor key, and the old copy is
  overwritten in the same transaction, the account's recovery codes with it.

WHY no offline migration: the new key comes from the private key, which the
server never holds at rest.  A migration job could not compute it (that is
the point), so an old account moves when its owner next types the password;
until then its local-key copy is exactly as exposed as before.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from registry.auth import recovery, totp
from registry.crypto import (
    CannotOpen,
    EnrolmentSecrets,
    is_sealed_locally,
    new_browser_secret,
    open_enrolment,
    open_local,
    open_totp_seed,
    seal_enrolment,
    seal_totp_seed,
    second_factor_key,
)
from registry.models import Account


def _ref(account: Account) -> str:
    # WHY bound to the account id: an envelope copied into another account's
    # row by someone with database write access does not open there.
    return f"account/{account.id}"


def _local_context(account: Account) -> str:
    # The context the older format bound a seed to; only read now.
    return f"totp-secret/{account.id}"


def begin_enrolment(account: Account, private_key: bytes) -> bytes:
    """Give ``account`` (flushed, with an id) a new TOTP seed; return the browser secret.

    The seed and the factor key of ``private_key`` are sealed under the
    returned secret, which only the enrolling browser keeps.
    """
    browser_secret = new_browser_secret()
    opened = EnrolmentSecrets(
        totp_seed=totp.new_secret(), factor_key=second_factor_key(private_key)
    )
    account.sealed_totp_secret = seal_enrolment(browser_secret, opened, account_ref=_ref(account))
    account.totp_last_step = None
    return browser_secret


def enrolment_secrets(account: Account, browser_secret: bytes | None) -> EnrolmentSecrets | None:
    """The seed and factor key of an enrolment in progress, or ``None``.

    ``None`` when ``browser_secret`` is not the enrolling browser's, or the
    enrolment began before this format (a LOCAL seed, with no factor key to
    move it under): the person then chooses their password again.
    """
    sealed = account.sealed_totp_secret
    if browser_secret is None or sealed is None:
        return None
    try:
        return open_enrolment(browser_secret, sealed, account_ref=_ref(account))
    except CannotOpen:
        return None


def activate(db: Session, account: Account, opened: EnrolmentSecrets) -> list[str]:
    """Seal the confirmed seed under the factor key and issue recovery codes.

    Overwrites the enrolment envelope: from now on the seed opens only with
    the password, never again with the browser's secret.  Returns the codes.
    """
    account.sealed_totp_secret = seal_totp_seed(
        opened.factor_key, opened.totp_seed, account_ref=_ref(account)
    )
    return recovery.issue_codes(db, account.id, opened.factor_key)


def upgrade(db: Session, account: Account, factor_key: bytes, local_key: bytes) -> None:
    """Move an account sealed the older way under its factor key; a no-op once done.

    The caller holds the account's row lock and has just unlocked the
    private key that ``factor_key`` comes from.  CannotOpen if the old seed
    does not open with ``local_key`` (then nothing changes).
    """
    sealed = account.sealed_totp_secret
    if sealed is None or not is_sealed_locally(sealed):
        return
    seed = open_local(local_key, sealed, context=_local_context(account))
    # Overwritten, not kept beside: after this commit the local key opens
    # nothing of this account's second factors.
    account.sealed_totp_secret = seal_totp_seed(factor_key, seed, account_ref=_ref(account))
    # The codes of an old account are all in the old format (both moved in
    # one transaction), so they move now, together with the seed.
    recovery.key_old_codes(db, account.id, factor_key)


def seed_for_login(db: Session, account: Account, factor_key: bytes, local_key: bytes) -> bytes:
    """The account's TOTP seed, moving an old-format account first (see :func:`upgrade`).

    The caller holds the account's row lock.  CannotOpen if the seed does
    not open.
    """
    upgrade(db, account, factor_key, local_key)
    if account.sealed_totp_secret is None:
        raise CannotOpen()
    return open_totp_seed(factor_key, account.sealed_totp_secret, account_ref=_ref(account))
