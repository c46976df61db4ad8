"""Which pages the reviewer clients fetch (seeded, so runs are comparable)."""

from __future__ import annotations

import random

from sqlalchemy import select

from registry.db import make_engine
from registry.intake.service import NARRATIVE
from registry.models import Report, SealedField

REGIONS = ("minsk-city", "minsk-region", "brest", "gomel", "vitebsk")


def queue_paths(clients: int, per_client: int, seed: int = 11) -> list[list[str]]:
    """Filtered queue pages, as reviewers triage: mostly new cases by region."""
    rng = random.Random(seed)

    def one() -> str:
        region, page = rng.choice(REGIONS), rng.randint(1, 5)
        return rng.choice(
            (
                f"/review/?status=new&region={region}&page={page}",
                f"/review/?status=new&region=minsk-city&page={page}",
                f"/review/?status=in-review&region={region}&page={page}",
                f"/review/?status=new&page={rng.randint(1, 20)}",
                f"/review/?region={region}&page={page}",
                "/review/",
            )
        )

    return [[one() for _ in range(per_client)] for _ in range(clients)]


def case_paths(database_url: str, clients: int, per_client: int, seed: int = 13) -> list[list[str]]:
    """Case pages of the really sealed reports (those submitted over HTTP)."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            ids = list(
                conn.scalars(
                    select(Report.public_id)
                    .join(SealedField, SealedField.report_id == Report.id)
                    .where(SealedField.name == NARRATIVE)
                    .order_by(Report.public_id)
                )
            )
    finally:
        engine.dispose()
    if not ids:
        raise RuntimeError("no sealed report to open")
    rng = random.Random(seed)
    return [[f"/review/case/{rng.choice(ids)}" for _ in range(per_client)] for _ in range(clients)]
