"""The fake Bot API server each Telegram test talks to."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from registry.telegram.quiet import LIBRARIES
from tests.telegram.fakeapi import FakeTelegram


@pytest.fixture
def api() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture(autouse=True)
def logging_as_it_was() -> Iterator[None]:
    """The bot quiets logging for its whole process; give other tests theirs back.

    ``quiet_logging`` (registry.telegram.quiet) adds a root handler that
    rewrites records in place and raises library loggers to WARNING: right
    for the bot's process, but in the test process it would reword what
    later tests capture with caplog.
    """
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    libraries = {name: logging.getLogger(name).level for name in LIBRARIES}
    yield
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    for name, old in libraries.items():
        logging.getLogger(name).setLevel(old)
