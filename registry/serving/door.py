"""When a worker takes new connections: not while it is busy, unless it stays busy.

WHY: the workers of one server all listen on the same socket, and the
kernel wakes every one of them for each new connection; whichever calls
``accept`` first takes it, busy or not.  A worker that is already running a
request is often the first (it is awake), so with two workers on two cores
three or four requests could run in one process, sharing its interpreter
lock, while the other process stood idle.  Requests sharing the lock each
wait for the other at every database call (the lock is handed over only
every few milliseconds), so they also cost more CPU.  Measured with four
reviewers (part c's pages, 100,000 reports) by ``python -m bench.door``,
with and without the door in turns on one database so that the machine's
drift falls on both alike (six rounds): case page p95 from 57 to 40 ms on
SQLite and from 58 to 42 ms on PostgreSQL (lower in every round), queue
page p95 from 79 to 69 ms and from 82 to 44 ms.  In a test, the share of
requests that began beside another in the same worker went from about
half to 0-1 % (bench/README.md, issue 10).

So a worker closes its door (stops listening for new connections) while it
runs a request, and the connection goes to a worker that is free, or waits
in the kernel's queue for the first one to finish.  One queue for all
workers instead of a queue per worker, as with gunicorn's ``sync`` workers.
The worker reads a new connection's head at once (it usually follows the
connection within the same moment), so the door shuts before the worker
could accept a second one.

But a worker whose request runs longer than the grace (a search, a slow
database, a request waiting for a lock) opens its door again: new
connections are then served beside it, sharing the lock, as before.  A
long or stuck request therefore shuts its worker's door for no more than
the grace, and the site answers even when every worker is stuck in one.

The trade-off: while requests take less than the grace, a worker runs one
at a time, as a ``sync`` worker does, so a request that waits (on
PostgreSQL, say) leaves its core to the other workers rather than to a
second request of its own.  Measured in the same turns, this cost
nothing: submissions' p50 went from 130 to 109 ms on SQLite and from 131 to
106 ms on PostgreSQL, with the same CPU per submission.
"""

from __future__ import annotations

from collections.abc import Hashable

# How long a running request keeps its worker's door shut is the setting
# ``serve_accept_grace_seconds`` (config.py), 0.1 s by default.  A staff page
# takes 5–15 ms of CPU; a request still running after 100 ms is a heavy one
# (a search, a submission's key derivation) or is waiting.  In turns on one
# server (bench/README.md), 100 and 250 ms measured the same and 50 ms worse (a page the
# machine stalled let waiting connections in, which slowed the pages already
# running); the shorter of the two bounds the wait better when every worker
# is held by a long request.


class AcceptDoor:
    """Which requests a worker runs now, and whether it should take new connections.

    Used from the worker's event loop only (one thread), so it has no lock.
    Times are the caller's monotonic clock readings.
    """

    def __init__(self, grace: float) -> None:
        """``grace`` in seconds; 0 keeps the door open (every connection is taken)."""
        self.grace = grace
        self._started: dict[Hashable, float] = {}

    def started(self, request: Hashable, now: float) -> None:
        """``request`` was submitted to the serving pool at ``now``."""
        self._started[request] = now

    def finished(self, request: Hashable) -> None:
        """``request``'s thread is done with it (unknown requests are ignored)."""
        self._started.pop(request, None)

    @property
    def running(self) -> int:
        """How many requests are running."""
        return len(self._started)

    def is_open(self, now: float) -> bool:
        """Whether to take new connections: nothing runs, or the oldest ran past the grace."""
        opens = self.opens_at()
        return opens is None or now >= opens

    def opens_at(self) -> float | None:
        """When the door opens again while requests run; ``None`` when nothing runs."""
        if not self._started:
            return None
        return min(self._started.values()) + self.grace
