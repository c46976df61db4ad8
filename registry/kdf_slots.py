"""A bound on concurrent receipt-KDF work in one worker."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Busy(Exception):
    """Too many receipt derivations are running; try again shortly."""


class KdfSlots:
    """A few slots for the memory-hard receipt KDF.

    Bounding how many derivations run at once keeps a flood of submissions
    or receipt lookups from taking every core and all memory, and so from
    starving the reviewers' requests.  Past ``wait`` seconds the caller
    answers 503 in the person's language.
    """

    def __init__(self, size: int, wait: float) -> None:
        self._semaphore = threading.BoundedSemaphore(size)
        self._wait = wait

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Run the body in one slot, or raise :class:`Busy`."""
        if not self._semaphore.acquire(timeout=self._wait):
            raise Busy()
        try:
            yield
        finally:
            self._semaphore.release()
