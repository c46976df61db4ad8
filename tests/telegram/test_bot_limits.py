"""Cancelling, forgetting silent conversations, and the limits, each explained politely."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from registry.telegram import texts as t
from registry.telegram.files import TELEGRAM_DOWNLOAD_LIMIT
from registry.telegram.state import HourlyLimit
from tests.telegram.fakeapi import FakeTelegram, Person
from tests.telegram.support import (
    choose,
    everything_deleted_but_farewell,
    photo_with_gps,
    running_bot,
    settings_for,
    stored_reports,
)


def to_the_files(person: Person) -> None:
    """From nothing to the step that takes files, everything optional skipped."""
    person.say("/start")
    choose(person, "intro|go")
    choose(person, "role|")
    person.say("Canary text that must never be stored.")
    for data in (
        "narrative|next",
        "year|",
        "region|gomel",
        "place|",
        "unit|",
        "violations|next",
        "injuries|skip",
        "flags|next",
        "contact|receipt",
        "consents|next",
        "cleaning|no",
    ):
        choose(person, data)


def incoming(app: Flask) -> list[Path]:
    return list((app.extensions["registry.config"].storage_dir / "tmp").iterdir())


def test_cancel_stores_nothing_and_deletes_everything(app: Flask, api: FakeTelegram) -> None:
    person = Person(api, 6660001, "en")
    with running_bot(app, api, settings_for(app)):
        to_the_files(person)
        person.send_document(photo_with_gps(), "street.jpg")
        assert len(incoming(app)) == 1  # sealed on arrival, held by the bot
        person.say("/start")  # one conversation at a time per chat
        assert person.last_text() == str(t.ALREADY_WRITING)
        person.say("/cancel")
        assert person.last_text() == str(t.CANCELLED)
    assert stored_reports(app) == []
    assert incoming(app) == []
    everything_deleted_but_farewell(api, 6660001)


def test_silent_conversation_is_forgotten(app: Flask, api: FakeTelegram) -> None:
    person = Person(api, 6660002, "en")
    with running_bot(app, api, settings_for(app, idle_seconds=1.0)) as desk:
        to_the_files(person)
        person.send_document(photo_with_gps(), "street.jpg")
        question = person.last_question()
        api.wait(lambda: "silent" in person.last_text(), timeout=10)
        assert len(desk.conversations) == 0
        assert incoming(app) == []
        # A button of the forgotten conversation: told so, nothing else.
        person.press_data(question, "files|next")
        assert person.last_text() == str(t.LOST)
    assert stored_reports(app) == []
    deleted = {mid for cid, mid in api.deleted if cid == 6660002}
    assert set(person.sent) <= deleted


def test_files_over_the_limits_are_refused_politely(app: Flask, api: FakeTelegram) -> None:
    photo = photo_with_gps()
    person = Person(api, 6660003, "en")
    settings = settings_for(app, upload_bytes_per_hour=len(photo) + 10)
    with running_bot(app, api, settings):
        person.say("a file too early")
        choose(person, "intro|go")
        person.send_photo(photo)
        assert person.last_text() == str(t.FILES_NOT_NOW)
        choose(person, "nav|cancel")
        to_the_files(person)
        fetched = sum(1 for method, _ in api.calls if method == "getFile")
        person.send_photo(photo, claimed_size=TELEGRAM_DOWNLOAD_LIMIT + 1)
        assert "20 MB" in person.last_text()
        # Explained without even asking Telegram for the file.
        assert sum(1 for method, _ in api.calls if method == "getFile") == fetched
        person.send_photo(photo)
        assert person.last_text() == t.render(app, "en", t.FILE_RECEIVED, name="photo.jpg")
        person.send_photo(photo)  # over this chat's bytes for the hour
        assert person.last_text() == str(t.UPLOAD_LIMIT)
    # Stopping the bot ends the unfinished conversation: files and messages go.
    assert incoming(app) == []
    deleted = {mid for cid, mid in api.deleted if cid == 6660003}
    assert set(person.sent) <= deleted


def test_reports_per_chat_and_hour(app: Flask, api: FakeTelegram) -> None:
    person = Person(api, 6660004, "en")
    with running_bot(app, api, settings_for(app, reports_per_hour=1)) as desk:
        desk.reports.spend(desk.conversations.tag(6660004))  # one report this hour
        person.say("/start")
        assert person.last_text() == t.render(app, "en", t.REPORT_LIMIT, site=desk.settings.site)
        assert len(desk.conversations) == 0
        other = Person(api, 6660005, "en")
        other.say("/start")  # another chat is not limited
        assert "Telegram's servers can see" in other.last_text()


def test_hourly_limits_forget_after_an_hour() -> None:
    now = [1000.0]
    limit = HourlyLimit(3, clock=lambda: now[0])
    limit.spend(b"a", 2)
    assert limit.allows(b"a", 1)
    assert not limit.allows(b"a", 2)
    assert limit.allows(b"b", 3)
    now[0] += 3601
    assert limit.allows(b"a", 3)
    limit.forget_old()
    assert len(limit) == 0
