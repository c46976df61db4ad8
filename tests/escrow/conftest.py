"""A running registry's worth of cases for the escrow tests, and the escrow CLI's environment.

``populated`` files reports through the real form and follow-up pages
(files, a message from the submitter) and adds, through the services a
reviewer's request calls, a reply, a note and a mapping: every kind of
sealed part recovery must bring back.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from registry import db
from registry.models import ReformProposal, Report
from registry.records.access import data_key_for
from registry.records.messages import post_reply
from registry.reforms.service import map_case
from registry.review.triage import add_note
from tests.helpers import (
    ESCROW_PASSPHRASE,
    ESCROW_PRIVATE,
    StaffActions,
    english_client,
    post_form,
    private_key_of,
    submit_and_locate,
    submit_located,
)

ROOT = Path(__file__).resolve().parents[2]
PDF = b"%PDF-1.7\n%escrow-canary-pdf\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n"
TEXT = "Сведка: escrow-canary-text, badge 0420\n".encode()


@dataclass
class Case:
    """What one populated case holds, in plain, for comparing with what comes back."""

    public_id: str
    narrative: str
    files: dict[str, bytes] = field(default_factory=dict)
    to_staff: list[str] = field(default_factory=list)
    to_submitter: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rationales: list[str] = field(default_factory=list)


def files(*items: tuple[bytes, str]) -> list[tuple[io.BytesIO, str]]:
    """Form values for uploading ``items`` (content, name)."""
    return [(io.BytesIO(data), name) for data, name in items]


def file_case(app: Flask, narrative: str, **extra: object) -> str:
    """Submit one report through the public form; return its public id."""
    return submit_and_locate(app, english_client(app), narrative=narrative, **extra)


def populate(app: Flask) -> list[Case]:
    """Three cases: with files, messages both ways, a note and a mapping; plainer ones."""
    staff = StaffActions(app)
    reviewer = staff.create("keeper@example.org")
    first = Case("", "They beat us in the bus. Канцлагер на Акрэсціна.")
    first.files = {"med report.pdf": PDF, "../../сведка notes.txt": TEXT}
    client = english_client(app)
    first.public_id = submit_and_locate(
        app,
        client,
        narrative=first.narrative,
        when_exact="9 August 2020",
        files=files(*((data, name) for name, data in first.files.items())),
    )
    second = Case("", "Second account, no files.")
    receipt = _receipt_of_new_report(app, second)
    third = Case(file_case(app, "Third: only the narrative."), "Third: only the narrative.")
    # The submitter writes again, with the receipt (follow-up pages).
    follow = english_client(app)
    post_form(follow, "/followup/", {"receipt": receipt})
    post_form(
        follow, "/followup/message", {"text": "I remembered more."}, form_page="/followup/case"
    )
    second.to_staff.append("I remembered more.")
    key = private_key_of(app, reviewer)
    with app.app_context():
        session = db.session()
        report = session.scalars(select(Report).where(Report.public_id == first.public_id)).one()
        dek = data_key_for(session, report, reviewer.account_id, key)
        post_reply(
            session,
            report,
            "Please send the paper.",
            dek=dek,
            author_id=reviewer.account_id,
            today=date.today(),
        )
        first.to_submitter.append("Please send the paper.")
        add_note(
            session,
            report,
            account_id=reviewer.account_id,
            private_key=key,
            text="Internal: matches case B.",
        )
        first.notes.append("Internal: matches case B.")
        code = session.scalars(select(ReformProposal.code).limit(1)).one()
        map_case(
            session,
            report,
            account_id=reviewer.account_id,
            private_key=key,
            proposal_code=code,
            strength="strong",
            rationale="Shows the pattern.",
        )
        first.rationales.append("Shows the pattern.")
        session.commit()
    return [first, second, third]


def _receipt_of_new_report(app: Flask, case: Case) -> str:
    """File ``case`` through the form; set its public id and return its receipt."""
    case.public_id, receipt = submit_located(app, english_client(app), narrative=case.narrative)
    return receipt


def run_registry(
    *args: str, cwd: Path, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``registry ARGS`` in a fresh process with no REGISTRY_* settings at all."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    return subprocess.run(
        [sys.executable, "-c", "from registry.cli import main; main()", *args],
        cwd=cwd,
        env={**env, "PYTHONPATH": str(ROOT)},
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


@pytest.fixture
def escrow_file(tmp_path: Path) -> Path:
    """The locked escrow private key conftest installs, and its passphrase file beside it."""
    (tmp_path / "pass.txt").write_text(ESCROW_PASSPHRASE + "\n")
    return tmp_path / ESCROW_PRIVATE
