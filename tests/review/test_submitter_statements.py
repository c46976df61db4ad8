"""Promise 10, authorship: what reviewers see as the submitter's is the receipt holder's.

The forger holds write access to the whole database and to ``storage/``,
and no key: not the receipt, not the report's data key.  The report's inbox
PUBLIC key is in the database, so the forger can seal anything to it.  Only
the receipt-derived signing key can sign a statement, and its verify key is
sealed under the data key.  So a forged message shows as "could not be
verified", a forged file is listed as such and never sent, and both are
audited as damage; genuine items (at intake and via /followup) verify and
download byte for byte.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, select

from registry import db
from registry.attachments.upload import UPLOAD_CONTEXT
from registry.crypto import content_digest, seal_to_public_key, sign_statement, unwrap_data_key
from registry.crypto.stream import seal_stream
from registry.models import Attachment, AuditEvent, Direction, KeyWrap, Message, Report, SealedField
from registry.records.ids import new_public_id
from registry.records.positions import next_position
from registry.records.texts import seal_answers
from registry.records.vocabulary import ANSWERS
from tests.helpers import (
    Staff,
    StaffActions,
    english_client,
    post_form,
    private_key_of,
    submit_located,
)

PDF = b"%PDF-1.7\n%canary-genuine-pdf\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n"
LATER = b"canary-later list of witnesses\n"
FORGED_PDF = b"%PDF-1.7\n%canary-forged-pdf\n/JavaScript (app.alert(1))\n%%EOF\n"
UNVERIFIED = "Could not be verified"
FILE_DAMAGED = "This file failed its integrity check."
GENUINE_TEXT = "Genuine follow-up: the van number was 17"
FORGED_TEXT = "Forged: I withdraw everything I said"


@dataclasses.dataclass
class Case:
    app: Flask
    reviewer: Staff
    client: FlaskClient
    public_id: str
    files: dict[str, str]  # file name -> file public id

    def url(self, name: str) -> str:
        return f"/review/case/{self.public_id}/files/{self.files[name]}"

    def page(self) -> tuple[str, dict[str, str]]:
        response = self.client.get(f"/review/case/{self.public_id}")
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        found = re.findall(
            rf'href="/review/case/{self.public_id}/files/([A-Z0-9]+)">([^<]+)<', page
        )
        return page, {name: file_id for file_id, name in found}


@pytest.fixture
def case(app: Flask, staff: StaffActions) -> Case:
    """A report with a PDF at intake, then a message and a file added via /followup."""
    reviewer = staff.create("statements@example.org")
    submitter = english_client(app)
    public_id, receipt = submit_located(app, submitter, files=[(io.BytesIO(PDF), "med.pdf")])
    assert post_form(submitter, "/followup/", {"receipt": receipt}).status_code == 303
    sent = post_form(
        submitter, "/followup/message", {"text": GENUINE_TEXT}, form_page="/followup/case"
    )
    assert sent.status_code == 303
    added = post_form(
        submitter,
        "/followup/files",
        {"files": [(io.BytesIO(LATER), "later.txt")]},
        form_page="/followup/case",
    )
    assert added.status_code == 303
    client = english_client(app)
    staff.login(client, reviewer)
    found = Case(app, reviewer, client, public_id, {})
    page, ids = found.page()
    assert set(ids) == {"med.pdf", "later.txt"}
    found.files = ids
    assert GENUINE_TEXT in page
    return found


def _events(app: Flask, action: str) -> list[str]:
    with app.app_context():
        details = db.session().scalars(select(AuditEvent.detail).where(AuditEvent.action == action))
        return [detail or "" for detail in details]


def _report(public_id: str) -> Report:
    return db.session().scalars(select(Report).where(Report.public_id == public_id)).one()


def _assert_downloads(case: Case, name: str, data: bytes) -> None:
    response = case.client.get(case.url(name))
    assert response.status_code == 200
    assert response.get_data() == data
    response.close()


def _assert_refused(case: Case, name: str) -> None:
    response = case.client.get(case.url(name))
    body = response.get_data()
    assert response.status_code == 409
    assert "attachment" not in response.headers.get("Content-Disposition", "")
    assert FILE_DAMAGED in body.decode()
    assert b"canary" not in body
    assert case.files[name] not in _events(case.app, "case.file-opened")
    assert "file" in ",".join(_events(case.app, "case.part-damaged"))


def test_genuine_items_verify_and_download(case: Case) -> None:
    page, _ids = case.page()
    assert UNVERIFIED not in page
    _assert_downloads(case, "med.pdf", PDF)
    _assert_downloads(case, "later.txt", LATER)
    assert _events(case.app, "case.part-damaged") == []


def test_forged_message_is_not_verified(case: Case) -> None:
    with case.app.app_context():
        session = db.session()
        report = _report(case.public_id)
        mid = new_public_id()
        session.add(
            Message(
                public_id=mid,
                report_id=report.id,
                seq=next_position(session, Message, report.id),
                direction=Direction.TO_STAFF.value,
                created_on=date(2026, 1, 2),
                # Sealed exactly as the server seals, with a statement by a
                # key of the forger's own: the public key is in the row.
                staff_copy=seal_to_public_key(
                    b"\xff"
                    + sign_statement(
                        os.urandom(32),
                        report_id=report.public_id,
                        kind="message",
                        item_id=mid,
                        digest=content_digest(FORGED_TEXT.encode()),
                    )
                    + FORGED_TEXT.encode(),
                    report.inbox_public_key,
                    report_id=report.public_id,
                    purpose=f"inbox:{mid}",
                ),
                submitter_copy=seal_to_public_key(
                    FORGED_TEXT.encode(),
                    report.submitter_public_key,
                    report_id=report.public_id,
                    purpose=f"submitter:{mid}",
                ),
            )
        )
        session.add(
            Message(
                public_id=(bare := new_public_id()),
                report_id=report.id,
                seq=next_position(session, Message, report.id) + 1,
                direction=Direction.TO_STAFF.value,
                created_on=date(2026, 1, 2),
                # And one without any statement, like messages of old.
                staff_copy=seal_to_public_key(
                    b"Forged bare message",
                    report.inbox_public_key,
                    report_id=report.public_id,
                    purpose=f"inbox:{bare}",
                ),
                submitter_copy=b"",
            )
        )
        session.commit()
    page, ids = case.page()
    assert FORGED_TEXT in page
    assert "Forged bare message" in page
    assert page.count(UNVERIFIED) == 2
    genuine_item = page[page.index(GENUINE_TEXT) : page.index("</li>", page.index(GENUINE_TEXT))]
    assert UNVERIFIED not in genuine_item
    assert set(ids) == {"med.pdf", "later.txt"}
    assert _events(case.app, "case.part-damaged") == ["message"]


def _forge_file(case: Case, name: str) -> None:
    """Replace a file's blob, key and metadata with a forged PDF and a matching custody hash."""
    with case.app.app_context():
        session = db.session()
        report = _report(case.public_id)
        row = session.scalars(
            select(Attachment).where(Attachment.public_id == case.files[name])
        ).one()
        key = os.urandom(32)
        path = Path(case.app.extensions["registry.config"].storage_dir) / "blobs" / row.blob
        with path.open("wb") as sink:
            info = seal_stream(
                key,
                io.BytesIO(FORGED_PDF),
                sink,
                report_id=UPLOAD_CONTEXT,
                attachment_id=row.public_id,
            )
        meta = {
            "name": name,
            "type": "application/pdf",
            "size": len(FORGED_PDF),
            "sha256": info.sha256_hex,
            "scrubbed": False,
            "sig": "01" * 33,
        }
        row.sealed_key = seal_to_public_key(
            key,
            report.inbox_public_key,
            report_id=report.public_id,
            purpose=f"attachment-key:{row.public_id}",
        )
        row.sealed_meta = seal_to_public_key(
            json.dumps(meta).encode(),
            report.inbox_public_key,
            report_id=report.public_id,
            purpose=f"attachment-meta:{row.public_id}",
        )
        session.commit()


@pytest.mark.parametrize("name", ["med.pdf", "later.txt"])
def test_forged_file_is_listed_unverified_and_never_sent(case: Case, name: str) -> None:
    _forge_file(case, name)
    page, ids = case.page()
    assert UNVERIFIED in page
    # Listed by name only: no link to the forged file; the other one still has its link.
    assert name not in ids
    other, data = ("later.txt", LATER) if name == "med.pdf" else ("med.pdf", PDF)
    assert other in ids
    _assert_refused(case, name)
    _assert_downloads(case, other, data)
    assert _events(case.app, "case.part-damaged") == ["file"]


def _dek(case: Case) -> bytes:
    private = private_key_of(case.app, case.reviewer)
    with case.app.app_context():
        report = _report(case.public_id)
        wrapped = (
            db.session()
            .scalars(
                select(KeyWrap.wrapped).where(
                    KeyWrap.report_id == report.id,
                    KeyWrap.account_id == case.reviewer.account_id,
                )
            )
            .one()
        )
    return unwrap_data_key(wrapped, private, report_id=case.public_id)


def test_removing_the_verify_key_does_not_pass_for_an_older_report(case: Case) -> None:
    """A forger who deletes the record that holds the key downgrades nothing."""
    _forge_file(case, "med.pdf")
    with case.app.app_context():
        report = _report(case.public_id)
        db.session().execute(
            delete(SealedField).where(
                SealedField.report_id == report.id, SealedField.name == ANSWERS
            )
        )
        db.session().commit()
    page, ids = case.page()
    assert ids == {}
    assert page.count(UNVERIFIED) >= 3
    _assert_refused(case, "med.pdf")


def test_older_report_without_a_verify_key_still_downloads(case: Case) -> None:
    """Stored before statements (no key in the record): shown unverified, still served.

    Simulated by re-sealing the record without the key, as only a holder of
    the data key (never a forger) could.
    """
    dek = _dek(case)
    with case.app.app_context():
        session = db.session()
        report = _report(case.public_id)
        record = session.get(SealedField, (report.id, ANSWERS))
        assert record is not None
        record.ciphertext = seal_answers(
            dek, {"narrative": "They beat us in the bus."}, report_id=case.public_id
        )
        session.commit()
    page, ids = case.page()
    assert set(ids) == {"med.pdf", "later.txt"}
    assert page.count(UNVERIFIED) == 3
    _assert_downloads(case, "med.pdf", PDF)
    _assert_downloads(case, "later.txt", LATER)
    assert _events(case.app, "case.part-damaged") == []
