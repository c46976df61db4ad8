"""A bound on how many heavy jobs of one kind a worker runs at once.

The serving worker answers requests from several threads, so without a
bound a rush of requests would run as many memory-hungry jobs (receipt
derivations, photo cleaning) side by side as there are threads, taking
every core and all memory and starving the reviewers' pages.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Busy(Exception):
    """Every slot stayed taken for the whole wait; try again shortly.

    Views answer it with 503 and, where a person typed something, with the
    form again, text kept (tests/intake/test_busy_keeps_text.py).
    """


class Slots:
    """``size`` slots; a caller waits at most ``wait`` seconds for one."""

    def __init__(self, size: int, wait: float) -> None:
        self._semaphore = threading.BoundedSemaphore(size) if size > 0 else None
        self._wait = wait

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Run the body in one slot, or raise :class:`Busy`."""
        # Zero slots means "never": the job is refused at once (503).
        if self._semaphore is None or not self._semaphore.acquire(timeout=self._wait):
            raise Busy()
        try:
            yield
        finally:
            self._semaphore.release()


class KdfSlots(Slots):
    """A few slots for the memory-hard receipt KDF.

    Bounding how many derivations run at once keeps a flood of submissions
    or receipt lookups from taking every core and all memory, and so from
    starving the reviewers' requests.  Past ``wait`` seconds the caller
    answers 503 in the person's language.
    """
