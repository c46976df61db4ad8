"""What a reset account could open before its reset (report ids only)."""

from __future__ import annotations

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from registry.models.base import Base, RowId


class HeldAccess(Base):
    """A report whose key a person held when an administrator reset them.

    A reset deletes the person's key wraps (their old private key is lost
    with the password).  These rows remember which reports those wraps were
    for, so ``registry escrow rewrap`` gives back exactly that access: not
    cases a coordinator had revoked, not cases they never had.  Ids only,
    the same fact the deleted wraps stated; no key material.
    """

    __tablename__ = "held_access"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    report_id: Mapped[int] = mapped_column(
        RowId, ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True, index=True
    )
