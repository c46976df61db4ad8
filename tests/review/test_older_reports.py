"""Reports stored before padding and the one sealed record still read exactly as before.

They hold an unpadded row per text (``narrative``, ``when_exact``, ...,
``contact``), an unpadded inbox key and unpadded messages.  Nobody can
re-seal them without the report's key, so the case page, the linked-case
page and the search must keep reading that layout, damage included.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from registry import db
from registry.crypto import generate_keypair, unwrap_data_key
from registry.crypto.envelope import Kind
from registry.crypto.hpke_wrap import _seal as hpke_seal
from registry.models import Account, AuditEvent, Direction, KeyWrap, Message, SealedField
from registry.records.ids import new_public_id
from registry.review.queue import QueueFilters
from registry.review.search import search
from tests.helpers import StaffActions, english_client, private_key_of
from tests.review.queue_data import seal_legacy_field, sealed_report

NARRATIVE = "OLD-NARRATIVE They held us in the yard"
WHEN = "OLD-WHEN 9 August about 23:00"
WHERE = "OLD-WHERE behind the Akrescina gate"
CONTACT = "OLD-CONTACT Signal +375 29 000"
TO_STAFF = "OLD-MESSAGE the badge was 4711"
REPLY = "OLD-REPLY which day was it?"
DAMAGED = "This part failed its integrity check."


@dataclass
class Older:
    """A report in the older layout, and a reviewer who holds its key."""

    public_id: str
    client: FlaskClient
    account_id: int
    private_key: bytes


@pytest.fixture
def older(app: Flask, staff: StaffActions) -> Older:
    reviewer = staff.create("older@example.org")
    private = private_key_of(app, reviewer)
    inbox = generate_keypair()
    with app.app_context():
        session = db.session()
        account = session.get(Account, reviewer.account_id)
        assert account is not None
        assert account.public_key is not None
        report = sealed_report(
            session,
            NARRATIVE,
            [(account.id, account.public_key)],
            answers={"when_exact": WHEN, "where_exact": WHERE, "contact": CONTACT},
            per_text_rows=True,
            consent_contact="contact",
            inbox_public_key=inbox.public,
        )
        public_id = report.public_id
        wrapped = session.scalars(select(KeyWrap.wrapped).where(KeyWrap.report_id == report.id))
        dek = unwrap_data_key(wrapped.one(), private, report_id=public_id)
        session.add(
            SealedField(
                report_id=report.id,
                name="inbox-key",
                ciphertext=seal_legacy_field(
                    dek, inbox.private, report_id=public_id, field="inbox-key"
                ),
            )
        )
        to_staff, reply = new_public_id(), new_public_id()
        session.add_all(
            [
                Message(
                    public_id=to_staff,
                    report_id=report.id,
                    seq=1,
                    direction=Direction.TO_STAFF.value,
                    created_on=date(2025, 1, 16),
                    staff_copy=hpke_seal(
                        TO_STAFF.encode(),
                        inbox.public,
                        Kind.SUBMITTER_MESSAGE,
                        public_id,
                        f"inbox:{to_staff}",
                    ),
                    submitter_copy=b"",
                ),
                Message(
                    public_id=reply,
                    report_id=report.id,
                    seq=2,
                    direction=Direction.TO_SUBMITTER.value,
                    created_on=date(2025, 1, 17),
                    staff_copy=seal_legacy_field(
                        dek, REPLY.encode(), report_id=public_id, field=f"message:{reply}"
                    ),
                    submitter_copy=b"",
                ),
            ]
        )
        session.commit()
        # Unpadded: each row is exactly as long as its text plus the envelope.
        narrative_row = session.get(SealedField, (report.id, "narrative"))
        assert narrative_row is not None
        assert len(narrative_row.ciphertext) == len(NARRATIVE.encode()) + 30
    client = english_client(app)
    staff.login(client, reviewer)
    return Older(public_id, client, reviewer.account_id, private)


def test_case_page_reads_every_part_of_an_older_report(older: Older) -> None:
    response = older.client.get(f"/review/case/{older.public_id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for text in (NARRATIVE, WHEN, WHERE, CONTACT, TO_STAFF, REPLY):
        assert text in page, text
    assert DAMAGED not in page


def test_linked_page_reads_an_older_report(app: Flask, older: Older) -> None:
    page = older.client.get(f"/review/case/{older.public_id}/linked").get_data(as_text=True)
    for text in (NARRATIVE, WHEN, WHERE):
        assert text in page, text
    assert CONTACT not in page  # the linked page leaves contacts out, as before


def test_search_finds_words_of_an_older_report_but_not_its_contact(
    app: Flask, older: Older
) -> None:
    with app.app_context():
        session = db.session()

        def hits(word: str) -> int:
            found = search(
                session,
                QueueFilters(),
                (word,),
                account_id=older.account_id,
                private_key=older.private_key,
            )
            return len(found.matches)

        assert (hits("old-narrative"), hits("akrescina"), hits("signal")) == (1, 1, 0)


def test_swapped_answer_rows_of_an_older_report_show_as_damaged(app: Flask, older: Older) -> None:
    with app.app_context():
        session = db.session()
        when, where = (
            session.scalars(select(SealedField).where(SealedField.name == name)).one()
            for name in ("when_exact", "where_exact")
        )
        when.ciphertext, where.ciphertext = where.ciphertext, when.ciphertext
        session.commit()
    response = older.client.get(f"/review/case/{older.public_id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert page.count(DAMAGED) == 2
    for text in (NARRATIVE, CONTACT, TO_STAFF, REPLY):
        assert text in page
    assert WHEN not in page
    assert WHERE not in page
    with app.app_context():
        details = (
            db.session()
            .scalars(select(AuditEvent.detail).where(AuditEvent.action == "case.part-damaged"))
            .all()
        )
    assert details == ["answer"]


def test_removed_narrative_row_shows_as_damaged(app: Flask, older: Older) -> None:
    """Every report is stored with an account: a missing one is damage, not an empty text."""
    with app.app_context():
        session = db.session()
        session.delete(
            session.scalars(select(SealedField).where(SealedField.name == "narrative")).one()
        )
        session.commit()
    page = older.client.get(f"/review/case/{older.public_id}").get_data(as_text=True)
    assert page.count(DAMAGED) == 1
    for text in (WHEN, WHERE, CONTACT, TO_STAFF, REPLY):
        assert text in page
