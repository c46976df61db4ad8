"""Mark that there is activity for people who asked to be told (one statement, no I/O).

Called inside intake's, follow-up's and triage's own transactions: it adds
one ``INSERT … SELECT … ON CONFLICT DO UPDATE`` and never talks to a mail
server, so a dead or hanging one costs a submission nothing.  Whether the
statement is committed is the caller's business: a rolled-back submission
leaves no activity behind either.

WHY notices go out only at the end of a period: an e-mail sent minutes
after a report arrived would tell whoever reads the reviewer's mailbox
(their provider, or a state that compels it) the time of the submission to
the minute, which could be joined with a network log of the submitter
(promise 3 keeps only the day of receipt for that reason).  So a notice
goes out only at a boundary of the quiet period (every
``notice_every_hours`` hours from midnight UTC, 1 January 1970), and its
time says only "something happened in the last N hours" at most.

WHY ``not_before`` is set to :data:`UNSCHEDULED` here rather than to a
time: this statement runs at the moment of the event, and a time written
now would be the event's time on disk.  The sending job gives unscheduled
rows the end of the current period (registry.notices.sending), a moment
shared by everything that happens in that period.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    Executable,
    Select,
    Table,
    bindparam,
    case,
    literal,
    select,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from registry.models import KEY_HOLDER_ROLES, Account, KeyWrap, Notice
from registry.models.base import UTCDateTime

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# ``not_before`` of activity that waits for the sending job to give it the
# end of the current period: a constant, so it says nothing about when.
UNSCHEDULED = EPOCH


def period_end(now: datetime, every_hours: int) -> datetime:
    """The first boundary of the quiet period strictly after ``now``."""
    period = timedelta(hours=every_hours)
    return EPOCH + ((now - EPOCH) // period + 1) * period


def opted_in(*conditions: ColumnElement[bool]) -> Select[int]:
    """The ids of accounts that may be told of activity (and meet ``conditions``)."""
    # Only people who may be told: opted in, enrolled, not removed, and in
    # a role that holds keys (admins hold none, so there is never anything
    # for them to see; the account page does not offer them the choice).
    return select(Account.id).where(
        Account.notify_by_email.is_(True),
        Account.active.is_(True),
        Account.removed_at.is_(None),
        Account.role.in_(KEY_HOLDER_ROLES),
        *conditions,
    )


def note_activity(
    db: Session, account_ids: Collection[int], *, now: datetime | None = None
) -> None:
    """Mark activity for those of ``account_ids`` who opted in (one statement, or none)."""
    if account_ids:
        statement = _statement(db, "accounts")
        db.execute(statement, {"ids": list(account_ids), "moment": _moment(now)})


def note_case_holders(db: Session, report_id: int, *, now: datetime | None = None) -> None:
    """Mark activity for everyone who holds the key of report ``report_id`` (one statement)."""
    statement = _statement(db, "holders")
    db.execute(statement, {"report_id": report_id, "moment": _moment(now)})


def note_assignment(db: Session, *, new: int | None, old: int | None, by: int) -> None:
    """Mark activity for the new assignee of a case, unless they assigned it to themself."""
    # Nothing new for someone who took the case themself, or who already had it.
    if new is not None and new not in (old, by):
        note_activity(db, [new])


def _moment(now: datetime | None) -> datetime:
    return datetime.now(UTC) if now is None else now


_NOTICES: Table = Notice.__table__  # type: ignore[assignment]
# The two statements per dialect, built once per worker: they run inside
# every submission, whose CPU budget is a few milliseconds, and building
# the statement cost as much as running it.  Values come as parameters.
_STATEMENTS: dict[tuple[str, str], Executable] = {}


def _statement(db: Session, who: str) -> Executable:
    dialect = db.get_bind().dialect.name
    statement = _STATEMENTS.get((dialect, who))
    if statement is None:
        if who == "accounts":
            people = opted_in(Account.id.in_(bindparam("ids", expanding=True)))
        else:
            wrapped_to = select(KeyWrap.account_id).where(
                KeyWrap.report_id == bindparam("report_id"), KeyWrap.account_id.is_not(None)
            )
            people = opted_in(Account.id.in_(wrapped_to))
        statement = _STATEMENTS[(dialect, who)] = _upsert(dialect, people)
    return statement


def _upsert(dialect: str, people: Select[int]) -> Executable:
    moment = bindparam("moment", type_=UTCDateTime())
    unscheduled = literal(UNSCHEDULED, UTCDateTime())
    rows = people.add_columns(true(), unscheduled, literal(0))
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # The table, not the mapped class: with parameters, an ORM insert would
    # be taken for a bulk insert of rows.
    statement = insert(_NOTICES).from_select(
        ["account_id", "activity", "not_before", "failures"], rows
    )
    current = Notice.__table__.c
    return statement.on_conflict_do_update(
        index_elements=[current.account_id],
        set_={
            "activity": true(),
            "not_before": case(
                # Activity already waiting: the same notice tells both.
                (current.activity.is_(True), current.not_before),
                # The quiet period after the last notice still runs: the
                # next notice goes at its end (a boundary, not this moment).
                (current.not_before > moment, current.not_before),
                else_=unscheduled,
            ),
        },
    )
