"""Conversations and per-chat limits, in the bot process's memory only.

Nothing here is ever written to the database, a file or a log: a
conversation lives in a dictionary until it is stored, cancelled, or
silent for the idle time (then it is forgotten, and its sealed files with
it).  A restart forgets every unfinished conversation; that is the price of
keeping no Telegram identifier anywhere that outlives the process.

WHY entries are keyed by an HMAC of the chat id under a per-process random
key, not by the chat id: the hourly limits must outlive a conversation (an
hour), so their table is the longest-lived thing the bot holds about
people.  Keyed by raw ids it would be a list of who used the bot in the
last hour, readable from a memory dump, a core file or swap.  Under a key
that never leaves this process and dies with it, an entry names nobody by
itself; someone who captures the whole memory (key included) can still
test a suspected id, so the conversation itself (which must hold the chat
id to answer and to delete messages) is forgotten as soon as possible.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from registry.attachments.service import Prepared

# The steps of a conversation, in order (registry.telegram.flow asks them).
INTRO = "intro"
ROLE = "role"
NARRATIVE = "narrative"
YEAR = "year"
MONTH = "month"
REGION = "region"
PLACE = "place"
UNIT = "unit"
VIOLATIONS = "violations"
INJURIES = "injuries"
FLAGS = "flags"
CONTACT = "contact"
CONTACT_DETAILS = "details"
CONSENTS = "consents"
CLEANING = "cleaning"
FILES = "files"
SUMMARY = "summary"
RECEIPT = "receipt"
HOUR = 3600.0


@dataclass
class Conversation:
    """One person's report while it is being written (memory only)."""

    chat_id: int
    language: str
    step: str = INTRO
    # Steps answered so far, for "Back".
    history: list[str] = field(default_factory=list)
    # Every message of this conversation, the person's and the bot's: all
    # are deleted from the chat when it ends (stored, cancelled, expired).
    message_ids: list[int] = field(default_factory=list)
    narrative: list[str] = field(default_factory=list)
    role: str | None = None
    year: str | None = None
    month: str | None = None
    region: str | None = None
    place: str | None = None
    unit: str | None = None
    violations: set[str] = field(default_factory=set)
    injuries: str = ""
    flags: set[str] = field(default_factory=set)
    contact: str = "receipt"
    contact_details: str = ""
    publish: bool = False
    refer: bool = False
    clean_photos: bool = True
    # Sealed on arrival (ciphertext in the blob store's tmp/, locked by this
    # process); discarded unless the report is stored.
    files: list[Prepared] = field(default_factory=list)
    last_seen: float = field(default_factory=time.monotonic)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def touch(self) -> None:
        """Note activity now (the idle clock starts again)."""
        self.last_seen = time.monotonic()

    def go(self, step: str) -> None:
        """Move to ``step``, remembering where we were for "Back"."""
        self.history.append(self.step)
        self.step = step

    def back(self) -> None:
        """Return to the previous step (the intro at the start)."""
        self.step = self.history.pop() if self.history else INTRO


class Conversations:
    """The open conversations, one per chat, keyed by :meth:`tag`."""

    def __init__(self, idle_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        # WHY random per process: see the module docstring.
        self._key = secrets.token_bytes(32)
        self._open: dict[bytes, Conversation] = {}
        self.idle_seconds = idle_seconds
        self._clock = clock

    def tag(self, chat_id: int) -> bytes:
        """The key of a chat in every table of this process."""
        return hmac.new(self._key, str(chat_id).encode(), hashlib.sha256).digest()

    def get(self, tag: bytes) -> Conversation | None:
        """The open conversation of a chat, if any."""
        return self._open.get(tag)

    def open(self, tag: bytes, conversation: Conversation) -> None:
        """Start ``conversation`` (one at a time per chat: the caller checked)."""
        self._open[tag] = conversation

    def close(self, tag: bytes) -> Conversation | None:
        """Forget a chat's conversation; return it (for clean-up)."""
        return self._open.pop(tag, None)

    def idle(self) -> list[tuple[bytes, Conversation]]:
        """Conversations silent for longer than the idle time, taken out of the table."""
        now = self._clock()
        silent = [
            tag
            for tag, conv in self._open.items()
            if now - conv.last_seen > self.idle_seconds and not conv.lock.locked()
        ]
        return [(tag, self._open.pop(tag)) for tag in silent]

    def drain(self) -> list[Conversation]:
        """Every open conversation, taken out of the table (at shutdown)."""
        taken = list(self._open.values())
        self._open.clear()
        return taken

    def __len__(self) -> int:
        return len(self._open)


class HourlyLimit:
    """At most ``limit`` units (reports, bytes) per chat in any hour, in memory."""

    def __init__(self, limit: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._spent: dict[bytes, list[tuple[float, int]]] = {}
        self._clock = clock

    def _recent(self, tag: bytes) -> list[tuple[float, int]]:
        since = self._clock() - HOUR
        kept = [(at, amount) for at, amount in self._spent.get(tag, ()) if at > since]
        if kept:
            self._spent[tag] = kept
        else:
            # Forgotten once nothing in the hour counts: the table never
            # keeps a chat longer than its limit needs.
            self._spent.pop(tag, None)
        return kept

    def allows(self, tag: bytes, amount: int = 1) -> bool:
        """Whether ``amount`` more fits in this chat's last hour."""
        return sum(a for _, a in self._recent(tag)) + amount <= self.limit

    def spend(self, tag: bytes, amount: int = 1) -> None:
        """Count ``amount`` for this chat now."""
        self._recent(tag)
        self._spent.setdefault(tag, []).append((self._clock(), amount))

    def forget_old(self) -> None:
        """Drop every chat with nothing in the last hour."""
        for tag in list(self._spent):
            self._recent(tag)

    def __len__(self) -> int:
        return len(self._spent)
