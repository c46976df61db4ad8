"""The bot's logs hold no message text, no chat or user id, and no token.

python-telegram-bot and httpx log at INFO and DEBUG what a bot must never
keep: httpx every request's URL (which carries the bot token: whoever holds
it reads the bot's chats), python-telegram-bot the updates it receives
(text, chat and user ids, names), and Pillow the EXIF tags of every
photo it reads (camera, GPS position) while cleaning it.  Their loggers are held at WARNING, and
every record they still emit is reduced to where it came from and its
exception's shape (type names and frames, never a message).  Everything
else goes through the server's own filter (registry.serving.logs).
"""

from __future__ import annotations

import logging

from registry.serving.logs import WithholdRequestData, install_root_handler, traceback_shape

LIBRARIES = ("telegram", "httpx", "httpcore", "hpack", "h2", "PIL")


class WithholdChatData(WithholdRequestData):
    """Library records become a fixed line; the bot's own lines are filtered as the server's."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite ``record`` in place; never drop it."""
        if record.name.split(".")[0] not in LIBRARIES:
            return super().filter(record)
        # WHY not even the template: libraries build some messages with
        # f-strings (the update or the URL already inside ``msg``).
        line = f"{record.name}: {record.levelname.lower()} at {record.module}:{record.lineno}"
        if record.exc_info and record.exc_info[1] is not None:
            line = f"{line}\n{traceback_shape(record.exc_info)}"
        record.msg, record.args = line, ()
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


def quiet_logging() -> None:
    """Hold the libraries at WARNING and send every record through :class:`WithholdChatData`."""
    for name in LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)
    install_root_handler(WithholdChatData())
