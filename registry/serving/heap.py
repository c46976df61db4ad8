"""Keep the cycle collector's full passes short in a long-lived worker.

WHY: a worker holds ~150,000 long-lived objects (modules, SQLAlchemy's
compiled statements, Jinja's templates, the facet index) that the cycle
collector's oldest generation walks in full every so often.  Measured in
process with 100,000 reports (``bench.page_profile``, SQLite): such a pass
took about 88 ms, on whichever page it fell, and stalled every other
thread of the worker meanwhile; once those objects were frozen
(``gc.freeze``, Python 3.7+) it took about 7 ms.

The objects worth freezing exist only once the worker has served a few
pages (templates compile and statements are cached on first use), so the
worker freezes its heap after its first :data:`SETTLE_AFTER` requests, once,
after the response has gone out (a request teardown).  Frozen objects are
still freed by reference counting; only a cycle among them would outlive
its use, so the collector runs once just before freezing.
"""

from __future__ import annotations

import gc
import threading

SETTLE_AFTER = 50


class HeapSettler:
    """Counts finished requests and freezes the heap once, after the ``after``-th."""

    def __init__(self, after: int = SETTLE_AFTER) -> None:
        self.after = after
        self.settled = False
        self._seen = 0
        self._lock = threading.Lock()

    def request_done(self, _error: BaseException | None = None) -> None:
        """Call at the end of each request (a Flask teardown)."""
        if self.settled:
            return
        with self._lock:
            self._seen += 1
            if self.settled or self._seen < self.after:
                return
            self.settled = True
        settle_heap()


def settle_heap() -> int:
    """Collect cycles, then move every object left to the permanent generation.

    Returns how many objects were frozen.
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
