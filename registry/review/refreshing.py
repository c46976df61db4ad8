"""A worker's copy of something built from every report, refreshed as it ages.

The queue's facet counts (:mod:`registry.review.facets`) and the team's
statistics (:mod:`registry.review.stats`) each read every report's plain
columns, a few hundred milliseconds at 100,000 reports, so a page does not
wait for a build when it can help it:

- ``seconds`` is 0: every page builds its own, so figures are live;
- the worker's first page waits for the first build;
- one less than ``seconds`` old is used as it is;
- one less than ``STALE_FACTOR`` × ``seconds`` old is used once more while a
  new one is built in a background thread (one at a time);
- an older one (no page for a while) is replaced before the page.

gunicorn's sync workers serve one request at a time, but the background
build runs beside them, so the swap is guarded by a lock all the same.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from sqlalchemy import Engine

STALE_FACTOR = 10
_log = logging.getLogger(__name__)


class Built(Protocol):
    """What a build returns: anything that knows when it was built."""

    @property
    def built_at(self) -> float:
        """The clock's reading when the build began."""
        ...


BuiltT = TypeVar("BuiltT", bound=Built)


class RefreshingIndex(Generic[BuiltT]):
    """This worker's latest build, fresh enough to count with (see the module docstring)."""

    def __init__(
        self,
        seconds: float,
        build: Callable[[Engine, float], BuiltT],
        name: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seconds, self.clock = seconds, clock
        self._build, self._name = build, name
        self._current: BuiltT | None = None
        self._refreshing = False
        self._lock = threading.Lock()  # guards _current and _refreshing
        self._building = threading.Lock()  # one build at a time

    def snapshot(self, engine: Engine) -> BuiltT:
        """A build fresh enough to count with."""
        now = self.clock()
        with self._lock:
            current = self._current
            if current is not None:
                age = now - current.built_at
                if age < self.seconds:
                    return current
                if age < self.seconds * STALE_FACTOR:
                    if not self._refreshing:
                        self._refreshing = True
                        threading.Thread(
                            target=self._refresh, args=(engine,), name=self._name, daemon=True
                        ).start()
                    return current
        return self._rebuild(engine, now)

    def _rebuild(self, engine: Engine, wanted: float) -> BuiltT:
        """A build begun at ``wanted`` or later: the last one, or a new one."""
        with self._building:
            current = self._current
            if current is not None and current.built_at >= wanted and self.seconds > 0:
                return current  # built meanwhile by another thread
            fresh = self._build(engine, self.clock())
            with self._lock:
                self._current = fresh
            return fresh

    def _refresh(self, engine: Engine) -> None:
        try:
            self._rebuild(engine, self.clock())
        except Exception as error:  # the old build stays; the next page tries again
            # The type only: a database error's text could quote the query.
            _log.error("%s failed: %s", self._name, type(error).__name__)
        finally:
            with self._lock:
                self._refreshing = False
