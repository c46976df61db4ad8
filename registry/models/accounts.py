"""Staff accounts, invites and server-side sessions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from registry.models.base import Base, UTCDateTime, utcnow


class Role(StrEnum):
    """What a staff member may do (docs/threat-model.md#people)."""

    ADMIN = "admin"
    COORDINATOR = "coordinator"
    REVIEWER = "reviewer"


# Roles that hold report keys.  Admins manage people and settings and never
# hold a key: a phished admin account opens no case (docs/threat-model.md#people).
KEY_HOLDER_ROLES = (Role.REVIEWER.value, Role.COORDINATOR.value)


class Account(Base):
    """A staff member.  Holds a public key and a password-locked private key.

    Flask-Login's user interface (``is_authenticated``, ``is_active``,
    ``is_anonymous``, ``get_id``) is written out here rather than inherited
    from its mixin, so the tables at the bottom of the layers import no web
    framework (docs/architecture.md).  A loaded account is one whose session
    the loader (registry.auth.loader) has just checked.
    """

    is_authenticated = True
    is_anonymous = False

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    # An account becomes active only after TOTP enrolment is confirmed; only
    # active accounts receive key wraps of new reports.
    active: Mapped[bool] = mapped_column(default=False)
    public_key: Mapped[bytes | None]
    locked_private_key: Mapped[bytes | None]
    # Encrypted under a key only the password opens (registry.auth.factors),
    # so a seized disk, secret.key included, yields no working second factor.
    sealed_totp_secret: Mapped[bytes | None]
    # The last accepted TOTP time step: a code is never accepted twice.
    totp_last_step: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Removed people keep their row so audit events still name an account;
    # the row holds no key material after removal.
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Opted in on /staff/account to a quiet e-mail notice of new activity
    # (registry.notices), written in ``notice_language`` (the page's
    # language when they opted in).
    notify_by_email: Mapped[bool] = mapped_column(default=False)
    notice_language: Mapped[str | None] = mapped_column(String(5))

    @property
    def is_active(self) -> bool:
        """Flask-Login's "may this account log in now"; every loaded account may."""
        return True

    def get_id(self) -> str:
        """The id Flask-Login keeps for the account (as text)."""
        return str(self.id)


class Invite(Base):
    """A one-time link with which a person sets up their account."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Only a hash of the token is stored: a database reader cannot use it.
    token_hash: Mapped[bytes] = mapped_column(unique=True)
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    # SHA-256 of a secret given to the browser that chose the password:
    # a replayed invite link cannot finish (or restart) someone else's
    # enrolment from another browser.
    enrolment_ref: Mapped[bytes | None]


class RecoveryCode(Base):
    """A one-time code that stands in for a TOTP code (ten per account).

    Only a hash is stored; codes carry 80 bits, so a fast hash suffices.
    """

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[bytes] = mapped_column(unique=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StaffSession(Base):
    """A logged-in browser.  The row alone cannot use the private key.

    ``ref`` is SHA-256 of the session id; ``sealed_private_key`` is the
    account's private key encrypted under a secret that only the cookie holds.
    """

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[bytes] = mapped_column(unique=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    sealed_private_key: Mapped[bytes]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
