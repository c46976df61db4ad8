"""Promise 12: a seized disk cannot tell which questions were answered, or how long each answer is.

Two reports, one with only an account and one answering every question and
giving a contact, of about the same total length: their sealed rows have
the same names and the same lengths.  Messages of different lengths in one
size class are as long as each other on disk.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from registry import db
from registry.models import Message, Report, SealedField
from tests.helpers import (
    english_client,
    post_form,
    submit_and_locate,
    submit_report,
    texts_by_escrow,
)

EVERY_ANSWER = {
    "when_exact": "9 August 2020, about 23:00, " + "ч" * 100,
    "where_exact": "Akrescina, the yard behind the gate, " + "ш" * 100,
    "perpetrators": "Three OMON officers, one with badge 0420, " + "щ" * 100,
    "said": "They said we would not leave alive, " + "ж" * 100,
    "injuries": "Broken rib, bruises on the back, hospital paper, " + "ю" * 100,
    "witnesses": "My cellmate Ales and a woman from Hrodna, " + "я" * 100,
}


def _rows(app: Flask, public_id: str) -> set[tuple[str, int]]:
    """What the disk shows of a report's sealed rows: names and ciphertext lengths."""
    with app.app_context():
        rows = db.session().execute(
            select(SealedField.name, SealedField.ciphertext)
            .join(Report, Report.id == SealedField.report_id)
            .where(Report.public_id == public_id)
        )
        return {(name, len(ciphertext)) for name, ciphertext in rows}


def test_which_answers_were_given_is_not_on_disk(app: Flask, tmp_path: Path) -> None:
    account_only = submit_and_locate(
        app, english_client(app), narrative="They beat us in the bus. " + "б" * 1_200
    )
    everything = submit_and_locate(
        app,
        english_client(app),
        narrative="They beat us in the bus.",
        consent_contact="contact",
        contact_details="Signal +375 29 000 00 00",
        **EVERY_ANSWER,
    )
    short, full = _rows(app, account_only), _rows(app, everything)
    # The same two row names and the same lengths: one size class (4 KiB).
    assert short == full
    assert {name for name, _ in short} == {"answers", "inbox-key"}
    assert dict(short)["answers"] == 4096 + 2 + 12 + 16
    # ... while the record holds what each person wrote, and only that.
    assert set(texts_by_escrow(app, tmp_path, account_only)) == {"narrative"}
    assert texts_by_escrow(app, tmp_path, everything) == {
        "narrative": "They beat us in the bus.",
        **EVERY_ANSWER,
        "contact": "Signal +375 29 000 00 00",
    }


def test_short_and_long_messages_of_one_class_are_as_long_on_disk(
    app: Flask, client: FlaskClient
) -> None:
    receipt = submit_report(client)
    post_form(client, "/followup/", {"receipt": receipt})
    # 172 bytes: with the 67-byte statement the staff copy carries since
    # statements (registry.records.authorship), still the smallest class.
    for text in ("ok", "The badge was 4711; the car had no plates. " * 4):
        sent = post_form(client, "/followup/message", {"text": text}, form_page="/followup/case")
        assert sent.status_code == 303
    with app.app_context():
        messages = list(db.session().scalars(select(Message)))
    assert len(messages) == 2
    assert len({len(m.staff_copy) for m in messages}) == 1
    assert len({len(m.submitter_copy) for m in messages}) == 1
