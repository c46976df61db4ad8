"""The real bot against the fake Bot API, on its own event loop in a thread."""

from __future__ import annotations

import asyncio
import io
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

from flask import Flask
from sqlalchemy import select

from registry import db
from registry.models import Report
from registry.telegram.bot import Desk, Settings, build
from tests.telegram.fakeapi import FakeTelegram, Person

RECEIPT = re.compile(r"\b[A-Z0-9]{4}(?:-[A-Z0-9]{4}){3,}\b")


def settings_for(app: Flask, **changes: object) -> Settings:
    """The bot's settings from the app's configuration, with ``changes``."""
    return replace(Settings.from_config(app.extensions["registry.config"]), **changes)


@contextmanager
def running_bot(app: Flask, api: FakeTelegram, settings: Settings) -> Iterator[Desk]:
    """Run the bot (long polling the fake API) until the block ends; yield its desk."""
    application, desk = build(app, settings, token=api.token, api_url=api.url)
    loop = asyncio.new_event_loop()
    started = threading.Event()
    stop = asyncio.Event()

    async def main() -> None:
        await application.initialize()
        assert application.post_init is not None
        await application.post_init(application)
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0, timeout=1)
        await application.start()
        started.set()
        await stop.wait()
        await application.updater.stop()
        await application.stop()
        assert application.post_stop is not None
        await application.post_stop(application)
        await application.shutdown()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert started.wait(15), "the bot did not start"
    try:
        yield desk
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(15)
        loop.close()


def photo_with_gps() -> bytes:
    """A JPEG whose EXIF holds a camera maker and a GPS position."""
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F] = "CanaryCamMaker"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (53.0, 54.0, 0.0)
    gps[3], gps[4] = "E", (27.0, 33.0, 0.0)
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def choose(person: Person, data: str) -> None:
    """Press the latest question's button that carries ``data``."""
    question = person.last_question()
    offered = [button["callback_data"] for row in question.buttons for button in row]
    assert data in offered, (data, offered)
    person.press_data(question, data)


def finish(person: Person) -> str:
    """Send the report from its summary, save the receipt; return the receipt."""
    choose(person, "summary|send")
    found = RECEIPT.search(person.last_text())
    assert found, person.last_text()
    choose(person, "receipt|")
    return found.group(0)


def stored_reports(app: Flask) -> list[Report]:
    with app.app_context():
        return list(db.session().scalars(select(Report)))


def everything_deleted_but_farewell(api: FakeTelegram, chat_id: int) -> None:
    """Every message of the chat, the person's and the bot's, is deleted, but the last."""
    farewell = api.bot_messages(chat_id)[-1]
    left = api.chat_ids(chat_id) - {mid for cid, mid in api.deleted if cid == chat_id}
    assert left == {farewell.message_id}
    assert not RECEIPT.search(farewell.text)


def minimal_report_after_role(person: Person) -> str:
    """The shortest way on from the first question: every optional one skipped."""
    choose(person, "role|witness")
    person.say("Canary text of a short report.")
    choose(person, "narrative|next")
    choose(person, "year|")
    choose(person, "region|brest")
    choose(person, "place|")
    choose(person, "unit|")
    choose(person, "violations|next")
    choose(person, "injuries|skip")
    choose(person, "flags|next")
    choose(person, "contact|none")
    choose(person, "consents|next")
    choose(person, "cleaning|no")
    choose(person, "files|next")
    return finish(person)
