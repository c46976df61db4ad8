"""Timing samples and their summaries (mean, p50, p95)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` quantile of ``values`` (nearest rank; 0 when empty)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(math.ceil(fraction * len(ordered)), 1)
    return ordered[rank - 1]


@dataclass
class Samples:
    """Wall-clock and CPU durations of repeated runs of one operation, in seconds."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    @contextmanager
    def timing(self) -> Iterator[None]:
        """Record the wall and CPU (this process) time of the body."""
        wall, cpu = time.perf_counter(), time.process_time()
        yield
        self.cpu.append(time.process_time() - cpu)
        self.wall.append(time.perf_counter() - wall)

    def run(self, count: int, func: Callable[[], T]) -> list[T]:
        """Time ``func`` ``count`` times; return its results."""
        results = []
        for _ in range(count):
            with self.timing():
                results.append(func())
        return results

    @property
    def mean_ms(self) -> float:
        """Mean wall time in milliseconds."""
        return 1000 * sum(self.wall) / len(self.wall) if self.wall else 0.0

    @property
    def cpu_ms(self) -> float:
        """Mean CPU time in milliseconds."""
        return 1000 * sum(self.cpu) / len(self.cpu) if self.cpu else 0.0

    def p_ms(self, fraction: float) -> float:
        """A wall-time quantile in milliseconds."""
        return 1000 * percentile(self.wall, fraction)

    def summary(self) -> str:
        """``mean / p95 ms (CPU c ms)`` for a table cell."""
        return f"{self.mean_ms:.2f} / {self.p_ms(0.95):.2f} (CPU {self.cpu_ms:.2f})"


def latency_cell(latencies: list[float]) -> str:
    """``p50 / p95 ms`` of a list of seconds, for a table cell."""
    return f"{1000 * percentile(latencies, 0.5):.1f} / {1000 * percentile(latencies, 0.95):.1f}"
