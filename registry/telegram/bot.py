"""The Telegram bot: python-telegram-bot's long polling, the conversation, the clean-up.

One handler receives every update of a private chat and drives the
conversation of :mod:`registry.telegram.flow`.  The bot keeps, in memory
only, the chat id (to answer and to delete), the ids of every message of
the conversation, and the answers; it writes none of them anywhere.  When a
report is stored, cancelled or left silent for the idle time, every
message of the conversation (the person's and the bot's) is deleted from
the chat, which the Bot API allows in private chats for 48 hours.

Long polling: the bot calls out to the Bot API; no inbound port or public
webhook is needed, and the bot runs wherever the registry runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from telegram import (
    Bot,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler

from config import Config
from registry import db
from registry.attachments.service import AttachmentRejected
from registry.intake.forms import NARRATIVE_MAX
from registry.intake.service import InvalidReport, NoKeyHolder
from registry.records.vocabulary import ANSWER_MAX
from registry.serving.slots import Busy
from registry.telegram import flow
from registry.telegram import state as s
from registry.telegram import texts as t
from registry.telegram.files import (
    TELEGRAM_DOWNLOAD_LIMIT,
    Incoming,
    discard,
    incoming_file,
    seal_file,
)
from registry.telegram.quiet import quiet_logging
from registry.telegram.state import Conversation, Conversations, HourlyLimit
from registry.telegram.submit import store_report, vocabulary

LOG = logging.getLogger(__name__)
BotApplication = Application[Any, Any, Any, Any, Any, Any]
LANGUAGES = tuple(t.LANGUAGE_NAMES)
FALLBACK = "be"
OFFICIAL_API = "https://api.telegram.org"
# Telegram's limit for deleting several messages in one call.
DELETE_BATCH = 100
# Updates handled at once: a slow download or a receipt derivation in one
# chat must not hold up the others (each conversation has its own lock).
CONCURRENT_UPDATES = 8

_REFUSALS = {
    "size": t.FILE_SIZE,
    "count": t.FILE_COUNT,
    "empty": t.FILE_EMPTY,
    "type": t.FILE_TYPE,
    "image": t.FILE_IMAGE,
    "too-large": t.FILE_CLEAN,
    "budget": t.FILE_CLEAN,
    "uncleanable": t.FILE_CLEAN,
}


@dataclass(frozen=True)
class Settings:
    """What the bot needs from the configuration."""

    site: str
    followup: str
    onion: str
    idle_seconds: float
    reports_per_hour: int
    upload_bytes_per_hour: int
    max_files: int
    max_bytes: int
    download_limit: int

    @classmethod
    def from_config(cls, cfg: Config) -> Settings:
        """Settings from the deployment's configuration."""
        # A self-hosted Bot API server has no 20 MB limit for bots.
        official = cfg.telegram_api_url == OFFICIAL_API
        return cls(
            site=f"{cfg.base_url}/report",
            followup=f"{cfg.base_url}/followup",
            onion=f"http://{cfg.onion_address}/report" if cfg.onion_address else "",
            idle_seconds=cfg.telegram_idle_minutes * 60.0,
            reports_per_hour=cfg.telegram_reports_per_hour,
            upload_bytes_per_hour=cfg.telegram_upload_bytes_per_hour,
            max_files=cfg.attachment_max_files,
            max_bytes=cfg.attachment_max_bytes,
            download_limit=TELEGRAM_DOWNLOAD_LIMIT if official else cfg.attachment_max_bytes,
        )


def language_of(code: str | None) -> str:
    """The conversation's first language: the person's Telegram language if we speak it."""
    prefix = (code or "").split("-")[0].lower()
    return prefix if prefix in LANGUAGES else FALLBACK


class Desk:
    """The bot's handlers and everything it remembers (in memory only)."""

    def __init__(self, app: Flask, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.conversations = Conversations(settings.idle_seconds)
        self.reports = HourlyLimit(settings.reports_per_hour)
        self.uploads = HourlyLimit(settings.upload_bytes_per_hour)
        self.limits = flow.FileLimits(
            site=settings.site,
            onion_line=[(t.INTRO_ONION, {"onion": settings.onion})] if settings.onion else [],
            max_files=settings.max_files,
            max_bytes=min(settings.max_bytes, settings.download_limit),
        )
        self._sweeper: asyncio.Task[None] | None = None

    # -- Telegram's side -------------------------------------------------------

    async def on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Every update: a message or a button press in a private chat."""
        chat = update.effective_chat
        # WHY private chats only: in a group, other members would read the
        # report, and the bot could not delete their messages.
        if chat is None or chat.type != ChatType.PRIVATE:
            return
        tag = self.conversations.tag(chat.id)
        conv = self.conversations.get(tag)
        if conv is None:
            await self._without_conversation(tag, chat.id, update, context.bot)
            return
        async with conv.lock:
            if self.conversations.get(tag) is not conv:
                return  # ended (cancelled, expired) while this update waited
            conv.touch()
            if update.callback_query is not None:
                await self._button(tag, conv, update.callback_query, context.bot)
            elif update.message is not None:
                conv.message_ids.append(update.message.message_id)
                await self._message(tag, conv, update.message, context.bot)

    async def on_error(self, _update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log that an update failed, by exception type only (no text, no id)."""
        LOG.error("telegram: an update failed: %s", type(context.error).__name__)

    async def start_sweeping(self, application: BotApplication) -> None:
        """Start forgetting silent conversations (``post_init``)."""
        self._sweeper = asyncio.create_task(self._sweep_forever(application.bot))

    async def stop(self, application: BotApplication) -> None:
        """Stop sweeping; end every open conversation (``post_stop``).

        A stopping bot forgets unfinished conversations anyway: their files
        are deleted and their messages too, so the chat keeps no half of a
        report nobody will send.
        """
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        for conv in self.conversations.drain():
            await asyncio.to_thread(discard, self.app, conv.files)
            await self._delete(application.bot, conv.chat_id, conv.message_ids)

    # -- Conversation ------------------------------------------------------------

    async def _without_conversation(
        self, tag: bytes, chat_id: int, update: Update, bot: Bot
    ) -> None:
        user = update.effective_user
        language = language_of(user.language_code if user else None)
        if update.callback_query is not None:
            # A button of a conversation this process does not know: it
            # ended, or the bot restarted (which forgets unfinished ones).
            await self._answer(update.callback_query)
            await bot.send_message(chat_id, t.render(self.app, language, t.LOST))
            return
        if update.message is None:
            return
        if not self.reports.allows(tag):
            text = t.render(self.app, language, t.REPORT_LIMIT, site=self.settings.site)
            await bot.send_message(chat_id, text)
            return
        conv = Conversation(chat_id, language)
        conv.message_ids.append(update.message.message_id)
        self.conversations.open(tag, conv)
        async with conv.lock:
            await self._ask(conv, bot)

    async def _button(self, tag: bytes, conv: Conversation, query: CallbackQuery, bot: Bot) -> None:
        await self._answer(query)
        step, _, value = (query.data or "").partition("|")
        if step == flow.LANG:
            if value in LANGUAGES and value != conv.language:
                conv.language = value
                await self._ask(conv, bot)
            return
        today = datetime.now(UTC).date()
        result = flow.on_button(conv, step, value, today=today)
        await self._act(tag, conv, result, bot, query.message)

    async def _message(self, tag: bytes, conv: Conversation, message: Message, bot: Bot) -> None:
        text = message.text or ""
        command = text.split()[0].lower() if text.startswith("/") else ""
        if command.startswith("/cancel"):
            await self._act(tag, conv, flow.Result(flow.Outcome.CANCEL), bot)
            return
        if command.startswith("/start"):
            # One conversation at a time per chat.
            note = flow.Result(flow.Outcome.NOTE, [t.ALREADY_WRITING])
            await self._act(tag, conv, note, bot)
            return
        incoming = incoming_file(message)
        if incoming is not None:
            await self._file(tag, conv, incoming, bot)
            return
        if not text:
            await self._ask(conv, bot)
            return
        longest = NARRATIVE_MAX if conv.step == s.NARRATIVE else ANSWER_MAX
        today = datetime.now(UTC).date()
        await self._act(tag, conv, flow.on_text(conv, text, today=today, max_chars=longest), bot)

    async def _act(
        self,
        tag: bytes,
        conv: Conversation,
        result: flow.Result,
        bot: Bot,
        shown: object = None,
    ) -> None:
        outcome = result.outcome
        if outcome is flow.Outcome.ASK:
            await self._ask(conv, bot)
        elif outcome is flow.Outcome.REDRAW and isinstance(shown, Message):
            text, markup = self._draw(conv, self._question(conv))
            with contextlib.suppress(TelegramError):
                await bot.edit_message_text(
                    text, chat_id=conv.chat_id, message_id=shown.message_id, reply_markup=markup
                )
        elif outcome is flow.Outcome.NOTE:
            await self._send(conv, bot, flow.Screen(result.note))
        elif outcome is flow.Outcome.CANCEL:
            await self._end(tag, conv, bot, t.CANCELLED)
        elif outcome is flow.Outcome.SUBMIT:
            await self._submit(tag, conv, bot)
        elif outcome is flow.Outcome.SAVED:
            await self._end(tag, conv, bot, t.FAREWELL)

    async def _file(self, tag: bytes, conv: Conversation, incoming: Incoming, bot: Bot) -> None:
        refusal = self._refusal(tag, conv, incoming.name, incoming.size or 0)
        if refusal is not None:
            await self._send(conv, bot, flow.Screen([refusal]))
            return
        try:
            found = await bot.get_file(incoming.file_id)
            # Into memory only (never a file on disk); sealed at once.
            data = await found.download_as_bytearray()
        except TelegramError:
            await self._send(conv, bot, flow.Screen([t.FILE_OTHER]))
            return
        refusal = self._refusal(tag, conv, incoming.name, len(data))
        if refusal is not None:
            data[:] = bytes(len(data))
            await self._send(conv, bot, flow.Screen([refusal]))
            return
        self.uploads.spend(tag, len(data))
        try:
            prepared = await asyncio.to_thread(
                seal_file, self.app, data, incoming.name, clean_photos=conv.clean_photos
            )
        except AttachmentRejected as bad:
            reason = _REFUSALS.get(bad.reason, t.FILE_OTHER)
            params = {"name": bad.name, "num": self.limits.max_files}
            params["size"] = self.limits.max_bytes // 2**20
            await self._send(conv, bot, flow.Screen([(reason, params)]))
            return
        except Busy:
            await self._send(conv, bot, flow.Screen([t.BUSY_FILE]))
            return
        conv.files.append(prepared)
        await self._send(conv, bot, flow.Screen([(t.FILE_RECEIVED, {"name": prepared.name})]))

    def _refusal(self, tag: bytes, conv: Conversation, name: str, size: int) -> flow.Piece:
        """Why a file of ``size`` bytes cannot be taken now, or None."""
        if conv.step != s.FILES:
            return t.FILES_NOT_NOW
        if len(conv.files) >= self.limits.max_files:
            return (t.FILE_COUNT, {"num": self.limits.max_files})
        if size > self.settings.download_limit:
            return (t.TELEGRAM_LIMIT, {"name": name})
        if size > self.settings.max_bytes:
            return (t.FILE_SIZE, {"name": name, "size": self.settings.max_bytes // 2**20})
        if not self.uploads.allows(tag, max(size, 1)):
            return t.UPLOAD_LIMIT
        return None

    async def _submit(self, tag: bytes, conv: Conversation, bot: Bot) -> None:
        if not self.reports.allows(tag):
            note = (t.REPORT_LIMIT, {"site": self.settings.site})
            await self._send(conv, bot, flow.Screen([note]))
            return
        try:
            receipt = await asyncio.to_thread(
                store_report, self.app, flow.report_input(conv), conv.files
            )
        except Busy:
            await self._send(conv, bot, flow.Screen([t.BUSY]))
            return
        except NoKeyHolder:
            await self._send(conv, bot, flow.Screen([t.NOBODY_YET]))
            return
        except InvalidReport:
            await self._ask(conv, bot)
            return
        except Exception as error:
            if not db.is_outage(error):
                raise
            await self._send(conv, bot, flow.Screen([t.UNAVAILABLE]))
            return
        self.reports.spend(tag)
        await asyncio.to_thread(discard, self.app, conv.files)
        # The answers are stored (sealed): nothing of them stays in memory.
        language, chat_id, ids = conv.language, conv.chat_id, list(conv.message_ids)
        fresh = Conversation(chat_id, language, step=s.RECEIPT)
        self.conversations.open(tag, fresh)
        await self._delete(bot, chat_id, ids)
        text = t.render(
            self.app, language, t.RECEIPT, receipt=receipt, followup=self.settings.followup
        )
        markup = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        t.render(self.app, language, t.SAVED), callback_data="receipt|"
                    )
                ]
            ]
        )
        sent = await bot.send_message(chat_id, text, reply_markup=markup)
        fresh.message_ids.append(sent.message_id)

    async def _end(self, tag: bytes, conv: Conversation, bot: Bot, farewell: object) -> None:
        """Forget the conversation, delete its files and every message, say ``farewell``."""
        self.conversations.close(tag)
        await asyncio.to_thread(discard, self.app, conv.files)
        await self._delete(bot, conv.chat_id, conv.message_ids)
        conv.message_ids.clear()
        await bot.send_message(conv.chat_id, t.render(self.app, conv.language, farewell))

    # -- Drawing and sending ---------------------------------------------------

    def _question(self, conv: Conversation) -> flow.Screen:
        def vocab(kind: str) -> list[tuple[str, str]]:
            return vocabulary(self.app, kind, conv.language)

        return flow.question(conv, vocab, today=datetime.now(UTC).date(), limits=self.limits)

    def _draw(self, conv: Conversation, screen: flow.Screen) -> tuple[str, InlineKeyboardMarkup]:
        parts = []
        for piece in screen.text:
            text, params = piece if isinstance(piece, tuple) else (piece, {})
            parts.append(t.render(self.app, conv.language, text, **params))
        rows = [
            [
                InlineKeyboardButton(t.render(self.app, conv.language, label), callback_data=data)
                for label, data in row
            ]
            for row in screen.buttons
        ]
        return "\n\n".join(parts), InlineKeyboardMarkup(rows)

    async def _ask(self, conv: Conversation, bot: Bot) -> None:
        await self._send(conv, bot, self._question(conv))

    async def _send(self, conv: Conversation, bot: Bot, screen: flow.Screen) -> None:
        text, markup = self._draw(conv, screen)
        sent = await bot.send_message(
            conv.chat_id, text, reply_markup=markup if screen.buttons else None
        )
        conv.message_ids.append(sent.message_id)

    @staticmethod
    async def _answer(query: CallbackQuery) -> None:
        # Stops the button's spinner; a query too old to answer is no matter.
        with contextlib.suppress(TelegramError):
            await query.answer()

    @staticmethod
    async def _delete(bot: Bot, chat_id: int, ids: list[int]) -> None:
        for start in range(0, len(ids), DELETE_BATCH):
            # Best effort: the person may have deleted some already.
            with contextlib.suppress(TelegramError):
                await bot.delete_messages(chat_id, ids[start : start + DELETE_BATCH])

    async def _sweep_forever(self, bot: Bot) -> None:
        interval = min(60.0, max(self.settings.idle_seconds / 4, 0.05))
        while True:
            await asyncio.sleep(interval)
            try:
                await self.sweep(bot)
            except Exception as error:  # noqa: BLE001  (the sweep must go on)
                LOG.error("telegram: a sweep failed: %s", type(error).__name__)

    async def sweep(self, bot: Bot) -> None:
        """Forget silent conversations: delete their files and messages, say so."""
        self.reports.forget_old()
        self.uploads.forget_old()
        minutes = round(self.settings.idle_seconds / 60)
        for _tag, conv in self.conversations.idle():
            await asyncio.to_thread(discard, self.app, conv.files)
            await self._delete(bot, conv.chat_id, conv.message_ids)
            with contextlib.suppress(TelegramError):
                text = t.render(self.app, conv.language, t.EXPIRED, minutes=minutes)
                await bot.send_message(conv.chat_id, text)


def build(
    app: Flask, settings: Settings, *, token: str, api_url: str
) -> tuple[BotApplication, Desk]:
    """The bot, ready for ``run_polling``, and its desk (what it remembers)."""
    quiet_logging()
    desk = Desk(app, settings)
    application = (
        ApplicationBuilder()
        .token(token)
        .base_url(f"{api_url}/bot")
        .base_file_url(f"{api_url}/file/bot")
        .concurrent_updates(CONCURRENT_UPDATES)
        .post_init(desk.start_sweeping)
        .post_stop(desk.stop)
        .build()
    )
    application.add_handler(TypeHandler(Update, desk.on_update))
    application.add_error_handler(desk.on_error)
    return application, desk
