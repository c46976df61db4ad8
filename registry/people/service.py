"""Staff accounts as administrators manage them: invite, remove, reset.

Removing or resetting an account takes every key and every way in away
from it in one transaction: its sessions end, its key wraps and recovery
codes are deleted and its key material is cleared, so access ends
cryptographically and at once (promises 5 and 6 in docs/threat-model.md).  Every function
checks that the actor is an active administrator and records an audit
event; the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from registry import audit
from registry.auth import recovery, throttle
from registry.auth import service as auth
from registry.auth.locking import locked, write_lock
from registry.auth.sessions import end_all_sessions
from registry.models import Account, HeldAccess, Invite, KeyWrap, Report, Role
from registry.models.base import utcnow


class State(StrEnum):
    """Where an account stands."""

    ACTIVE = "active"
    ENROLLING = "enrolling"
    REMOVED = "removed"


class NotAllowed(Exception):
    """The actor is not an active administrator, or the account does not exist."""


class Refused(Exception):
    """A change that breaks a rule; ``reason`` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Person:
    """One row of the people list."""

    account: Account
    state: State


def state_of(account: Account) -> State:
    """Active, enrolling (invited, reset, not yet confirmed) or removed."""
    if account.removed_at is not None:
        return State.REMOVED
    return State.ACTIVE if account.active else State.ENROLLING


def people(db: Session) -> list[Person]:
    """Every account, by email."""
    accounts = db.scalars(select(Account).order_by(Account.email))
    return [Person(account, state_of(account)) for account in accounts]


def open_invites(db: Session) -> list[Invite]:
    """Unused, unexpired invites for people who have no account yet."""
    return list(
        db.scalars(
            select(Invite)
            .where(
                Invite.used_at.is_(None),
                Invite.expires_at > utcnow(),
                Invite.account_id.is_(None),
            )
            .order_by(Invite.expires_at)
        )
    )


def _admin(db: Session, admin_id: int) -> Account:
    """The acting administrator, with every active admin row locked.

    The lock makes two administrators removing each other at the same
    moment run one after the other: the second then finds itself inactive
    and is refused.  Together with "never yourself", this is what keeps at
    least one active administrator: only an active administrator can remove
    or reset one, and never their own account.
    """
    write_lock(db)
    admins = db.scalars(
        select(Account)
        .where(Account.role == Role.ADMIN.value, Account.active.is_(True))
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    actor = next((a for a in admins if a.id == admin_id), None)
    if actor is None:
        raise NotAllowed()
    return actor


def _target(db: Session, admin_id: int, account_id: int) -> Account:
    _admin(db, admin_id)
    target = locked(db, Account, account_id)
    if target is None:
        raise NotAllowed()
    if target.id == admin_id:
        raise Refused("self")
    if target.removed_at is not None:
        raise Refused("removed")
    return target


def _strip(db: Session, account: Account) -> None:
    """Take every key and every way in away from ``account``."""
    end_all_sessions(db, account.id)
    db.execute(delete(KeyWrap).where(KeyWrap.account_id == account.id))
    recovery.delete_codes(db, account.id)
    # An earlier reset link must not bring the account back.
    db.execute(delete(Invite).where(Invite.account_id == account.id, Invite.used_at.is_(None)))
    account.active = False
    account.public_key = None
    account.locked_private_key = None
    account.sealed_totp_secret = None
    account.totp_last_step = None


def invite_person(
    db: Session, *, admin_id: int, email: str, role: Role, valid_for: timedelta
) -> str:
    """Create a one-time invite for ``email``; return the token for the link.

    A removed person's email is invited back into their old account (new
    keys, the same id in the audit log); any other existing email is refused.
    """
    _admin(db, admin_id)
    email = email.strip().lower()
    existing = db.scalars(select(Account).where(Account.email == email)).first()
    if existing is not None and existing.removed_at is None:
        raise Refused("email-taken")
    # One open link per person: two live links to the same account would
    # let whoever holds the other one take over an enrolment in progress.
    earlier = Invite.email == email
    if existing is not None:
        earlier = earlier | (Invite.account_id == existing.id)
    db.execute(delete(Invite).where(earlier, Invite.used_at.is_(None)))
    token = auth.create_invite(
        db,
        email=email,
        role=role,
        valid_for=valid_for,
        account_id=existing.id if existing else None,
    )
    audit.record(
        db,
        actor=audit.account_actor(admin_id),
        action="account.invited",
        detail=f"{role.value},account:{existing.id}" if existing else role.value,
    )
    return token


def cancel_invite(db: Session, *, admin_id: int, invite_id: int) -> None:
    """Withdraw an unused invite: its link stops working at once.

    For a link sent to the wrong person or seen by someone else; until it
    is used or expires, an account made from it would receive report keys.
    """
    _admin(db, admin_id)
    invite = db.get(Invite, invite_id)
    if invite is None or invite.used_at is not None:
        raise NotAllowed()
    db.delete(invite)
    audit.record(
        db,
        actor=audit.account_actor(admin_id),
        action="account.invite-cancelled",
        detail=f"invite:{invite_id},{invite.role}",
    )


def remove_person(db: Session, *, admin_id: int, account_id: int) -> None:
    """Remove a person: no session, no key, no way back in; cases unassigned.

    The row stays (emptied of key material) so audit events still name it.
    """
    target = _target(db, admin_id, account_id)
    _strip(db, target)
    # A removed person gets nothing back through the escrow rewrap.
    db.execute(delete(HeldAccess).where(HeldAccess.account_id == target.id))
    target.removed_at = utcnow()
    db.execute(update(Report).where(Report.assignee_id == target.id).values(assignee_id=None))
    audit.record(
        db,
        actor=audit.account_actor(admin_id),
        action="account.removed",
        detail=audit.account_actor(target.id),
    )


def reset_person(db: Session, *, admin_id: int, account_id: int, valid_for: timedelta) -> str:
    """Reset a forgotten password; return the token of a re-enrolment link.

    The old private key opened only under the forgotten password, so it is
    gone, and with it every wrap addressed to it: they are deleted.  After
    re-enrolling (a new key pair), the person gets cases back through a
    coordinator's grant or ``registry escrow rewrap``.
    """
    target = _target(db, admin_id, account_id)
    # Before the wraps go: which reports they opened, for the escrow rewrap.
    db.execute(
        insert(HeldAccess).from_select(
            ["account_id", "report_id"],
            select(KeyWrap.account_id, KeyWrap.report_id).where(
                KeyWrap.account_id == target.id, KeyWrap.escrow.is_(False)
            ),
        )
    )
    _strip(db, target)
    token = auth.create_invite(
        db, email=target.email, role=Role(target.role), valid_for=valid_for, account_id=target.id
    )
    audit.record(
        db,
        actor=audit.account_actor(admin_id),
        action="account.reset",
        detail=audit.account_actor(target.id),
    )
    return token


def blocked_logins(
    db: Session, policy: throttle.ThrottlePolicy, now: datetime
) -> throttle.Overview:
    """Accounts whose login is paused by the throttle now, and how many other emails are."""
    return throttle.overview(db, policy, db.scalars(select(Account)), now)


def lift_throttle(
    db: Session, *, admin_id: int, account_id: int, policy: throttle.ThrottlePolicy
) -> str:
    """Let a person whose login is paused log in at once; return their email.

    WHY an administrator may: a throttle also locks out the real person
    (anyone who knows their email can cause it), and the administrator can
    confirm who they are outside the system.  Audited, so a lift that helps
    an attacker is visible afterwards.
    """
    _admin(db, admin_id)
    account = db.get(Account, account_id)
    if account is None:
        raise NotAllowed()
    throttle.lift(db, policy, account)
    audit.record(
        db,
        actor=audit.account_actor(admin_id),
        action="account.throttle-lifted",
        detail=audit.account_actor(account.id),
    )
    return account.email
