"""Logs that hold nothing about any request, from every layer of the server.

Promise 3: no address, user agent, request line, URL, query string or form
value is ever written.  gunicorn's stock logger breaks it in three places:
a malformed request is logged with the client's address and the raw request
line ("Invalid request from ip=…"), a failed request with its method and
full URI (search words included), and every traceback with the exception's
message, which can quote a header, a form value or SQL parameters.

So every record that reaches a handler here is rewritten first:

- an exception becomes its traceback *shape*: the chain of exception type
  names and the ``file:line in function`` of each frame, never a message;
- an argument is kept only if it is a number, or a short word-like string
  (a pid, a type name, a version) in a message that is not about a request;
  anything else becomes ``[withheld]``;
- the access log is never written (and is off in ``gunicorn.conf.py``).

Errors while handling a request are answered by :func:`quiet_handle_error`
instead of gunicorn's own handler, which logs the address and the URI.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from types import TracebackType
from typing import Any

from gunicorn import util
from gunicorn.glogging import Logger
from gunicorn.http import errors as http_errors

WITHHELD = "[withheld]"
# A word, a dotted name or a version: type names, pids, worker class names.
_WORDLIKE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
# Messages about requests never get their string arguments, whatever they look like.
_ABOUT_REQUESTS = re.compile(r"request|uri|url|path|header|client|addr|ip=", re.IGNORECASE)
# Startup messages whose arguments are the server's own settings, not a visitor's.
_OWN_SETTINGS = frozenset({"Listening at: %s (%s)", "Listening at: %s", "Using worker: %s"})

_STATUS = (
    (http_errors.LimitRequestLine, 414, "URI Too Long"),
    (http_errors.LimitRequestHeaders, 431, "Request Header Fields Too Large"),
    (http_errors.ParseException, 400, "Bad Request"),
)


ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def traceback_shape(exc_info: ExcInfo) -> str:
    """The exception chain as type names and frame locations only, no messages."""
    lines: list[str] = []
    error: BaseException | None = exc_info[1]
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        lines.append(f"{type(error).__module__}.{type(error).__qualname__}")
        for frame in traceback.extract_tb(error.__traceback__):
            lines.append(f"  at {frame.filename}:{frame.lineno} in {frame.name}")
        error = error.__cause__ or error.__context__
    return "\n".join(lines)


def _safe_arg(value: object, template: str) -> object:
    if isinstance(value, bool | int | float):
        return value
    if template in _OWN_SETTINGS:
        return value
    wordlike = isinstance(value, str) and _WORDLIKE.fullmatch(value) is not None
    if wordlike and not _ABOUT_REQUESTS.search(template):
        return value
    return WITHHELD


class WithholdRequestData(logging.Filter):
    """Rewrites every record so that it carries no request data (see module doc)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite ``record`` in place; never drop it."""
        template = str(record.msg)
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(_safe_arg(arg, template) for arg in args)
            try:
                record.getMessage()
            except (TypeError, ValueError):
                record.msg, record.args = template, ()
        if record.exc_info and record.exc_info[1] is not None:
            shape = traceback_shape(record.exc_info)
            record.msg = f"{template}\n{shape}"
            record.exc_info = None
        record.exc_text = None
        record.stack_info = None
        return True


class QuietLogger(Logger):  # type: ignore[misc]
    """gunicorn's logger with every record rewritten by :class:`WithholdRequestData`.

    The root logger gets the same treatment, so the application's own log
    (Flask's ``app.logger`` propagates to it) and any library's are covered.
    """

    def setup(self, cfg: Any) -> None:
        """Set up gunicorn's handlers, then put the filter on every one of them."""
        super().setup(cfg)
        quiet = WithholdRequestData()
        for handler in self.error_log.handlers:
            handler.addFilter(quiet)
        install_root_handler(quiet)

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        """Never log a request: an access line is a visitor's address and path."""


def install_root_handler(quiet: logging.Filter | None = None) -> None:
    """Send the root logger (and the app's log) to stderr through the filter."""
    root = logging.getLogger()
    if any(getattr(h, "_sviedka_quiet", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(Logger.error_fmt, Logger.datefmt))
    handler.addFilter(quiet or WithholdRequestData())
    handler._sviedka_quiet = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    if root.level > logging.WARNING or root.level == logging.NOTSET:
        root.setLevel(logging.WARNING)


def quiet_handle_error(log: Any, client: Any, exc: BaseException) -> None:
    """Answer a request gunicorn could not parse or the app could not serve.

    Replaces ``Worker.handle_error``: the answer is a bare status line with
    no echo of the request, and the log gets the exception's type only (a
    malformed request at debug level: it is the client's problem).
    """
    status, reason = _client_error(exc) or (500, "Internal Server Error")
    if status == 500:
        log.error("unexpected failure while serving: %s", type(exc).__name__)
    else:
        log.debug("refused malformed input: %s", type(exc).__name__)
    try:
        util.write_error(client, status, reason, "")
    except Exception:  # noqa: BLE001  (the client may be gone; nothing to tell)
        log.debug("could not send the error status")


def _client_error(exc: BaseException) -> tuple[int, str] | None:
    for kind, status, reason in _STATUS:
        if isinstance(exc, kind):
            return status, reason
    return None
