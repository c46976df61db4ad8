"""Bulk rows for the queue benchmark: plain report columns and violation codes only.

The queue reads plain columns, so these rows carry fake lookup ids and
public keys (of the real length) and no sealed fields or key wraps.
"""

from __future__ import annotations

import os
import random
import string
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from registry.crypto import generate_keypair
from registry.db import make_engine
from registry.models import Report, ReportViolation, Status
from registry.taxonomy.service import terms

BATCH = 5_000
ALPHABET = string.ascii_uppercase + string.digits


def _codes(session: Session, kind: str) -> list[str]:
    return [term.code for term in terms(session, kind)]


def bulk_reports(database_url: str, count: int, seed: int = 7) -> None:
    """Insert ``count`` plain report rows (+ 1–3 violations each) in large batches."""
    rng = random.Random(seed)
    fake_key = bytes(len(generate_keypair().public))
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            regions = _codes(session, "regions")
            violations = _codes(session, "violation_types")
            first = (session.scalar(select(func.max(Report.id))) or 0) + 1
        statuses = [status.value for status in Status]
        today = date(2026, 1, 15)
        with engine.begin() as conn:
            for start in range(first, first + count, BATCH):
                ids = range(start, min(start + BATCH, first + count))
                reports: list[dict[str, Any]] = []
                codes: list[dict[str, Any]] = []
                for report_id in ids:
                    reports.append(
                        {
                            "id": report_id,
                            "public_id": "".join(rng.choices(ALPHABET, k=12)),
                            "status": rng.choice(statuses),
                            "urgent": rng.random() < 0.05,
                            "region": rng.choice(regions),
                            "incident_month": f"{rng.randint(2020, 2025)}-{rng.randint(1, 12):02d}",
                            "received_on": today - timedelta(days=rng.randint(0, 1500)),
                            "language": rng.choice(("be", "ru", "en")),
                            "lookup_id": os.urandom(32),
                            "submitter_public_key": fake_key,
                            "inbox_public_key": fake_key,
                            "consent_contact": "receipt",
                            "consent_publish": False,
                            "consent_refer": False,
                        }
                    )
                    codes.extend(
                        {"report_id": report_id, "code": code}
                        for code in rng.sample(violations, rng.randint(1, 3))
                    )
                conn.execute(insert(Report), reports)
                conn.execute(insert(ReportViolation), codes)
            if engine.dialect.name == "postgresql":
                # Explicit ids leave the id sequence behind: move it past them.
                conn.execute(
                    text(
                        "SELECT setval(pg_get_serial_sequence('reports', 'id'), "
                        "(SELECT max(id) FROM reports))"
                    )
                )
        with engine.connect() as conn:
            # Fresh statistics, as autovacuum would gather them soon enough.
            conn.execute(text("ANALYZE"))
            conn.commit()
    finally:
        engine.dispose()
