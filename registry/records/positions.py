"""Positions of a report's messages and attachments: 1, 2, … per report.

Row ids are random (see :func:`registry.models.base.random_row_id`), so they
cannot order a conversation or a list of files.  A per-report counter can:
it reveals only the order within one case, which the case page shows anyway,
and nothing about other reports or about time.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry.models import Attachment, Message, Report
from registry.models.writelock import take_sqlite_write_lock


def next_position(db: Session, model: type[Message] | type[Attachment], report_id: int) -> int:
    """The next free ``seq`` of ``model`` rows of the report, reserved until commit.

    Two requests adding to one case at once (a reply while the submitter
    writes) would both read the same last position; the unique constraint
    on ``(report_id, seq)`` would then fail the later one.  So writers of a
    report wait for each other here instead, as the audit chain does:

    - PostgreSQL: the report's row is locked (``FOR NO KEY UPDATE``: other
      rows may still refer to it) until this transaction ends; under READ
      COMMITTED the next statement sees the previous holder's rows.
    - SQLite: the database write lock, taken with ``BEGIN IMMEDIATE`` unless
      this connection already holds it (it is then the latest snapshot).
    """
    conn = db.connection()
    if conn.dialect.name == "postgresql":
        db.execute(select(Report.id).where(Report.id == report_id).with_for_update(key_share=True))
    elif conn.dialect.name == "sqlite":
        take_sqlite_write_lock(conn)
    last = db.scalar(select(func.max(model.seq)).where(model.report_id == report_id))
    return (last or 0) + 1
