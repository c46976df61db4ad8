"""Send the notices that are due: one e-mail per person, at the end of a quiet period.

Run by ``registry maintain`` and ``registry notices send``, never by a
request: the mail server's speed or death is this job's problem only.
Each person's row is claimed (and committed) before their e-mail goes, so
two runs at once never send one notice twice; a run killed between the
claim and the e-mail loses that one notice, which the person's next
activity brings back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from config import Config
from registry.models import Account, Notice
from registry.notices.activity import UNSCHEDULED, opted_in, period_end
from registry.notices.mail import DeliveryFailed, Outbox, compose
from registry.notices.texts import notice_text

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SendResult:
    """What one run did: e-mails sent, deliveries failed (to be retried), rows scheduled."""

    sent: int = 0
    failed: int = 0
    scheduled: int = 0


def backoff(failures: int, every_hours: int) -> timedelta:
    """How long to wait after the ``failures``-th failure in a row: 1, 2, 4 … minutes, capped."""
    return min(timedelta(minutes=2 ** min(failures - 1, 20)), timedelta(hours=every_hours))


def send_due(db: Session, cfg: Config, *, now: datetime) -> SendResult:
    """Schedule fresh activity to the end of this period; e-mail everyone whose moment has come.

    Commits as it goes (each claim, each outcome).  Without ``smtp_host``
    nothing is scheduled or sent: activity waits until e-mail is set up.
    """
    if not cfg.smtp_host:
        return SendResult()
    scheduled = _schedule(db, now, cfg.notice_every_hours)
    due = db.execute(
        select(Notice.account_id, Notice.failures, Account.email, Account.notice_language)
        .join(Account, Account.id == Notice.account_id)
        .where(
            Notice.activity.is_(True),
            Notice.not_before <= now,
            Notice.not_before != UNSCHEDULED,
            Notice.account_id.in_(opted_in()),
        )
        .order_by(Notice.account_id)
    ).all()
    sent = failed = 0
    gone: DeliveryFailed | None = None
    with Outbox(cfg) as outbox:
        for account_id, failures, email, language in due:
            if not _claim(db, account_id, now, cfg.notice_every_hours):
                continue
            try:
                if gone is not None:
                    # The server is gone: the rest wait for the next run
                    # instead of each waiting out its own timeout now.
                    raise gone
                text = notice_text(language, cfg.base_url)
                outbox.deliver(compose(cfg, email, text, now=now))
            except DeliveryFailed as failure:
                gone = failure if failure.server_gone else None
                retry_at = now + backoff(failures + 1, cfg.notice_every_hours)
                _failed(db, account_id, failures + 1, retry_at)
                failed += 1
                # WHY the account id and error class only: the address
                # would tie a staff member's identity to this log, and the
                # server's reply text may quote it; the id is enough to look
                # the person up on the server.
                log.warning("notice not delivered: account %s, %s", account_id, failure.kind)
            else:
                _sent(db, account_id, now)
                sent += 1
    return SendResult(sent=sent, failed=failed, scheduled=scheduled)


def _schedule(db: Session, now: datetime, every_hours: int) -> int:
    # Activity that arrived since the last run gets the end of the current
    # period: the e-mail's time then tells nobody when the event was.
    result = db.execute(
        update(Notice)
        .where(Notice.activity.is_(True), Notice.not_before == UNSCHEDULED)
        .values(not_before=period_end(now, every_hours))
    )
    db.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _claim(db: Session, account_id: int, now: datetime, every_hours: int) -> bool:
    # Only the run whose update finds the row still due sends its e-mail;
    # the next notice may go at the end of the next period at the earliest.
    result = db.execute(
        update(Notice)
        .where(
            Notice.account_id == account_id,
            Notice.activity.is_(True),
            Notice.not_before <= now,
            Notice.not_before != UNSCHEDULED,
        )
        .values(activity=False, not_before=period_end(now, every_hours))
    )
    db.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _sent(db: Session, account_id: int, now: datetime) -> None:
    db.execute(
        update(Notice).where(Notice.account_id == account_id).values(last_sent_at=now, failures=0)
    )
    db.commit()


def _failed(db: Session, account_id: int, failures: int, retry_at: datetime) -> None:
    # The activity is still untold: it stays, and the next try waits a
    # little longer each time (a refusing server is not hammered).
    db.execute(
        update(Notice)
        .where(Notice.account_id == account_id)
        .values(activity=True, failures=failures, not_before=retry_at)
    )
    db.commit()
