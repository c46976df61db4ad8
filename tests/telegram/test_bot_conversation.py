"""Whole Telegram conversations, the real bot against a fake Bot API server.

A person reports in English with a photo carrying GPS data (sent as a
document, so Telegram would not have stripped it), in Belarusian, and in
Russian after switching language.  Each time: the report is sealed and a
reviewer reads it, the receipt opens /followup, every message of the
conversation is deleted from the chat, and no chat id, user id, token or
text is left in any table, file or log line (the canary check).
"""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import MetaData, select

from registry import db
from registry.telegram import texts as t
from tests.helpers import StaffActions, english_client, post_form
from tests.telegram.fakeapi import FakeTelegram, Person
from tests.telegram.support import (
    choose,
    everything_deleted_but_farewell,
    finish,
    minimal_report_after_role,
    photo_with_gps,
    running_bot,
    settings_for,
    stored_reports,
)

CASE_FILE = re.compile(r'href="(/review/case/[A-Za-z0-9]+/files/[A-Z0-9]+)">([^<]+)<')
CHAT_ID = 7391046285
NARRATIVE = "CanaryNarrative4f2e: they beat us in the bus on Nemiga street."
INJURIES = "CanaryInjury81c0: a broken rib, seen by a doctor."


def database_dump(app: Flask) -> bytes:
    """Every value of every row of every table, as stored."""
    parts: list[bytes] = []
    with app.app_context():
        meta = MetaData()
        meta.reflect(db.engine())
        with db.engine().connect() as conn:
            for table in meta.sorted_tables:
                for row in conn.execute(select(table)):
                    parts.extend(v if isinstance(v, bytes) else str(v).encode() for v in row)
    return b"\n".join(parts)


def files_dump(app: Flask) -> bytes:
    """Every file under the instance and storage directories."""
    cfg = app.extensions["registry.config"]
    roots: list[Path] = [cfg.instance_dir, cfg.storage_dir]
    return b"\n".join(p.read_bytes() for root in roots for p in root.rglob("*") if p.is_file())


def test_a_report_with_a_photo_in_english(
    app: Flask, api: FakeTelegram, staff: StaffActions, caplog: pytest.LogCaptureFixture
) -> None:
    photo = photo_with_gps()  # before the capture: Pillow logs the tags it writes
    reviewer = staff.create("reviewer@example.org")
    caplog.set_level(logging.DEBUG)
    person = Person(api, CHAT_ID, "en")
    with running_bot(app, api, settings_for(app)):
        person.say("/start")
        assert "Telegram's servers can see" in person.last_text()
        assert "/report" in person.last_text()
        choose(person, "intro|go")
        choose(person, "role|victim")
        person.say(NARRATIVE)
        choose(person, "narrative|next")
        person.say("2020")  # a year before the buttons', typed
        choose(person, "nav|back")  # every step can go back
        assert person.last_text().startswith(str(t.YEAR))
        person.say("2020")
        choose(person, "month|08")
        choose(person, "region|minsk-city")
        choose(person, "place|street")
        choose(person, "unit|omon")
        choose(person, "violations|torture")
        assert "☑" in str(person.last_question().buttons)
        choose(person, "violations|next")
        person.say(INJURIES)
        choose(person, "flags|detained-now")
        choose(person, "flags|next")
        choose(person, "contact|receipt")
        choose(person, "consents|publish")
        choose(person, "consents|next")
        assert "document" in person.last_text()  # documents keep their metadata: said
        choose(person, "cleaning|yes")
        person.send_document(photo, "street.jpg")
        assert "street.jpg" in person.last_text()
        choose(person, "files|next")
        assert "CanaryNarrative4f2e" in person.last_text()
        assert "Files: 1" in person.last_text()
        assert stored_reports(app) == []  # nothing before the confirmation
        receipt = finish(person)
    (report,) = stored_reports(app)
    assert (report.region, report.incident_month) == ("minsk-city", "2020-08")
    assert report.language == "en"
    assert report.urgent  # still detained
    assert (report.unit, report.place, report.reporter_role) == ("omon", "street", "victim")
    assert report.consent_publish
    assert not report.consent_refer
    everything_deleted_but_farewell(api, CHAT_ID)

    # A reviewer reads it, and the photo lost its location data.
    client = english_client(app)
    staff.login(client, reviewer)
    page = client.get(f"/review/case/{report.public_id}").get_data(as_text=True)
    assert "CanaryNarrative4f2e" in page
    assert "CanaryInjury81c0" in page
    (link, name), *_ = CASE_FILE.findall(page)
    assert name == "street.jpg"
    photo = client.get(link).get_data()
    assert b"CanaryCamMaker" not in photo
    from PIL import Image

    assert 0x8825 not in Image.open(io.BytesIO(photo)).getexif()

    # The receipt works on the website like any other.
    submitter = english_client(app)
    response = post_form(submitter, "/followup/", {"receipt": receipt})
    assert response.status_code == 303
    assert "Received. Nobody has read it yet." in submitter.get(
        response.headers["Location"]
    ).get_data(as_text=True)

    # Canary: nothing of the chat is kept, anywhere.
    stored = database_dump(app) + files_dump(app)
    logged = caplog.text
    for canary in (str(CHAT_ID), api.token, "CanaryNarrative4f2e", "CanaryInjury81c0", "Canary"):
        assert canary.encode() not in stored, canary
        assert canary not in logged, canary
    assert str(CHAT_ID).encode().hex().encode() not in stored
    assert not list((app.extensions["registry.config"].storage_dir / "tmp").iterdir())


def test_a_report_in_belarusian(app: Flask, api: FakeTelegram) -> None:
    person = Person(api, 5550123, "be")
    with running_bot(app, api, settings_for(app)):
        person.say("hello")  # any first message opens the conversation
        choose(person, "intro|go")
        assert person.last_text() == t.render(app, "be", t.ROLE)
        assert person.last_text() != str(t.ROLE)
        receipt = minimal_report_after_role(person)
    (report,) = stored_reports(app)
    assert (report.language, report.region, report.incident_month) == ("be", "brest", None)
    assert report.consent_contact == "none"
    everything_deleted_but_farewell(api, 5550123)
    response = post_form(english_client(app), "/followup/", {"receipt": receipt})
    assert response.status_code == 303


def test_a_report_in_russian_after_switching(app: Flask, api: FakeTelegram) -> None:
    person = Person(api, 5550456, "en-US")
    with running_bot(app, api, settings_for(app)):
        person.say("/start")
        choose(person, "lang|ru")  # the switch: the intro again, in Russian
        choose(person, "intro|go")
        assert person.last_text() == t.render(app, "ru", t.ROLE)
        assert person.last_text() != str(t.ROLE)
        minimal_report_after_role(person)
    (report,) = stored_reports(app)
    assert report.language == "ru"
    everything_deleted_but_farewell(api, 5550456)
