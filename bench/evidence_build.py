"""Evidence snapshots, in process: building and publishing one with 100,000 reports stored.

Budget (issue 11): a snapshot build ≤ 5 s with 100,000 reports.  Measured
on a database of its own, filled by :func:`bench.seed.bulk_reports` (plain
rows with skewed distributions, some cases mapped to proposals); half of
its closed cases are then closed as substantiated, so both ways a case
counts as verified are read.

- the raw figures alone (:func:`registry.evidence.figures.build`: the
  grouped queries);
- a whole publication (:func:`registry.evidence.snapshots.publish`: figures,
  the suppression engine against the previous snapshot, storing, the audit
  event), committed; the first has no previous snapshot, the later ones do.

``python -m bench.evidence_build`` runs it alone on both backends;
``python -m bench --evidence-only`` runs it, then ``bench.evidence_pages``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bench.backends import POSTGRESQL, SQLITE, database, pg_problem
from bench.report import Rows, render
from bench.seed import bulk_reports
from bench.stats import Samples
from registry.db import make_engine
from registry.evidence import figures, snapshots
from registry.models import Report, Status

# The day the seed's reports lead up to (bench.seed uses 2026-01-15).
TODAY = date(2026, 1, 20)
K = 5
BUDGET_S = 5.0


@dataclass
class EvidenceCosts:
    """Timings of figure builds and publications, and what they produced."""

    reports: int = 0
    verified: int = 0
    figures: Samples = field(default_factory=Samples)
    first: Samples = field(default_factory=Samples)
    publish: Samples = field(default_factory=Samples)
    payload_bytes: int = 0


def substantiate_half_of_closed(database_url: str) -> None:
    """Close half of the closed cases as substantiated (the seed gives them no disposition)."""
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            is_closed = Report.status == Status.CLOSED.value
            closed = list(session.scalars(select(Report.id).where(is_closed).order_by(Report.id)))
            for start in range(0, len(closed), 2 * 5_000):
                session.execute(
                    update(Report)
                    .where(Report.id.in_(closed[start : start + 2 * 5_000 : 2]))
                    .values(disposition=figures.SUBSTANTIATED)
                )
            session.commit()
    finally:
        engine.dispose()


def run(database_url: str, repeats: int) -> EvidenceCosts:
    """Time ``repeats`` figure builds, then ``repeats`` publications (each committed)."""
    costs = EvidenceCosts()
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            costs.reports = session.scalar(select(func.count()).select_from(Report)) or 0
            costs.verified = (
                session.scalar(select(func.count()).select_from(Report).where(figures.verified()))
                or 0
            )
            # The vocabularies are cached per worker: warm, as in a running app.
            figures.build(session, today=TODAY)
            session.rollback()
            for _ in range(repeats):
                with costs.figures.timing():
                    figures.build(session, today=TODAY)
                session.rollback()
            for n in range(repeats):
                with (costs.first if n == 0 else costs.publish).timing():
                    snapshot = snapshots.publish(session, account_id=None, k=K, today=TODAY)
                    session.commit()
                costs.payload_bytes = len(snapshot.payload.encode())
    finally:
        engine.dispose()
    return costs


def rows(costs: EvidenceCosts) -> Rows:
    """The evidence part of the table (seconds: mean / max, CPU mean)."""

    def cell(samples: Samples) -> str:
        if not samples.wall:
            return "—"
        return (
            f"{sum(samples.wall) / len(samples.wall):.2f} / {max(samples.wall):.2f} "
            f"(CPU {sum(samples.cpu) / len(samples.cpu):.2f})"
        )

    return [
        (f"**evidence snapshot with {costs.reports:,} reports stored** (s: mean / max)", ""),
        ("verified cases counted", f"{costs.verified:,}"),
        (f"raw figures, grouped queries (n={len(costs.figures.wall)})", cell(costs.figures)),
        (f"first publication, no previous snapshot (budget ≤ {BUDGET_S:g} s)", cell(costs.first)),
        (
            f"publication after a previous one (n={len(costs.publish.wall)}; "
            f"budget ≤ {BUDGET_S:g} s)",
            cell(costs.publish),
        ),
        ("stored payload (KB)", f"{costs.payload_bytes / 1024:.0f}"),
    ]


def measure(backend: str, folder: Path, count: int, repeats: int) -> Rows:
    """A database of its own with ``count`` reports, then the timings."""
    with database(backend, folder / "evidence") as url:
        _log(f"{backend}: evidence: inserting {count:,} reports")
        bulk_reports(url, count)
        substantiate_half_of_closed(url)
        _log(f"{backend}: evidence: {repeats} figure builds and publications")
        return rows(run(url, repeats))


def _log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def parser() -> argparse.ArgumentParser:
    """The command line of ``python -m bench.evidence_build``."""
    found = argparse.ArgumentParser(prog="python -m bench.evidence_build", description=__doc__)
    found.add_argument("--rows", type=int, default=100_000, help="reports stored")
    found.add_argument("--repeats", type=int, default=3, help="builds and publications timed")
    found.add_argument("--out", type=Path, help="also write the table to this file")
    return found


def table(args: argparse.Namespace) -> str:
    """Run on both backends; return the table (one-minute load average before each)."""
    results: dict[str, Rows | str] = {}
    loads: list[str] = []
    with tempfile.TemporaryDirectory(prefix="sviedka-bench-") as tmp:
        loads.append(f"{SQLITE} {os.getloadavg()[0]:.2f}")
        results[SQLITE] = measure(SQLITE, Path(tmp) / "sqlite", args.rows, args.repeats)
        problem = pg_problem()
        if problem:
            results[POSTGRESQL] = problem
        else:
            loads.append(f"{POSTGRESQL} {os.getloadavg()[0]:.2f}")
            results[POSTGRESQL] = measure(
                POSTGRESQL, Path(tmp) / "postgresql", args.rows, args.repeats
            )
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return render(
        f"Measured {when} (evidence snapshots, in process; load average at the start: "
        f"{', '.join(loads)})",
        results,
    )


def main(argv: list[str] | None = None) -> str:
    """Run on both backends; print (and return) the table."""
    args = parser().parse_args(argv)
    found = table(args)
    print(found)
    if args.out:
        args.out.write_text(found + "\n", encoding="utf-8")
    return found


if __name__ == "__main__":
    main()
