"""A person's choice of quiet e-mail notices (``/staff/account``)."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.orm import Session

from registry.models import KEY_HOLDER_ROLES, Account, Notice
from registry.notices.texts import FALLBACK, LANGUAGES


def may_opt_in(account: Account) -> bool:
    """Whether notices are offered to ``account``: only to roles that hold report keys.

    Admins hold no key, are never assigned a case and receive no wraps:
    there would never be anything for them to see.
    """
    return account.role in KEY_HOLDER_ROLES


def choose_notices(db: Session, account: Account, *, wanted: bool, language: str) -> None:
    """Opt ``account`` in (notices written in ``language``) or out.

    Opting out deletes the person's notice row too: nothing about their
    past activity is kept once they no longer want to be told.
    """
    account.notify_by_email = wanted and may_opt_in(account)
    account.notice_language = language if language in LANGUAGES else FALLBACK
    if not account.notify_by_email:
        db.execute(delete(Notice).where(Notice.account_id == account.id))
