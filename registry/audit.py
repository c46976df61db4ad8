"""The hash-chained audit log (promise 7, docs/threat-model.md#promise-7: nothing changes silently).

Every opening of sealed content and every change by a reviewer is recorded
with :func:`record`, inside the same transaction as the change, so the event
and what it describes are committed together or not at all.
:func:`verify` (``registry audit verify``) walks the chain and names the
first event that was edited, deleted, inserted or moved.

Each event's hash is SHA-256 over a canonical JSON array of a format tag,
its position (``id``), time, actor, action, report reference, detail and
the previous event's hash; the first event follows 32 zero bytes.  Because
the position is hashed and positions have no gaps, a deletion, insertion or
reordering cannot hide behind a correct-looking hash.

What a chain without a secret cannot do: someone who can write to the
database and knows this format can recompute every hash after an edit, or
cut events off the end.  ``verify`` prints the head (``N:hash``); keep a copy
somewhere else and pass it back with ``--anchor`` to detect both.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from registry.models import AuditEvent
from registry.models.base import insert_now, utcnow
from registry.models.writelock import take_sqlite_write_lock

FORMAT = "sviedka-audit-v1"
GENESIS = bytes(32)
SUBMITTER = "submitter"
SYSTEM = "system"
DETAIL_MAX = 200

# Who may appear as an actor: a staff account, the submitter, the system.
# Nothing free-form, so no name or e-mail address ends up in the log.
_ACTOR = re.compile(r"(submitter|system|account:[1-9][0-9]{0,8})")
_ACTION = re.compile(r"[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+")
_REPORT_REF = re.compile(r"[A-Za-z0-9_-]{1,32}")
# Codes only: ASCII letters, digits and a few separators, no spaces.  Report
# content is free text (mostly Cyrillic); this keeps it out of a log that is
# stored unsealed.
_DETAIL = re.compile(r"[A-Za-z0-9._:,=+/-]+")

# The PostgreSQL advisory lock that serialises writers of the chain.  Any
# constant works as long as every writer uses the same one ("SVAudit1").
_PG_LOCK_KEY = 0x5356_4175_6469_7431


def account_actor(account_id: int) -> str:
    """The actor name of a staff account, as stored and hashed."""
    return f"account:{account_id}"


def event_hash(
    *,
    id: int,
    at: datetime,
    actor: str,
    action: str,
    report_ref: str | None,
    detail: str | None,
    prev_hash: bytes,
) -> bytes:
    """SHA-256 of one event's canonical encoding.

    A JSON array with fixed positions is unambiguous (strings are quoted and
    escaped, ``null`` differs from ``""``) and easy to re-implement in an
    independent checker.  The time is normalised to UTC because PostgreSQL
    returns timestamps in the session's time zone.
    """
    when = at.astimezone(UTC).isoformat(timespec="microseconds")
    fields = [FORMAT, id, when, actor, action, report_ref, detail, prev_hash.hex()]
    encoded = json.dumps(fields, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(encoded.encode("ascii")).digest()


def _validate(actor: str, action: str, report_ref: str | None, detail: str | None) -> None:
    if not _ACTOR.fullmatch(actor):
        raise ValueError(f"not an actor: {actor!r}")
    if len(action) > 64 or not _ACTION.fullmatch(action):
        raise ValueError(f"not an action code: {action!r}")
    if report_ref is not None and not _REPORT_REF.fullmatch(report_ref):
        raise ValueError("not a report public id")
    if detail is not None:
        # The message never repeats the detail: it might be content.
        if len(detail) > DETAIL_MAX:
            raise ValueError(f"detail is longer than {DETAIL_MAX} characters")
        if not _DETAIL.fullmatch(detail):
            raise ValueError("detail must be codes (ASCII letters, digits, ._:,=+/-)")


# Built once (registry.records.access says why): every case opening appends.
_PG_CHAIN_LOCK = text("SELECT pg_advisory_xact_lock(:key)")
_LAST_EVENT = select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)


def _lock_chain(db: Session) -> None:
    """Make this transaction the only writer of the chain until it ends.

    Without this, two transactions could both read event N as the last one
    and both append an event N+1.  The UNIQUE constraints on ``id`` and
    ``prev_hash`` would still refuse the second (a fork can never be
    committed), but the loser's whole transaction would fail, so writers wait
    for each other instead:

    - PostgreSQL: a transaction-scoped advisory lock, released at COMMIT or
      ROLLBACK.  Under READ COMMITTED (the default) the next statement sees
      the previous holder's committed event.
    - SQLite: the database write lock.  The sqlite3 driver opens a
      transaction only before a data-changing statement, so a connection is
      either outside a transaction (we take the write lock now, with
      BEGIN IMMEDIATE, before reading the last event) or already holds the
      write lock, whose snapshot is by definition the latest.

    Callers that run REPEATABLE READ or SERIALIZABLE on PostgreSQL, or a
    SAVEPOINT first on SQLite, may read a stale last event; the constraints
    then make their commit fail rather than fork the chain.
    """
    conn = db.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(_PG_CHAIN_LOCK, {"key": _PG_LOCK_KEY})
    elif conn.dialect.name == "sqlite":
        take_sqlite_write_lock(conn)


def lock_chain(db: Session) -> None:
    """Take the chain lock now, ahead of :func:`record` (which takes it too).

    For a caller that decides under the lock whether to append at all.  As
    after :func:`record`, the lock is held until the transaction ends.
    """
    _lock_chain(db)


def record(
    db: Session,
    *,
    actor: str,
    action: str,
    report_ref: str | None = None,
    detail: str | None = None,
    day_only: bool = False,
) -> AuditEvent:
    """Append an event to the chain inside the caller's transaction.

    The caller commits: the event and the change it records are stored
    together or not at all.  Until then this transaction holds the chain
    lock, so commit soon.

    ``actor`` is :func:`account_actor` of a staff member, :data:`SUBMITTER`
    or :data:`SYSTEM`.  ``detail`` holds codes only (at most 200 ASCII code
    characters, no spaces); anything else raises :class:`ValueError`, as do
    malformed actors, actions and report references.

    Submitter actions, and system actions a submitter caused
    (``day_only=True``), are stored at midnight UTC of the day (promise 3).
    Beware that an event's position still lies between its neighbours: a
    submitter event recorded between two staff events is dated by them.
    """
    _validate(actor, action, report_ref, detail)
    _lock_chain(db)
    last = db.execute(_LAST_EVENT).first()
    position, prev_hash = (last.id + 1, last.hash) if last else (1, GENESIS)
    # Read the clock under the lock, so times never run backwards along the
    # chain (day-only events aside).
    at = utcnow().replace(microsecond=0)
    if day_only or actor == SUBMITTER:
        at = at.replace(hour=0, minute=0, second=0)
    actor_id = int(actor.split(":")[1]) if actor.startswith("account:") else None
    event = AuditEvent(
        id=position,
        at=at,
        actor=actor,
        actor_id=actor_id,
        action=action,
        report_ref=report_ref,
        detail=detail,
        prev_hash=prev_hash,
        hash=event_hash(
            id=position,
            at=at,
            actor=actor,
            action=action,
            report_ref=report_ref,
            detail=detail,
            prev_hash=prev_hash,
        ),
    )
    # One Core INSERT, run now: a constraint violation surfaces here, at the
    # call, and the caller's next record() in this transaction sees this
    # event.  WHY not the ORM's add and flush: every case opening appends an
    # event, and the unit of work cost the case page more than the insert.
    # The returned object is a detached copy of the row for the caller.
    insert_now(db, event)
    return event


class Problem(StrEnum):
    """What kind of tampering the first bad event shows."""

    EDITED = "edited"
    DELETED = "deleted"
    INSERTED = "inserted"
    REORDERED = "reordered"
    REWRITTEN = "rewritten"


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of :func:`verify`.

    ``count`` events were checked and found sound; ``head`` is the hash of
    the last of them.  On failure ``bad_id`` is the first bad event's id.
    """

    count: int
    head: bytes
    bad_id: int | None = None
    problem: Problem | None = None
    explanation: str = ""

    @property
    def ok(self) -> bool:
        """Whether the whole chain is sound."""
        return self.problem is None


_COLUMNS = (
    AuditEvent.id,
    AuditEvent.at,
    AuditEvent.actor,
    AuditEvent.actor_id,
    AuditEvent.action,
    AuditEvent.report_ref,
    AuditEvent.detail,
    AuditEvent.prev_hash,
    AuditEvent.hash,
)


def verify(db: Session, anchor: tuple[int, bytes] | None = None) -> VerifyResult:
    """Walk the chain in id order and report the first bad event, if any.

    ``anchor`` is a head printed by an earlier run (``(id, hash)``): the
    event at that position must still carry that hash.  This catches what
    the chain alone cannot: a consistent rewrite, or events cut off the end.
    """
    expected, prev = 1, GENESIS
    # Streamed (a server-side cursor on PostgreSQL): the log can be long.
    query = select(*_COLUMNS).order_by(AuditEvent.id).execution_options(yield_per=1000)
    with db.execute(query) as rows:
        for row in rows:
            found = _check(db, row, expected, prev)
            if found is not None:
                bad_id, problem, why = found
                return VerifyResult(expected - 1, prev, bad_id, problem, why)
            if anchor is not None and row.id == anchor[0] and row.hash != anchor[1]:
                why = "it differs from the anchor: the log up to here was rewritten"
                return VerifyResult(expected - 1, prev, row.id, Problem.REWRITTEN, why)
            expected, prev = expected + 1, row.hash
    if anchor is not None and anchor[0] >= expected:
        why = f"the log ends at #{expected - 1}: events were cut off the end"
        return VerifyResult(expected - 1, prev, anchor[0], Problem.DELETED, why)
    return VerifyResult(expected - 1, prev)


def _check(db: Session, row: Any, expected: int, prev: bytes) -> tuple[int, Problem, str] | None:
    """Check one event against its expected position and predecessor."""
    if row.id < expected:
        return row.id, Problem.INSERTED, "it comes before the first event"
    if row.id > expected:
        gap = f"#{expected}" if row.id == expected + 1 else f"#{expected} to #{row.id - 1}"
        return row.id, Problem.DELETED, f"event {gap} before it is missing"
    own_ok = row.hash == event_hash(
        id=row.id,
        at=row.at,
        actor=row.actor,
        action=row.action,
        report_ref=row.report_ref,
        detail=row.detail,
        prev_hash=row.prev_hash,
    )
    if row.prev_hash == prev:
        if not own_ok:
            return row.id, Problem.EDITED, "its fields do not match its hash"
        if row.actor_id is not None and account_actor(row.actor_id) != row.actor:
            return row.id, Problem.EDITED, "its actor_id does not match its actor"
        return None
    # It does not follow the event before it.  Find what it does follow.
    follows = db.scalar(select(AuditEvent.id).where(AuditEvent.hash == row.prev_hash))
    if follows is not None and follows > row.id:
        return row.id, Problem.REORDERED, f"it follows event #{follows}, which comes after it"
    if follows is not None:
        why = f"events after #{follows} were inserted: event #{row.id} follows #{follows}"
        return follows + 1, Problem.INSERTED, why
    if own_ok:
        why = f"it is consistent in itself but does not follow event #{row.id - 1}"
        return row.id, Problem.INSERTED, why
    why = f"neither its fields nor its link to event #{row.id - 1} match its hash"
    return row.id, Problem.EDITED, why
