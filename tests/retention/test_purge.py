"""Retention deletes a closed case's sealed content on its day, and only then (issue 15, item 1)."""

from __future__ import annotations

import fcntl
import io
import os
import secrets
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from config import Config
from registry import db
from registry.attachments.storage import BlobStore
from registry.evidence import figures
from registry.keyring.escrow import escrow_status
from registry.models import (
    Attachment,
    AuditEvent,
    CaseMapping,
    CaseSummary,
    HeldAccess,
    KeyWrap,
    Message,
    Note,
    Report,
    ReportFlag,
    ReportLink,
    ReportViolation,
    RetentionHold,
    SealedField,
    SnapshotSummary,
)
from registry.retention.purge import SweepRefused, purge_due, sweep_orphan_blobs
from registry.retention.rules import add_months
from tests.evidence.plain import add_case
from tests.helpers import StaffActions, english_client, post_form, submit_report
from tests.retention.cases import PDF, closed_case, full_case

TODAY = date(2026, 12, 4)
NOT_FOUND = "No report matches this receipt."
SENTENCE = "Your report is deleted 24 months after the case is closed."
GONE = (
    SealedField,
    KeyWrap,
    Message,
    Note,
    Attachment,
    HeldAccess,
    CaseSummary,
    SnapshotSummary,
    ReportFlag,
    RetentionHold,
)


def _cfg(app: Flask) -> Config:
    cfg: Config = app.extensions["registry.config"]
    return cfg


def _store(app: Flask) -> BlobStore:
    store: BlobStore = app.extensions["registry.blobs"]
    return store


def _count(session: Session, model: type, report_id: int) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(model).where(model.report_id == report_id)  # type: ignore[attr-defined]
        )
        or 0
    )


def _followup(client: FlaskClient, receipt: str) -> str:
    return post_form(client, "/followup/", {"receipt": receipt}).get_data(as_text=True)


def test_a_closed_case_loses_its_content_on_its_day_and_keeps_its_codes(
    app: Flask, client: FlaskClient, staff: StaffActions
) -> None:
    reviewer = staff.create("keeper@example.org")
    public_id, receipt = full_case(app, client, reviewer, closed_on=add_months(TODAY, -24))
    form = english_client(app).get("/report").get_data(as_text=True)
    assert SENTENCE in form
    assert "If it is closed as “Duplicate”: after 3 months." in form
    submitter = english_client(app)
    _followup(submitter, receipt)
    assert SENTENCE in submitter.get("/followup/case").get_data(as_text=True)
    with app.app_context():
        session = db.session()
        report = session.scalars(select(Report).where(Report.public_id == public_id)).one()
        lookup, report_id = report.lookup_id, report.id
        # Not a day before its deletion day.
        early = purge_due(session, _cfg(app), _store(app), today=TODAY - timedelta(days=1))
        assert early.purged == []
        assert _count(session, SealedField, report_id) > 0
        before = figures.build(session, today=TODAY)
        session.rollback()
        result = purge_due(session, _cfg(app), _store(app), today=TODAY)
        assert (result.purged, result.failed, result.blobs_deleted) == ([public_id], [], 1)
        for model in GONE:
            assert _count(session, model, report_id) == 0, model.__name__
        assert not session.scalar(
            select(func.count())
            .select_from(ReportLink)
            .where(or_(ReportLink.report_id == report_id, ReportLink.other_id == report_id))
        )
        (mapping,) = session.scalars(select(CaseMapping).where(CaseMapping.report_id == report_id))
        assert (mapping.strength, mapping.sealed_rationale, mapping.created_by) == (
            "strong",
            b"",
            None,
        )
        report = session.get(Report, report_id, populate_existing=True)
        assert report is not None
        assert report.purged_on == TODAY
        assert report.lookup_id != lookup
        assert len(report.lookup_id) == len(lookup)
        assert report.submitter_public_key == report.inbox_public_key == b""
        assert (report.status, report.disposition, report.region) == (
            "closed",
            "substantiated",
            "minsk-city",
        )
        assert [v.code for v in report.violations] == ["torture"]
        # What published statistics count is the same before and after.
        assert figures.build(session, today=TODAY) == before
        (event,) = session.scalars(select(AuditEvent).where(AuditEvent.action == "case.purged"))
        assert (event.report_ref, event.actor, event.detail) == (public_id, "system", "codes")
        assert (event.at.hour, event.at.minute, event.at.second) == (0, 0, 0)
        # A second run finds nothing more to do.
        assert purge_due(session, _cfg(app), _store(app), today=TODAY).purged == []
    assert not [p for p in _store(app).kept.iterdir()]
    # A follow-up session still open ends; the receipt now finds nothing, in
    # the very words of an unknown receipt.
    assert submitter.get("/followup/case").status_code == 303
    assert NOT_FOUND in _followup(english_client(app), receipt)
    # The case page says what happened instead of failing.
    reader = english_client(app)
    staff.login(reader, reviewer)
    page = reader.get(f"/review/case/{public_id}")
    assert page.status_code == 200
    assert "Content deleted on" in page.get_data(as_text=True)


def test_periods_follow_the_disposition_and_holds(app: Flask) -> None:
    with app.app_context():
        session = db.session()
        closed = add_months(TODAY, -3)
        duplicate = closed_case(session, closed_on=closed, disposition="duplicate")
        substantiated = closed_case(session, closed_on=closed)
        held = closed_case(session, closed_on=date(2020, 1, 31))
        session.add(RetentionHold(report_id=held.id, reason="Appeal.", until=TODAY, set_on=closed))
        add_case(session, status="in-review")
        ids = (duplicate.public_id, substantiated.public_id, held.public_id)
        session.commit()
        first = purge_due(session, _cfg(app), _store(app), today=TODAY)
        assert first.purged == [ids[0]]
        # The hold keeps the case through its last day; the day after, it goes.
        after = purge_due(session, _cfg(app), _store(app), today=TODAY + timedelta(days=1))
        assert after.purged == [ids[2]]
        assert not session.scalar(select(func.count()).select_from(RetentionHold))
        kept = session.scalars(select(Report).where(Report.public_id == ids[1])).one()
        assert kept.purged_on is None
        assert _count(session, SealedField, kept.id) == 1


def test_keep_nothing_deletes_the_row_too(app: Flask) -> None:
    # No per-disposition periods at all: every closed case has the default one.
    cfg = replace(_cfg(app), retention_keep="nothing", retention_by_disposition="")
    with app.app_context():
        session = db.session()
        report = closed_case(session, closed_on=date(2020, 1, 1))
        report_id, public_id = report.id, report.public_id
        session.commit()
        assert purge_due(session, cfg, _store(app), today=TODAY).purged == [public_id]
        assert session.get(Report, report_id) is None
        for model in (ReportViolation, CaseMapping, SealedField, KeyWrap):
            assert _count(session, model, report_id) == 0
        detail = session.scalar(select(AuditEvent.detail).where(AuditEvent.report_ref == public_id))
        assert detail == "nothing"


def test_orphan_blobs_are_swept_once_old_and_unlocked(app: Flask, client: FlaskClient) -> None:
    """A run killed after its commit leaves the case's blobs: the sweep deletes them later."""
    submit_report(client, files=[(io.BytesIO(PDF), "kept.pdf")])
    store = _store(app)
    (owned,) = store.kept.iterdir()
    orphan, locked = (_blob(store.kept) for _ in range(2))
    with app.app_context():
        session = db.session()
        # Fresh blobs stay whatever they are: one may be a submission about to commit.
        assert sweep_orphan_blobs(session, store) == 0
        holder = os.open(locked, os.O_RDONLY)
        try:
            fcntl.flock(holder, fcntl.LOCK_EX)
            assert sweep_orphan_blobs(session, store, older_than_days=0) == 1
        finally:
            os.close(holder)
    assert sorted(store.kept.iterdir()) == sorted([owned, locked])
    assert not orphan.exists()


def _blob(folder: Path) -> Path:
    path = folder / secrets.token_hex(16)
    path.write_bytes(b"ciphertext")
    return path


def test_rows_that_reach_a_purged_case_late_go_at_the_next_run(app: Flask) -> None:
    """A writer that checked the case before the purge committed may add its row after."""
    with app.app_context():
        session = db.session()
        report = closed_case(session, closed_on=date(2020, 1, 31))
        report_id, public_id = report.id, report.public_id
        session.commit()
        assert purge_due(session, _cfg(app), _store(app), today=TODAY).purged == [public_id]
        purged = session.get(Report, report_id, populate_existing=True)
        assert purged is not None
        # The days that could be joined with other records keep their month only.
        assert (purged.received_on.day, purged.closed_on) == (1, date(2020, 1, 1))
        # Escrow has nothing to cover for it: no false "lacks a wrap".
        assert escrow_status(session, "0" * 16).lacking == 0
        # A racing writer's rows, stored just after the purge.
        session.add(SealedField(report_id=report_id, name="note:late", ciphertext=b"late"))
        session.add(KeyWrap(report_id=report_id, escrow=True, wrapped=b"late wrap"))
        session.commit()
        assert purge_due(session, _cfg(app), _store(app), today=TODAY).purged == []
        for model in (SealedField, KeyWrap):
            assert _count(session, model, report_id) == 0
        details = session.scalars(
            select(AuditEvent.detail).where(AuditEvent.report_ref == public_id)
        ).all()
        assert details == ["codes", "late"]


def test_the_orphan_sweep_refuses_when_most_blobs_are_unnamed(app: Flask) -> None:
    """A wrong or stale database must not make every case's files look like orphans."""
    store = _store(app)
    blobs = [_blob(store.kept) for _ in range(25)]
    with app.app_context(), pytest.raises(SweepRefused):
        sweep_orphan_blobs(db.session(), store, older_than_days=0)
    assert all(blob.exists() for blob in blobs)
