"""Failed staff logins, counted in the database (promise 5, docs/threat-model.md#promise-5)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Mapped, mapped_column

from registry.models.base import Base, UTCDateTime


class LoginThrottle(Base):
    """One counter of failed logins: for a typed email, or for an account's codes.

    WHY in the database: every worker process (and every server) must see
    the same count; a per-process counter lets N workers try N times as
    often.  WHY ``ref`` is an HMAC (registry.auth.throttle): rows exist for
    emails that have no account too, so that unknown emails behave exactly
    like known ones; a copy of the database then shows neither which
    addresses someone tried nor, for a stage, which account a row is about.
    Nothing about the request's origin is kept (promise 3).
    """

    __tablename__ = "login_throttles"

    ref: Mapped[bytes] = mapped_column(primary_key=True)
    failures: Mapped[int]
    # Rows without a failure for a day are forgotten (and deleted): indexed
    # for that clean-up and for evicting the oldest rows over the cap.
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # While in the future, every attempt is refused unchecked.
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
