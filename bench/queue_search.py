"""Part c, in process: what the queue's counts, its orders and the search cost.

- The facet index: building a snapshot of every report (what a worker pays
  on its first queue page, and in the background every
  ``queue_counts_seconds``), its size, and all nine facet counts from it
  for several filter combinations (what every queue page pays).
- One page of ids in each sort order.
- Search: ms per 1,000 cases opened (unwrap the data key with HPKE, open the
  sealed texts, fold and match), for a word that occurs in no case, so
  every scanned case is opened; and the unwrapping alone, for comparison.

Runs against the database part c filled, with the key of one enrolled
reviewer (unlocked once with the bench password, at the real Argon2 cost).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from functools import partial

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from bench import narratives
from bench.staff import PASSWORD
from bench.stats import Samples
from registry.crypto import DataKeyUnwrapper, unlock_private_key
from registry.db import make_engine
from registry.models import Account, KeyWrap, Report
from registry.review.facets import FacetCounts, Snapshot, build
from registry.review.queue import QueueFilters, Sort, page_query
from registry.review.search import SCAN_LIMIT, search

COMBINATIONS = {
    "no filter": QueueFilters(),
    "status=new": QueueFilters(status="new"),
    "status=new, region=minsk-city": QueueFilters(status="new", region="minsk-city"),
    "region=gomel": QueueFilters(region="gomel"),
    "violation=torture": QueueFilters(violation="torture"),
    "violation=life (rare)": QueueFilters(violation="life"),
    "place=street, unit=omon": QueueFilters(place="street", unit="omon"),
    "unassigned, status=new": QueueFilters(unassigned=True, status="new"),
    "received 2025-01-01..2025-06-30": QueueFilters(
        received_from=date(2025, 1, 1), received_to=date(2025, 6, 30)
    ),
}


@dataclass
class QueueCosts:
    """Snapshot builds, samples per filter combination (counts) and per sort order."""

    builds: Samples = field(default_factory=Samples)
    snapshot_bytes: int = 0
    reports: int = 0
    counts: dict[str, Samples] = field(default_factory=dict)
    sorts: dict[str, Samples] = field(default_factory=dict)
    # Search: whole search() of SCAN_LIMIT cases; unwrapping the same keys only.
    search: Samples = field(default_factory=Samples)
    unwrap: Samples = field(default_factory=Samples)
    scanned: int = 0


def run(database_url: str, repeats: int, searches: int) -> QueueCosts:
    """Measure on the database of part c (reports seeded, reviewers enrolled)."""
    costs = QueueCosts()
    engine = make_engine(database_url)
    try:
        snapshot: Snapshot = costs.builds.run(repeats, partial(build, engine, 0.0))[-1]
        costs.snapshot_bytes, costs.reports = snapshot.memory_bytes(), snapshot.size
        for label, filters in COMBINATIONS.items():
            costs.counts[label] = samples = Samples()
            samples.run(repeats * 10, partial(_counted_afresh, snapshot, filters))
        with Session(engine) as session:
            for sort in Sort:
                query = page_query(QueueFilters(), sort, 100)
                costs.sorts[sort.value] = samples = Samples()
                samples.run(repeats, partial(_ids, session, query))
            _search(session, costs, searches)
    finally:
        engine.dispose()
    return costs


def _counted_afresh(snapshot: Snapshot, filters: QueueFilters) -> FacetCounts:
    """The counts from a copy of ``snapshot``: none it made before are reused."""
    return replace(snapshot).counts(filters)


def _ids(session: Session, query: Select[int]) -> list[int]:
    return list(session.scalars(query))


def _search(session: Session, costs: QueueCosts, count: int) -> None:
    account = session.scalars(
        select(Account).where(Account.locked_private_key.is_not(None)).order_by(Account.id)
    ).first()
    if account is None or account.locked_private_key is None:
        raise RuntimeError("no enrolled reviewer to search with")
    key = unlock_private_key(account.locked_private_key, PASSWORD)
    words = (narratives.ABSENT,)

    def one() -> int:
        found = search(session, QueueFilters(), words, account_id=account.id, private_key=key)
        session.commit()  # its audit event
        return found.opened

    costs.scanned = costs.search.run(count, one)[0]
    wraps = session.execute(
        select(Report.public_id, KeyWrap.wrapped)
        .join(KeyWrap, KeyWrap.report_id == Report.id)
        .where(KeyWrap.account_id == account.id)
        .order_by(Report.received_on.desc(), Report.id.desc())
        .limit(SCAN_LIMIT)
    ).all()

    def unwrap_all() -> None:
        unwrapper = DataKeyUnwrapper(key)
        for public_id, wrapped in wraps:
            unwrapper.unwrap(wrapped, report_id=public_id)

    costs.unwrap.run(count, unwrap_all)


def rows(costs: QueueCosts) -> list[tuple[str, str]]:
    """Table rows: cold counts and sorts (ms p50 / p95), search per 1,000 cases."""
    per_thousand = 1000 / costs.scanned if costs.scanned else 0.0
    return [
        ("**c. queue in process** (ms mean / p95, CPU mean)", ""),
        (
            f"facet index: build a snapshot of {costs.reports:,} reports "
            f"(n={len(costs.builds.wall)})",
            costs.builds.summary(),
        ),
        ("facet index: snapshot size, MiB", f"{costs.snapshot_bytes / 2**20:.2f}"),
        *(
            (f"· all 9 facet counts from the snapshot, {label}", samples.summary())
            for label, samples in costs.counts.items()
        ),
        *(
            (f"· one page of ids (page 3), sort={sort}", samples.summary())
            for sort, samples in costs.sorts.items()
        ),
        (
            f"search, ms per 1,000 cases opened (n={len(costs.search.wall)}, "
            f"{costs.scanned} cases each)",
            f"{costs.search.mean_ms * per_thousand:.0f} "
            f"(p95 {costs.search.p_ms(0.95) * per_thousand:.0f}, "
            f"CPU {costs.search.cpu_ms * per_thousand:.0f})",
        ),
        (
            "· of which unwrapping 1,000 data keys (HPKE, private key built once)",
            f"{costs.unwrap.mean_ms:.0f} (CPU {costs.unwrap.cpu_ms:.0f})",
        ),
    ]
