"""Promise 7: the audit log is append-only and hash-chained; tampering is named."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import insert, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry import audit, db
from registry.audit import Problem
from registry.cli import main
from registry.models import Account, AuditEvent
from tests.helpers import triggers_bypassed


@pytest.fixture
def dbs(app: Flask) -> Iterator[Session]:
    """A session on the test database (conftest empties the log between tests)."""
    with app.app_context():
        session = db.session()
        yield session
        session.rollback()


@pytest.fixture
def actors(dbs: Session) -> list[str]:
    """Actor names of four staff accounts."""
    accounts = [Account(email=f"r{i}@example.org", role="reviewer") for i in range(4)]
    dbs.add_all(accounts)
    dbs.commit()
    return [audit.account_actor(account.id) for account in accounts]


def append_five(session: Session, actors: list[str]) -> list[AuditEvent]:
    """Record five events of different kinds and commit them."""
    events = [
        audit.record(session, actor=audit.SYSTEM, action="registry.initialised"),
        audit.record(session, actor=audit.SUBMITTER, action="report.submitted", report_ref="R1"),
        audit.record(session, actor=actors[0], action="case.opened", report_ref="R1"),
        audit.record(session, actor=actors[0], action="case.mapped", report_ref="R1", detail="P-1"),
        audit.record(session, actor=actors[1], action="account.login"),
    ]
    session.commit()
    return events


def tamper(session: Session, *statements: str) -> None:
    """Change the log behind the triggers' back and commit."""
    with triggers_bypassed(session):
        for statement in statements:
            session.execute(text(statement))
    session.commit()


def forged(position: int, prev_hash: bytes) -> dict[str, object]:
    """A row an attacker who knows the format might insert, hash and all."""
    fields = {"id": position, "at": datetime(2026, 1, 1, tzinfo=UTC), "actor": "account:9"}
    fields |= {"action": "case.opened", "report_ref": "R1", "detail": None}
    return {
        **fields,
        "prev_hash": prev_hash,
        "hash": audit.event_hash(**fields, prev_hash=prev_hash),
    }


def test_event_hash_is_sha256_of_a_canonical_json_array() -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    expected = hashlib.sha256(
        b'["sviedka-audit-v1",7,"2026-01-02T03:04:05.000000+00:00","account:3",'
        b'"case.opened","Ab-12",null,"' + b"00" * 32 + b'"]'
    ).digest()
    fields = {"id": 7, "actor": "account:3", "action": "case.opened", "report_ref": "Ab-12"}
    assert audit.event_hash(at=at, detail=None, prev_hash=audit.GENESIS, **fields) == expected
    # The same instant in another time zone hashes the same.
    minsk = at.astimezone(timezone(timedelta(hours=3)))
    assert audit.event_hash(at=minsk, detail=None, prev_hash=audit.GENESIS, **fields) == expected
    assert audit.event_hash(at=at, detail="", prev_hash=audit.GENESIS, **fields) != expected


def test_five_events_chain_and_verify(dbs: Session, actors: list[str]) -> None:
    assert audit.verify(dbs) == audit.VerifyResult(0, audit.GENESIS)
    events = append_five(dbs, actors)
    assert [e.id for e in events] == [1, 2, 3, 4, 5]
    assert events[0].prev_hash == audit.GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:], strict=False))
    assert [e.actor_id for e in events[:3]] == [None, None, int(actors[0].split(":")[1])]
    result = audit.verify(dbs)
    assert result.ok
    assert (result.count, result.head, result.bad_id) == (5, events[-1].hash, None)


SWAP_BACK = "UPDATE audit_events SET id = 7 + id WHERE id < 0"  # -3 → 4, -4 → 3
# Raw SQL an attacker with database access runs, the first bad event, and what it shows.
TAMPERING = {
    "edited": (["UPDATE audit_events SET action = 'case.closed' WHERE id = 3"], 3),
    "deleted": (["DELETE FROM audit_events WHERE id = 3"], 4),
    "reordered": (["UPDATE audit_events SET id = -id WHERE id IN (3, 4)", SWAP_BACK], 3),
}


@pytest.mark.parametrize("kind", TAMPERING)
def test_tampering_is_named(dbs: Session, actors: list[str], kind: str) -> None:
    append_five(dbs, actors)
    statements, bad_id = TAMPERING[kind]
    tamper(dbs, *statements)
    result = audit.verify(dbs)
    assert (result.bad_id, result.problem) == (bad_id, Problem(kind))
    assert (result.count, result.head) == (2, dbs.get_one(AuditEvent, 2).hash)


def test_inserted_event_is_named(dbs: Session, actors: list[str]) -> None:
    events = append_five(dbs, actors)
    # An attacker who knows the format hashes a forgery correctly, but cannot
    # chain it onto #2: #3 already follows #2 and prev_hash is UNIQUE.
    with pytest.raises(IntegrityError):
        dbs.execute(insert(AuditEvent), [forged(6, events[1].hash)])
    dbs.rollback()
    with triggers_bypassed(dbs):
        dbs.execute(text("UPDATE audit_events SET id = id + 100 WHERE id >= 3"))
        dbs.execute(text("UPDATE audit_events SET id = id - 99 WHERE id >= 100"))
        dbs.execute(insert(AuditEvent), [forged(3, hashlib.sha256(b"x").digest())])
    dbs.commit()
    result = audit.verify(dbs)
    assert (result.bad_id, result.problem) == (3, Problem.INSERTED)


def test_a_consistent_rewrite_or_a_cut_off_end_needs_an_anchor(
    dbs: Session, actors: list[str]
) -> None:
    events = append_five(dbs, actors)
    anchor = (5, events[-1].hash)
    rewrite, prev = [], events[1].hash
    for position in (3, 4, 5):  # a careful attacker re-hashes everything after #2
        rewrite.append(forged(position, prev))
        prev = rewrite[-1]["hash"]
    with triggers_bypassed(dbs):
        dbs.execute(text("DELETE FROM audit_events WHERE id >= 3"))
        dbs.execute(insert(AuditEvent), rewrite)
    dbs.commit()
    assert audit.verify(dbs).ok  # the chain alone cannot tell…
    result = audit.verify(dbs, anchor)  # …a head kept elsewhere can
    assert (result.bad_id, result.problem) == (5, Problem.REWRITTEN)
    tamper(dbs, "DELETE FROM audit_events WHERE id = 5")
    assert audit.verify(dbs).ok
    result = audit.verify(dbs, anchor)
    assert (result.bad_id, result.problem) == (5, Problem.DELETED)


def test_database_refuses_update_and_delete(dbs: Session, actors: list[str]) -> None:
    append_five(dbs, actors)
    statements = [
        "UPDATE audit_events SET detail = 'x' WHERE id = 2",
        "UPDATE audit_events SET actor_id = NULL, action = 'a.b' WHERE id = 2",
        "UPDATE audit_events SET actor_id = (SELECT max(id) FROM accounts) WHERE id = 3",
        "DELETE FROM audit_events WHERE id = 5",
    ]
    if dbs.get_bind().dialect.name == "postgresql":
        statements.append("TRUNCATE audit_events")
    for statement in statements:
        with pytest.raises(IntegrityError, match="append-only"):
            dbs.execute(text(statement))
        dbs.rollback()
    dbs.delete(dbs.get_one(AuditEvent, 5))
    with pytest.raises(IntegrityError, match="append-only"):
        dbs.flush()
    dbs.rollback()
    assert audit.verify(dbs).count == 5


def test_removing_an_account_keeps_the_chain(dbs: Session, actors: list[str]) -> None:
    actor, account_id = actors[0], int(actors[0].split(":")[1])
    event = audit.record(dbs, actor=actor, action="case.opened", report_ref="R1")
    dbs.commit()
    assert event.actor_id == account_id
    # The triggers let ON DELETE SET NULL clear actor_id; the hash covers actor.
    dbs.delete(dbs.get_one(Account, account_id))
    dbs.commit()
    dbs.expire_all()
    kept = dbs.get_one(AuditEvent, event.id)
    assert (kept.actor, kept.actor_id) == (actor, None)
    assert audit.verify(dbs).ok


def test_submitter_events_keep_only_the_day(dbs: Session, actors: list[str]) -> None:
    before = datetime.now(UTC)
    staff = audit.record(dbs, actor=actors[3], action="case.opened", report_ref="R1")
    submitter = audit.record(dbs, actor=audit.SUBMITTER, action="report.withdrawn", report_ref="R1")
    system = audit.record(
        dbs, actor=audit.SYSTEM, action="report.purged", report_ref="R1", day_only=True
    )
    dbs.commit()
    after = datetime.now(UTC)
    for event in (submitter, system):
        assert event.at.time() == datetime.min.time()
        assert event.at.date() in {before.date(), after.date()}
    assert staff.at.microsecond == 0
    assert before.replace(microsecond=0) <= staff.at <= after
    dbs.expire_all()  # and so it is stored
    assert dbs.get_one(AuditEvent, submitter.id).at == submitter.at
    assert audit.verify(dbs).ok


NOT_CODES = {
    "detail": ["x" * 201, "Міліцыянт Іваноў біў мяне", "they beat me", ""],
    "actor": ["Ivan Ivanov", "account:0", "account:17 (Ivan)"],
    "action": ["Case opened", "opened"],
    "report_ref": ["R1 narrative", ""],
}


@pytest.mark.parametrize(("field", "value"), [(f, v) for f, vs in NOT_CODES.items() for v in vs])
def test_record_refuses_anything_but_codes(
    dbs: Session, actors: list[str], field: str, value: str
) -> None:
    arguments = {"actor": actors[0], "action": "case.mapped", "report_ref": "R1", field: value}
    with pytest.raises(ValueError, match="not a|detail"):
        audit.record(dbs, **arguments)
    audit.record(dbs, actor=actors[0], action="case.mapped", detail="P" * 200)
    dbs.commit()
    assert audit.verify(dbs).count == 1


def test_a_second_writer_waits_and_chains_on_the_first(dbs: Session, actors: list[str]) -> None:
    first = audit.record(dbs, actor=actors[0], action="case.opened")  # holds the lock
    chained: list[tuple[int, bytes]] = []
    engine = db.engine()

    def second_writer() -> None:
        with Session(engine) as other:
            event = audit.record(other, actor=actors[1], action="case.opened")
            chained.append((event.id, event.prev_hash))
            other.commit()

    writer = threading.Thread(target=second_writer)
    writer.start()
    time.sleep(0.3)
    assert writer.is_alive(), "the second writer did not wait for the chain lock"
    dbs.commit()
    writer.join(timeout=10)
    assert chained == [(2, first.hash)]


def test_concurrent_writers_never_fork_the_chain(dbs: Session, actors: list[str]) -> None:
    threads, per_thread = 4, 10
    start, errors = threading.Barrier(threads), []
    engine = db.engine()

    def writer(n: int) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                with Session(engine) as session:
                    audit.record(session, actor=actors[n], action="case.opened", detail=f"n={i}")
                    time.sleep(0.002)  # widen the window between read and commit
                    session.commit()
        except Exception as error:  # collected and re-raised in the main thread
            errors.append(error)

    workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert errors == []
    result = audit.verify(dbs)
    assert (result.ok, result.count) == (True, threads * per_thread)


def test_cli_verify(
    dbs: Session,
    actors: list[str],
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REGISTRY_DATABASE_URL", database_url)
    monkeypatch.setenv("REGISTRY_INSTANCE_DIR", str(tmp_path / "cli-instance"))
    monkeypatch.setenv("REGISTRY_KEYS_DIR", str(tmp_path / "cli-keys"))
    runner = CliRunner()
    empty = runner.invoke(main, ["audit", "verify"])
    assert (empty.exit_code, empty.output) == (0, "audit log OK: 0 events\n")
    events = append_five(dbs, actors)
    good = runner.invoke(main, ["audit", "verify"])
    head = f"5:{events[-1].hash.hex()}"
    assert (good.exit_code, good.output) == (0, f"audit log OK: 5 events\nhead: {head}\n")
    assert runner.invoke(main, ["audit", "verify", "--anchor", head]).exit_code == 0
    assert runner.invoke(main, ["audit", "verify", "--anchor", "5:zz"]).exit_code == 2
    tamper(dbs, "UPDATE audit_events SET report_ref = 'R2' WHERE id = 3")
    bad = runner.invoke(main, ["audit", "verify"])
    assert bad.exit_code == 1
    assert bad.output.startswith("audit log BROKEN at event #3: edited")
