"""Sweeping the incoming blobs of dead uploads: at start, then now and then.

A request deletes its own incoming blobs when it ends; only a process that
dies in the middle of one (killed, crashed, recycled by gunicorn) leaves
any behind.  So each process sweeps when it starts, which catches the
leftovers of the worker it replaces, and again at most every
``incoming_sweep_seconds`` on a request.  WHY on a request and not a
timer thread: nothing to start again after gunicorn forks a worker, no
thread to stop in tests, and an idle site makes no new leftovers.  A sweep
lists ``tmp/`` and tries one lock per file: microseconds.  Which blobs are
safe to delete is decided by file locks (:mod:`registry.attachments.storage`),
so any number of workers may sweep at the same time.

The same sweep deletes the blobs held for a report form that was never
sent again (``held/``, :mod:`registry.attachments.held`) once a full day
has passed.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from registry.attachments.storage import BlobStore

log = logging.getLogger(__name__)


class IncomingSweeper:
    """Sweeps ``store``'s abandoned incoming blobs at most every ``interval`` seconds."""

    def __init__(self, store: BlobStore, interval: float) -> None:
        self._store = store
        self._interval = interval
        self._guard = threading.Lock()
        self._pid = 0
        self._last = 0.0

    def sweep_if_due(self) -> None:
        """Sweep if this process has not swept for ``interval`` seconds (or ever)."""
        now = time.monotonic()
        # WHY the process id: a worker forked from a process that already
        # swept must still sweep once for itself when it starts serving.
        if self._pid == os.getpid() and now - self._last < self._interval:
            return
        # One sweep per process at a time; the other threads go on at once.
        if not self._guard.acquire(blocking=False):
            return
        try:
            self._pid, self._last = os.getpid(), now
            self._store.sweep_incoming()
            self._store.sweep_held()
        except OSError as error:
            # Never a request's problem; the type only, no path or message.
            log.warning("sweeping incoming blobs failed: %s", type(error).__name__)
        finally:
            self._guard.release()
