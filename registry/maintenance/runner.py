"""Running the jobs once, each on its own, and the one summary line."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from registry.maintenance.framework import Job, JobContext, JobOutcome


@dataclass(frozen=True)
class Failure:
    """A job that raised: the exception's type name (never its message)."""

    error: str


@dataclass
class RunReport:
    """What one run did: each job's outcome or failure, in order, and how long it took."""

    results: list[tuple[Job, JobOutcome | Failure]] = field(default_factory=list)
    seconds: float = 0.0
    stopped: bool = False

    @property
    def failures(self) -> list[tuple[str, str]]:
        """(job name, exception type) of every job that failed."""
        return [(job.name, r.error) for job, r in self.results if isinstance(r, Failure)]

    @property
    def ok(self) -> bool:
        """True when every job that ran succeeded."""
        return not self.failures

    @property
    def idle(self) -> bool:
        """True when the run succeeded and found nothing to remove."""
        return self.ok and all(isinstance(r, JobOutcome) and r.count == 0 for _, r in self.results)

    def summary(self) -> str:
        """The one line ``registry maintain`` prints: counts and notes, no content."""
        parts = [
            f"{job.name} FAILED" if isinstance(r, Failure) else r.note or f"{job.name} {r.count}"
            for job, r in self.results
        ]
        prefix = "nothing to do; " if self.idle else ""
        stopped = "; stopped early" if self.stopped else ""
        return f"maintain: {prefix}{', '.join(parts)}{stopped} ({self.seconds:.2f} s)"


def run_once(
    ctx: JobContext, jobs: Sequence[Job], should_stop: Callable[[], bool] = lambda: False
) -> RunReport:
    """Run ``jobs`` in order; a failing job is reported and the next one runs.

    ``should_stop`` is asked between jobs (a stopping loop finishes the job
    it is in, then ends the run).
    """
    started = time.monotonic()
    report = RunReport()
    for job in jobs:
        if should_stop():
            report.stopped = True
            break
        try:
            outcome = job.run(ctx)
        except Exception as error:  # every failure is reported; the next job still runs
            # The type only: a message may quote a path, a query or its values.
            report.results.append((job, Failure(type(error).__name__)))
            continue
        ctx.shrunk |= outcome.shrunk
        report.results.append((job, outcome))
    report.seconds = time.monotonic() - started
    return report
