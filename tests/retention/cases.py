"""Cases for the retention tests: plain closed cases, and one with every kind of content."""

from __future__ import annotations

import io
from datetime import date

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from registry import db
from registry.models import (
    EvidenceSnapshot,
    HeldAccess,
    KeyWrap,
    ReformProposal,
    Report,
    ReportFlag,
    ReportLink,
    SealedField,
    SnapshotSummary,
    Status,
)
from registry.records import messages
from registry.records.access import data_key_for
from registry.reforms import service as reforms
from registry.review import triage
from tests.evidence.plain import add_case, add_summary
from tests.helpers import Staff, private_key_of, submit_located

PDF = b"%PDF-1.7\n%retention-canary\ntrailer\n%%EOF\n"


def closed_case(
    session: Session,
    *,
    closed_on: date,
    disposition: str = "substantiated",
    proposals: dict[str, str] | None = None,
) -> Report:
    """A plain closed case (codes, a fake sealed field and escrow wrap) closed on ``closed_on``."""
    report = add_case(
        session,
        status=Status.CLOSED.value,
        disposition=disposition,
        proposals=proposals,
    )
    report.closed_on = closed_on
    session.add(SealedField(report_id=report.id, name="answers", ciphertext=b"sealed"))
    session.add(KeyWrap(report_id=report.id, escrow=True, wrapped=b"wrapped"))
    session.flush()
    return report


def close(session: Session, public_id: str, *, on: date, disposition: str) -> Report:
    """Mark a stored report closed on ``on`` (as triage would, dated)."""
    report = session.scalars(select(Report).where(Report.public_id == public_id)).one()
    report.status, report.disposition, report.closed_on = "closed", disposition, on
    return report


def full_case(
    app: Flask, client: FlaskClient, reviewer: Staff, *, closed_on: date
) -> tuple[str, str]:
    """A submitted case with a file, a reply, a note, a mapping, a link, summaries, held access.

    Closed as substantiated on ``closed_on``; returns its public id and receipt.
    """
    public_id, receipt = submit_located(
        app, client, files=[(io.BytesIO(PDF), "med.pdf")], flags=["journalist"]
    )
    key = private_key_of(app, reviewer)
    with app.app_context():
        session = db.session()
        report = close(session, public_id, on=closed_on, disposition="substantiated")
        dek = data_key_for(session, report, reviewer.account_id, key)
        messages.post_reply(
            session, report, "We read it.", dek=dek, author_id=reviewer.account_id, today=closed_on
        )
        triage.add_note(
            session, report, account_id=reviewer.account_id, private_key=key, text="Call back."
        )
        other = closed_case(session, closed_on=date(2099, 1, 1))
        low, high = sorted((report.id, other.id))
        session.add(ReportLink(report_id=low, other_id=high, kind="same-incident"))
        session.add(HeldAccess(account_id=reviewer.account_id, report_id=report.id))
        session.add(ReportFlag(report_id=report.id, code="child"))
        proposal = session.scalars(
            select(ReformProposal.code).where(ReformProposal.active).order_by(ReformProposal.code)
        ).first()
        assert proposal is not None
        reforms.map_case(
            session,
            report,
            account_id=reviewer.account_id,
            private_key=key,
            proposal_code=proposal,
            strength="strong",
            rationale="Shows the need for body cameras.",
        )
        report.consent_publish = True
        add_summary(session, report, "A man was beaten in 2020.")
        snapshot = EvidenceSnapshot(
            number=1, published_on=closed_on, k=5, payload="{}", digest="0" * 64
        )
        session.add(snapshot)
        session.flush()
        session.add(
            SnapshotSummary(
                snapshot_id=snapshot.id,
                report_id=report.id,
                text="A man was beaten in 2020.",
                region="minsk-city",
                period="2020",
                proposals="[]",
            )
        )
        session.commit()
    return public_id, receipt
