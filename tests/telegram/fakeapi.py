"""A fake Telegram Bot API server, on 127.0.0.1, speaking the real JSON shapes.

It answers what the bot calls (getMe, deleteWebhook, getUpdates with
offsets and long polling, sendMessage, editMessageText, answerCallbackQuery,
getFile and the file download path, deleteMessage(s)), records every call,
and plays a person: :class:`Person` writes messages, sends files and
presses buttons as Telegram's clients would, as updates.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote

TOKEN = "123456789:AAFakeTokenForTheTestsOnly_0123456789"
BOT_USER = {"id": 5550001, "is_bot": True, "first_name": "Sviedka", "username": "sviedka_bot"}
LONG_POLL_CAP = 0.3


@dataclass
class Sent:
    """A message in the chat: the bot's or the person's."""

    chat_id: int
    message_id: int
    by_bot: bool
    text: str = ""
    buttons: list[list[dict[str, Any]]] = field(default_factory=list)


class FakeTelegram:
    """The server's state: updates, messages, files, and every call made."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.lock = threading.Condition()
        self.updates: list[dict[str, Any]] = []
        self.confirmed = 0  # every update below this id was fetched and confirmed
        self.messages: dict[tuple[int, int], Sent] = {}
        self.deleted: set[tuple[int, int]] = set()
        self.files: dict[str, bytes] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.activity = 0  # sends and edits by the bot
        self._next_message = 100
        self._next_update = 1
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The API root, as REGISTRY_TELEGRAM_API_URL takes it."""
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FakeTelegram:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- What the person does ----------------------------------------------

    def message_id(self) -> int:
        self._next_message += 1
        return self._next_message

    def push(self, update: dict[str, Any]) -> None:
        with self.lock:
            update["update_id"] = self._next_update
            self._next_update += 1
            self.updates.append(update)
            self.lock.notify_all()

    def wait(self, predicate: Callable[[], bool], timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        with self.lock:
            while not predicate():
                left = deadline - time.monotonic()
                assert left > 0, "the bot did not answer in time"
                self.lock.wait(left)

    def wait_confirmed(self) -> None:
        """Until the bot has confirmed every update (so none is delivered again)."""
        self.wait(lambda: self.confirmed >= self._next_update)

    def bot_messages(self, chat_id: int) -> list[Sent]:
        with self.lock:
            return [m for m in self.messages.values() if m.by_bot and m.chat_id == chat_id]

    def chat_ids(self, chat_id: int) -> set[int]:
        with self.lock:
            return {mid for (cid, mid) in self.messages if cid == chat_id}

    # -- The API -----------------------------------------------------------

    def call(self, method: str, params: dict[str, Any]) -> Any:
        with self.lock:
            self.calls.append((method, params))
            self.lock.notify_all()
        handler = getattr(self, f"api_{method}", None)
        if handler is None:
            raise KeyError(method)
        return handler(params)

    def api_getMe(self, _params: dict[str, Any]) -> Any:  # noqa: N802
        return BOT_USER

    def api_deleteWebhook(self, _params: dict[str, Any]) -> Any:  # noqa: N802
        return True

    def api_getUpdates(self, params: dict[str, Any]) -> Any:  # noqa: N802
        offset = int(params.get("offset") or 0)
        wait = min(float(params.get("timeout") or 0), LONG_POLL_CAP)
        deadline = time.monotonic() + wait
        with self.lock:
            # Offsets confirm: Telegram forgets every update below the offset.
            self.confirmed = max(self.confirmed, offset)
            self.lock.notify_all()
            while True:
                ready = [u for u in self.updates if u["update_id"] >= self.confirmed]
                left = deadline - time.monotonic()
                if ready or left <= 0:
                    limit = int(params.get("limit") or 100)
                    return ready[:limit]
                self.lock.wait(left)

    def _store(self, chat_id: int, text: str, markup: Any) -> dict[str, Any]:
        buttons = (markup or {}).get("inline_keyboard", []) if isinstance(markup, dict) else []
        with self.lock:
            sent = Sent(int(chat_id), self.message_id(), True, text, buttons)
            self.messages[(sent.chat_id, sent.message_id)] = sent
            self.activity += 1
            self.lock.notify_all()
        return self._message_json(sent)

    def _message_json(self, sent: Sent) -> dict[str, Any]:
        result: dict[str, Any] = {
            "message_id": sent.message_id,
            "date": int(time.time()),
            "chat": {"id": sent.chat_id, "type": "private"},
            "from": BOT_USER,
            "text": sent.text,
        }
        if sent.buttons:
            result["reply_markup"] = {"inline_keyboard": sent.buttons}
        return result

    def api_sendMessage(self, params: dict[str, Any]) -> Any:  # noqa: N802
        assert len(params["text"]) <= 4096, "Telegram refuses longer messages"
        return self._store(params["chat_id"], params["text"], params.get("reply_markup"))

    def api_editMessageText(self, params: dict[str, Any]) -> Any:  # noqa: N802
        key = (int(params["chat_id"]), int(params["message_id"]))
        with self.lock:
            sent = self.messages[key]
            sent.text = params["text"]
            markup = params.get("reply_markup") or {}
            sent.buttons = markup.get("inline_keyboard", [])
            self.activity += 1
            self.lock.notify_all()
        return self._message_json(sent)

    def api_answerCallbackQuery(self, _params: dict[str, Any]) -> Any:  # noqa: N802
        return True

    def api_deleteMessage(self, params: dict[str, Any]) -> Any:  # noqa: N802
        return self.api_deleteMessages(
            {"chat_id": params["chat_id"], "message_ids": [params["message_id"]]}
        )

    def api_deleteMessages(self, params: dict[str, Any]) -> Any:  # noqa: N802
        ids = params["message_ids"]
        assert len(ids) <= 100, "Telegram deletes at most 100 messages a call"
        with self.lock:
            for message_id in ids:
                self.deleted.add((int(params["chat_id"]), int(message_id)))
            self.lock.notify_all()
        return True

    def api_getFile(self, params: dict[str, Any]) -> Any:  # noqa: N802
        file_id = params["file_id"]
        data = self.files[file_id]
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": len(data),
            "file_path": f"documents/{file_id}.bin",
        }


def _handler(api: FakeTelegram) -> type[BaseHTTPRequestHandler]:
    method_path = re.compile(rf"^/bot{re.escape(api.token)}/(\w+)$")
    file_path = re.compile(rf"^/file/bot{re.escape(api.token)}/documents/(\w+)\.bin$")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args: object) -> None:
            """Quiet."""

        def _reply(self, status: int, body: bytes, kind: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            # The bot may stop polling while a long poll is held.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802
            # httpx quotes the ":" of the token in a path.
            found = file_path.match(unquote(self.path))
            if found is None or found.group(1) not in api.files:
                self._reply(404, b"{}")
                return
            self._reply(200, api.files[found.group(1)], "application/octet-stream")

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            found = method_path.match(self.path)
            if found is None:
                answer = {"ok": False, "error_code": 401, "description": "Unauthorized"}
                self._reply(401, json.dumps(answer).encode())
                return
            params = _params(self.headers.get("Content-Type") or "", body)
            try:
                result = api.call(found.group(1), params)
            except KeyError:
                answer = {"ok": False, "error_code": 404, "description": "Not Found"}
                self._reply(404, json.dumps(answer).encode())
                return
            self._reply(200, json.dumps({"ok": True, "result": result}).encode())

    return Handler


def _params(kind: str, body: bytes) -> dict[str, Any]:
    """Parameters as python-telegram-bot sends them: JSON, or a form of JSON values."""
    if kind.startswith("application/json"):
        loaded: dict[str, Any] = json.loads(body or b"{}")
        return loaded
    params: dict[str, Any] = {}
    for key, values in parse_qs(body.decode(), keep_blank_values=True).items():
        # A text stays text even when it would parse as JSON ("2015").
        if key == "text":
            params[key] = values[0]
            continue
        try:
            params[key] = json.loads(values[0])
        except ValueError:
            params[key] = values[0]
    return params


class Person:
    """Someone writing to the bot from their phone, in one private chat."""

    def __init__(self, api: FakeTelegram, chat_id: int, language: str) -> None:
        self.api = api
        self.chat_id = chat_id
        self.user = {
            "id": chat_id,
            "is_bot": False,
            "first_name": "Canary",
            "language_code": language,
        }
        self.sent: list[int] = []
        self._files = 0

    def _message(self, **content: Any) -> int:
        message_id = self.api.message_id()
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": self.chat_id, "type": "private", "first_name": "Canary"},
            "from": self.user,
            **content,
        }
        with self.api.lock:
            self.api.messages[(self.chat_id, message_id)] = Sent(self.chat_id, message_id, False)
        self.sent.append(message_id)
        self._act({"message": message})
        return message_id

    def _act(self, update: dict[str, Any], replies: int = 1) -> None:
        with self.api.lock:
            before = self.api.activity
        self.api.push(update)
        self.api.wait(lambda: self.api.activity >= before + replies)

    def say(self, text: str) -> None:
        """Send a text message (or a command) and wait for the bot's answer."""
        self._message(text=text)

    def send_document(self, data: bytes, name: str) -> None:
        """Send a file "as a document" (unchanged, metadata and all)."""
        file_id = self._file(data)
        document = {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": len(data)}
        self._message(document={**document, "file_name": name, "mime_type": "image/jpeg"})

    def send_photo(self, data: bytes, *, claimed_size: int | None = None) -> None:
        """Send a picture "as a photo" (Telegram's sizes, largest last)."""
        file_id = self._file(data)
        size = claimed_size if claimed_size is not None else len(data)
        photo = {"file_id": file_id, "file_unique_id": f"u{file_id}", "width": 64, "height": 48}
        self._message(photo=[{**photo, "file_size": size}])

    def _file(self, data: bytes) -> str:
        self._files += 1
        file_id = f"F{self.chat_id}x{self._files}"
        self.api.files[file_id] = data
        return file_id

    def last_question(self) -> Sent:
        """The bot's latest message that has buttons."""
        asked = [m for m in self.api.bot_messages(self.chat_id) if m.buttons]
        assert asked, "the bot asked nothing"
        return asked[-1]

    def button(self, label: str) -> tuple[Sent, str]:
        """The latest question's button whose text holds ``label``, and its data."""
        question = self.last_question()
        for row in question.buttons:
            for button in row:
                if label in button["text"]:
                    return question, button["callback_data"]
        raise AssertionError(f"no button {label!r} in {question.buttons}")

    def press(self, label: str) -> None:
        """Press a button of the latest question and wait for the bot's answer."""
        question, data = self.button(label)
        self.press_data(question, data)

    def press_data(self, question: Sent, data: str) -> None:
        """Press a button given by its data."""
        message = {
            "message_id": question.message_id,
            "date": int(time.time()),
            "chat": {"id": self.chat_id, "type": "private"},
            "from": BOT_USER,
            "text": question.text,
        }
        query = {
            "id": f"q{time.monotonic_ns()}",
            "from": self.user,
            "message": message,
            "chat_instance": "ci",
            "data": data,
        }
        self._act({"callback_query": query})

    def last_text(self) -> str:
        """The text of the bot's latest message."""
        return self.api.bot_messages(self.chat_id)[-1].text
