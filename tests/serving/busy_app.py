"""A WSGI app that tells which worker answered and how busy that worker was.

Served by the real ``gunicorn.conf.py`` in tests/serving/test_accept_door.py.
``/spin/<ms>`` holds the interpreter for that long (a page's work),
``/sleep/<ms>`` waits that long without it (a request stuck on a lock or a
slow database); every answer is ``<pid> <requests running here when it began>``.
A ``/sleep`` request that begins leaves a file in ``$BUSY_APP_STARTED``, so a
test knows it runs before it sends the next one.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

StartResponse = Callable[..., Any]

_lock = threading.Lock()
_running = 0


def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """Spin or sleep as the path asks; answer the pid and the concurrency seen at the start."""
    global _running
    with _lock:
        _running += 1
        seen = _running
    try:
        kind, _, ms = environ["PATH_INFO"].strip("/").partition("/")
        seconds = int(ms or 0) / 1000
        if kind == "spin":
            until = time.perf_counter() + seconds
            while time.perf_counter() < until:
                pass
        elif kind == "sleep":
            if folder := os.environ.get("BUSY_APP_STARTED"):
                (Path(folder) / f"{os.getpid()}-{uuid.uuid4().hex}").touch()
            time.sleep(seconds)
    finally:
        with _lock:
            _running -= 1
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"{os.getpid()} {seen}".encode()]
