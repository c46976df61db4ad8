"""Which pages the reviewer clients fetch (seeded, so runs are comparable)."""

from __future__ import annotations

import random
from urllib.parse import quote

from sqlalchemy import select

from bench import narratives
from registry.db import make_engine
from registry.models import Report, SealedField
from registry.records.vocabulary import INBOX_KEY

REGIONS = ("minsk-city", "minsk-region", "brest", "gomel", "vitebsk")
VIOLATIONS = ("torture", "detention-conditions", "threats", "life")
PLACES = ("street", "temporary-detention", "vehicle")
UNITS = ("omon", "gubopik", "unknown")
PROPOSALS = ("torture-investigation", "custody-safeguards", "visible-identification")


def queue_paths(clients: int, per_client: int, seed: int = 11) -> list[list[str]]:
    """Filtered queue pages, as reviewers triage: mostly new cases by region and their
    own cases; now and then a code, a date range, another order."""
    rng = random.Random(seed)

    def one() -> str:
        region, page = rng.choice(REGIONS), rng.randint(1, 5)
        violation = rng.choice(VIOLATIONS)
        return rng.choice(
            (
                f"/review/?status=new&region={region}&page={page}",
                f"/review/?status=new&region=minsk-city&page={page}",
                f"/review/?status=in-review&region={region}&page={page}",
                f"/review/?status=new&page={rng.randint(1, 20)}",
                f"/review/?region={region}&page={page}",
                "/review/",
                "/review/?assignee=me",
                "/review/?assignee=none&status=new",
                "/review/?urgent=1",
                f"/review/?violation={violation}&page={page}",
                f"/review/?status=new&region={region}&violation={violation}",
                f"/review/?place={rng.choice(PLACES)}&unit={rng.choice(UNITS)}",
                "/review/?language=be&status=in-review",
                f"/review/?proposal={rng.choice(PROPOSALS)}",
                f"/review/?from=2025-01-01&to=2025-06-30&page={page}",
                f"/review/?status=new&sort=urgent&page={page}",
                f"/review/?sort=status&page={page}",
                f"/review/?region={region}&sort=month",
            )
        )

    return [[one() for _ in range(per_client)] for _ in range(clients)]


def search_paths(clients: int, per_client: int) -> list[list[str]]:
    """Searches: a word in no case (opens the full 1,000), and a common one (stops at 50 hits)."""
    absent, common = quote(narratives.ABSENT), quote(narratives.COMMON)
    kinds = (
        f"/review/?q={absent}",
        f"/review/?q={common}&status=new",
        f"/review/?q={absent}&region=minsk-city",
    )
    return [[kinds[(c + i) % len(kinds)] for i in range(per_client)] for c in range(clients)]


def case_paths(database_url: str, clients: int, per_client: int, seed: int = 13) -> list[list[str]]:
    """Case pages of the really sealed reports (those submitted over HTTP)."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            ids = list(
                conn.scalars(
                    select(Report.public_id)
                    .join(SealedField, SealedField.report_id == Report.id)
                    .where(SealedField.name == INBOX_KEY)
                    .order_by(Report.public_id)
                )
            )
    finally:
        engine.dispose()
    if not ids:
        raise RuntimeError("no sealed report to open")
    rng = random.Random(seed)
    return [[f"/review/case/{rng.choice(ids)}" for _ in range(per_client)] for _ in range(clients)]
