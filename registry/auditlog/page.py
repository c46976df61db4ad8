"""Reading the audit log: filters, pages, and checking the chain on request.

The log holds codes only (actors as ``account:N``, actions, report ids), so
listing it opens no sealed content.  It still says who worked on which case
and when, which is exactly what someone mapping the reviewers would want;
so reading it is itself an event (``audit.viewed``), and only administrators
get here at all (the views check the role).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from registry import audit
from registry.audit import VerifyResult
from registry.models import Account, AuditEvent

PAGE_SIZE = 100
# Bounds the OFFSET the database has to skip and keeps the page number short
# enough for the audit detail (at most 200 code characters).
MAX_PAGE = 100_000
# Report ids are letters and digits (``registry.records.ids``); "-" for older
# references.  Narrower than what ``audit.record`` accepts ("_" too), so a
# case filter is always a valid code in the ``audit.viewed`` detail.
_REPORT_REF = re.compile(r"[A-Za-z0-9-]{1,32}")
# Only the ISO form a date input sends; ``date.fromisoformat`` alone would
# also take "20260301" or week dates, which nobody means to type here.
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ANCHOR = re.compile(r"([1-9][0-9]{0,11}):([0-9a-fA-F]{64})")


@dataclass(frozen=True)
class RawFilters:
    """The filter form as typed (query parameters), before any check."""

    actor: str = ""
    action: str = ""
    case: str = ""
    since: str = ""
    until: str = ""

    def as_args(self) -> dict[str, str]:
        """The non-empty filters as query parameters, for page links."""
        args = {"actor": self.actor, "action": self.action, "case": self.case}
        args |= {"from": self.since, "to": self.until}
        return {name: value for name, value in args.items() if value}


@dataclass(frozen=True)
class LogFilters:
    """Checked filters; ``None`` means "any"."""

    actor: str | None = None
    action: str | None = None
    report_ref: str | None = None
    since: date | None = None
    until: date | None = None


class BadFilters(ValueError):
    """Some filters cannot be understood; ``problems`` lists codes in form order.

    Codes: ``actor``, ``actor-unknown``, ``action``, ``case``, ``from``,
    ``to``, ``range``.
    """

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__(", ".join(problems))
        self.problems = tuple(problems)


class BadAnchor(ValueError):
    """A kept head that is not ``N:`` followed by 64 hexadecimal digits."""


@dataclass(frozen=True)
class EventRow:
    """One event as the page shows it; ``email`` names an account actor."""

    id: int
    at: datetime
    actor: str
    email: str | None
    action: str
    report_ref: str | None
    detail: str | None


@dataclass(frozen=True)
class LogPage:
    """One page of events, newest first."""

    events: list[EventRow]
    page: int
    has_next: bool


def actions(db: Session) -> list[str]:
    """Every action code present in the log, sorted (for the filter's choices)."""
    return list(db.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)))


def _actor(db: Session, typed: str, problems: list[str]) -> str | None:
    """The stored actor name for an email address, "system" or "submitter"."""
    text = typed.strip().lower()
    if not text:
        return None
    if text in (audit.SYSTEM, audit.SUBMITTER):
        return text
    if "@" not in text:
        problems.append("actor")
        return None
    # Removed people keep their row (and so their events keep a name).
    account_id = db.scalar(select(Account.id).where(Account.email == text))
    if account_id is None:
        problems.append("actor-unknown")
        return None
    return audit.account_actor(account_id)


def _day(typed: str, problem: str, problems: list[str]) -> date | None:
    text = typed.strip()
    if not text:
        return None
    try:
        if not _DAY.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        problems.append(problem)
        return None


def parse_filters(db: Session, raw: RawFilters, known_actions: Collection[str]) -> LogFilters:
    """Check the typed filters; raise :class:`BadFilters` naming every problem.

    ``known_actions`` is :func:`actions`: an action the log does not hold is
    a mistake (or an edited URL), not a filter that silently matches nothing.
    """
    problems: list[str] = []
    actor = _actor(db, raw.actor, problems)
    action = raw.action.strip() or None
    if action is not None and action not in known_actions:
        problems.append("action")
    case = raw.case.strip() or None
    if case is not None and not _REPORT_REF.fullmatch(case):
        problems.append("case")
    since = _day(raw.since, "from", problems)
    until = _day(raw.until, "to", problems)
    if since and until and since > until:
        problems.append("range")
    if problems:
        raise BadFilters(problems)
    return LogFilters(actor=actor, action=action, report_ref=case, since=since, until=until)


def events_query(
    filters: LogFilters,
) -> Select[int, datetime, str, str, str, str | None, str | None]:
    """The filtered log as a ``Select``, newest first; the caller pages it.

    Columns: id, time, actor, the actor's email (``None`` unless an account
    row still exists), action, report reference, detail.
    """
    query = (
        select(
            AuditEvent.id,
            AuditEvent.at,
            AuditEvent.actor,
            Account.email,
            AuditEvent.action,
            AuditEvent.report_ref,
            AuditEvent.detail,
        )
        .outerjoin(Account, Account.id == AuditEvent.actor_id)
        .order_by(AuditEvent.id.desc())
    )
    if filters.actor is not None:
        query = query.where(AuditEvent.actor == filters.actor)
        if filters.actor.startswith("account:"):
            # The indexed column narrows the scan; the hashed ``actor`` above
            # stays the condition that decides.
            query = query.where(AuditEvent.actor_id == int(filters.actor.split(":")[1]))
    if filters.action is not None:
        query = query.where(AuditEvent.action == filters.action)
    if filters.report_ref is not None:
        query = query.where(AuditEvent.report_ref == filters.report_ref)
    # Whole UTC days, the "to" day included: the page shows times in UTC.
    if filters.since is not None:
        query = query.where(AuditEvent.at >= datetime.combine(filters.since, time.min, UTC))
    if filters.until is not None and filters.until < date.max:
        # date.max + 1 day would overflow: "until the end of time" is no bound.
        end = datetime.combine(filters.until + timedelta(days=1), time.min, UTC)
        query = query.where(AuditEvent.at < end)
    return query


def clamp_page(page: int | None) -> int:
    """A page number between 1 and :data:`MAX_PAGE`."""
    return min(max(page or 1, 1), MAX_PAGE)


def events_page(db: Session, filters: LogFilters, page: int) -> LogPage:
    """Page ``page`` (from 1) of the filtered log, :data:`PAGE_SIZE` events."""
    page = clamp_page(page)
    # One row more than a page tells whether a next page exists.
    rows = db.execute(
        events_query(filters).limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)
    ).all()
    events = [
        EventRow(
            row.id,
            # PostgreSQL answers in the session's time zone; the page shows UTC.
            row.at.astimezone(UTC),
            row.actor,
            row.email,
            row.action,
            row.report_ref,
            row.detail,
        )
        for row in rows[:PAGE_SIZE]
    ]
    return LogPage(events=events, page=page, has_next=len(rows) > PAGE_SIZE)


def _view_detail(filters: LogFilters, page: int) -> str | None:
    """What was looked at, as audit codes (never an email address)."""
    parts = {
        "actor": filters.actor,
        "action": filters.action,
        "case": filters.report_ref,
        "from": filters.since.isoformat() if filters.since else None,
        "to": filters.until.isoformat() if filters.until else None,
        "page": str(page) if page > 1 else None,
    }
    detail = ",".join(f"{name}={value}" for name, value in parts.items() if value)
    return detail or None


def record_view(db: Session, account_id: int, filters: LogFilters, page: int) -> None:
    """Record that an administrator read the log, and with which filters.

    The log maps who worked on which case and when; an administrator
    browsing it (say, everything one reviewer did) leaves a trace like any
    reader of case content does.  The caller commits.
    """
    audit.record(
        db,
        actor=audit.account_actor(account_id),
        action="audit.viewed",
        detail=_view_detail(filters, clamp_page(page)),
    )


def parse_anchor(text: str) -> tuple[int, bytes] | None:
    """A head kept from an earlier check (``N:HASH``), or ``None`` when empty."""
    text = text.strip()
    if not text:
        return None
    match = _ANCHOR.fullmatch(text)
    if match is None:
        raise BadAnchor(text)
    return int(match.group(1)), bytes.fromhex(match.group(2))


def check_chain(
    db: Session, account_id: int, anchor: tuple[int, bytes] | None = None
) -> VerifyResult:
    """Verify the whole chain for an administrator and record that they did.

    The walk hashes every event (about 1.5 s per 100,000 on the reference
    machine), which is why the page runs it only when asked.  The event
    records the outcome, so a later reader sees when the chain was last
    found intact, or broken.  The caller commits.
    """
    result = audit.verify(db, anchor)
    detail = f"ok:{result.count}" if result.ok else f"broken:{result.bad_id}:{result.problem}"
    if anchor is not None:
        detail += f",anchor={anchor[0]}"
    audit.record(db, actor=audit.account_actor(account_id), action="audit.verified", detail=detail)
    return result


def case_history(db: Session, public_id: str, account_id: int, page: int) -> LogPage:
    """The events of one case, newest first (issue 13: a case's history for its key holders).

    The caller has checked that ``account_id`` holds the case's key.  WHY
    key holders may read this part of the log: it says who opened, changed,
    answered, mapped and referred a case they can open anyway, which is what
    working on it together needs; the whole log (every case, every person)
    stays with administrators.  Reading it is recorded like any reading of
    the log (``audit.viewed`` with ``case=…``), in the caller's transaction.
    """
    filters = LogFilters(report_ref=public_id)
    listing = events_page(db, filters, page)
    record_view(db, account_id, filters, page)
    return listing
