"""Who may open a report: finding it, and the data key a person holds for it.

Opening any sealed part of a report needs its data key, and the only way to
it is a key wrap addressed to that person, opened with their private key.
Without the wrap there is nothing to unwrap, so a refusal is cryptographic,
not only a check in a view (docs/threat-model.md, promise 6).  Every
feature that opens a report (review, reforms, referral) comes through here.
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import ColumnElement, and_, bindparam, exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session, joinedload
from sqlalchemy.orm.exc import StaleDataError

from registry.crypto import CannotOpen, unwrap_data_key
from registry.models import (
    KEY_HOLDER_ROLES,
    Account,
    Attachment,
    CaseMapping,
    KeyWrap,
    Message,
    Note,
    Report,
    ReportLink,
)


class NoAccess(Exception):
    """The reviewer holds no key for this report (or it does not exist)."""


# The codes a driver gives a foreign-key violation: PostgreSQL's SQLSTATE
# (psycopg's ``sqlstate``) and SQLite's extended result code (Python 3.11's
# ``sqlite_errorcode``; sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY).
_PG_FOREIGN_KEY_VIOLATION = "23503"
_SQLITE_CONSTRAINT_FOREIGNKEY = 787


def deleted_meanwhile(error: BaseException) -> bool:
    """Whether ``error`` is a change to, or naming, a row deleted since the view found it.

    A change is written after its view found the case and checked the key.
    A deletion that commits in between (a retention purge that keeps
    nothing, a withdrawal) leaves it either naming a row that is gone (a
    note, reply, grant, mapping, link or message: a foreign-key violation)
    or updating one (status, urgency, assignee, codes, consents: the ORM's
    UPDATE matches no row, ``StaleDataError``).  Either is a race the person
    lost, not a bug, so the error pages answer it as a conflict (409), and
    the transaction, rolled back, stored nothing (promise 9).  A service
    that catches its own integrity errors asks this before reading one as a
    duplicate.  (No table here has a version column, so a stale UPDATE
    means a deleted row.)
    """
    if isinstance(error, StaleDataError):
        return True
    if not isinstance(error, IntegrityError):
        return False
    cause = error.orig
    return (
        getattr(cause, "sqlstate", None) == _PG_FOREIGN_KEY_VIOLATION
        or getattr(cause, "sqlite_errorcode", None) == _SQLITE_CONSTRAINT_FOREIGNKEY
    )


class Present(NamedTuple):
    """Whether a case has any row in each list its page shows, asked with the report.

    WHY: most cases have no mapping, message, file, note or link yet, and
    asking for an empty list is a statement of its own (on PostgreSQL a
    round trip).  Asked as EXISTS with the report's row, an empty list
    costs no statement; a list that has rows is read as before.
    """

    mappings: bool
    messages: bool
    attachments: bool
    notes: bool
    links: bool


def _any_of(column: InstrumentedAttribute[int]) -> ColumnElement[bool]:
    # Each EXISTS is one probe of an index on ``report_id`` (or
    # ``other_id``), asked again for each row the joined codes add.
    return exists().where(column == Report.id)


class Person(NamedTuple):
    """A staff member as the case page lists them: who holds or may get the key."""

    id: int
    email: str


def find_report(db: Session, public_id: str) -> Report:
    """The report with ``public_id``, else :class:`NoAccess`."""
    report = db.scalars(select(Report).where(Report.public_id == public_id)).first()
    if report is None:
        raise NoAccess()
    return report


def data_key_for(db: Session, report: Report, account_id: int, private_key: bytes) -> bytes:
    """Unwrap the report's data key with the reviewer's private key."""
    wrap = db.scalars(
        select(KeyWrap).where(KeyWrap.report_id == report.id, KeyWrap.account_id == account_id)
    ).first()
    if wrap is None:
        raise NoAccess()
    return _unwrap(wrap.wrapped, report, private_key)


# The statements every case page sends are built once, at import, with
# bind parameters for what varies (here and in the modules that read a
# case's parts).  WHY: a statement object computes its cache key once and
# keeps it, so running the same object skips building the statement and
# hashing its structure, about 50 µs of SQLAlchemy per statement; a case
# page sends a dozen (bench, issue 10).
#
# The report with its codes, its one-per-case rows (hold, public summary:
# outer joins on unique keys add columns, not rows, and save a query each)
# the wrap addressed to the reader, and which of its lists have rows.
_OPEN_REPORT = (
    select(
        Report,
        KeyWrap.wrapped,
        _any_of(CaseMapping.report_id),
        _any_of(Message.report_id),
        _any_of(Attachment.report_id),
        _any_of(Note.report_id),
        or_(_any_of(ReportLink.report_id), _any_of(ReportLink.other_id)),
    )
    .outerjoin(
        KeyWrap,
        and_(KeyWrap.report_id == Report.id, KeyWrap.account_id == bindparam("account_id")),
    )
    .where(Report.public_id == bindparam("public_id"))
    .options(
        joinedload(Report.violations),
        joinedload(Report.flags),
        joinedload(Report.hold),
        joinedload(Report.summary),
    )
)


def open_report(
    db: Session, public_id: str, account_id: int, private_key: bytes
) -> tuple[Report, bytes, Present]:
    """:func:`find_report` and :func:`data_key_for` in one query, for the case page.

    The report comes with its violation and flag codes loaded (the page
    shows both), with the wrap addressed to ``account_id``, and with which
    of its lists have any row (:class:`Present`).  The same refusals, all
    :class:`NoAccess`: no such report, no wrap, or a wrap this private key
    does not open.
    """
    wanted = {"account_id": account_id, "public_id": public_id}
    rows = db.execute(_OPEN_REPORT, wanted).unique().all()
    if not rows:
        raise NoAccess()
    report, wrapped, *present = rows[0]
    if wrapped is None:
        raise NoAccess()
    return report, _unwrap(wrapped, report, private_key), Present(*present)


def _unwrap(wrapped: bytes, report: Report, private_key: bytes) -> bytes:
    try:
        return unwrap_data_key(wrapped, private_key, report_id=report.public_id)
    except CannotOpen:
        raise NoAccess() from None


_HOLDERS_AND_OTHERS = (
    select(Account.id, Account.email, KeyWrap.account_id)
    .outerjoin(
        KeyWrap,
        and_(KeyWrap.report_id == bindparam("report_id"), KeyWrap.account_id == Account.id),
    )
    .where(
        Account.active.is_(True),
        or_(KeyWrap.account_id.is_not(None), Account.role.in_(KEY_HOLDER_ROLES)),
    )
    .order_by(Account.email)
)


def holders_and_others(db: Session, report: Report) -> tuple[list[Person], list[Person]]:
    """Who holds a key of ``report``, and who could be given one, in one query.

    The first list is every active account with a wrap of the report (as
    ``review.triage.holders``); the second the active reviewers and
    coordinators without one (as ``review.triage.staff_without_access``);
    both by email.  The case page shows both, so one outer join on the
    report's wraps answers what took two queries.  Two columns, not whole
    accounts: the page shows no more, and building account objects (their
    public and locked keys included) for every staff member cost it more
    than the query.
    """
    rows = db.execute(_HOLDERS_AND_OTHERS, {"report_id": report.id}).all()
    holders = [Person(id, email) for id, email, wrapped in rows if wrapped is not None]
    others = [Person(id, email) for id, email, wrapped in rows if wrapped is None]
    return holders, others
