"""A WSGI app that fails in every way a request can make a worker fail.

Served by the real ``gunicorn.conf.py`` in tests/serving/test_quiet_logs.py,
so the serving layer's logging is tested with crashes the registry itself
is built never to have.  The request's path is in every failure's message.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from typing import Any

StartResponse = Callable[..., Any]


def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """Fail as the path asks; the path and query are in every message."""
    where = f"{environ.get('PATH_INFO')}?{environ.get('QUERY_STRING')}"
    if environ["PATH_INFO"].startswith("/raise/"):
        raise RuntimeError(f"failed while serving {where}")
    if environ["PATH_INFO"].startswith("/late/"):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return _fail_after_headers(where)
    if environ["PATH_INFO"].startswith("/logged/"):
        try:
            raise ValueError(f"bad value in {where}")
        except ValueError:
            logging.getLogger("some.library").exception("could not handle %s", where)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"logged"]
    if environ["PATH_INFO"].startswith("/hang/"):
        # Holds the interpreter lock without a pause (a regex backtracking
        # for ever), so the worker stops reporting to the arbiter and is
        # killed on its timeout, in the middle of this request.
        re.match(r"(a+)+$", "a" * 40 + "b")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def _fail_after_headers(where: str) -> Iterable[bytes]:
    yield b"partial"
    raise RuntimeError(f"failed half way through {where}")
