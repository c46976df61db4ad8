"""Bulk rows for the queue benchmark: plain columns with realistic distributions.

:func:`bulk_reports` inserts plain report rows (fake lookup ids and public
keys of the real length, no sealed fields) with skewed distributions like a
real registry's: most reports from Minsk, mostly in Russian, torture and
detention conditions far more common than deaths, most new cases nobody's,
most verified ones assigned and some mapped to proposals.

:func:`seal_newest` then gives the newest reports a real data key, a sealed
narrative (and sometimes two sealed answers) and a key wrap for every staff
account with a public key, so that reviewers can open and search them.
"""

from __future__ import annotations

import os
import random
import string
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any, TypeVar

from sqlalchemy import exists, insert, select, text
from sqlalchemy.orm import Session

from bench import narratives
from registry.crypto import generate_keypair, new_data_key, wrap_data_key
from registry.db import make_engine
from registry.models import (
    Account,
    CaseMapping,
    KeyWrap,
    ReformProposal,
    Report,
    ReportViolation,
    SealedField,
)
from registry.records.texts import seal_answers
from registry.records.vocabulary import ANSWERS, NARRATIVE
from registry.taxonomy.service import terms

BATCH = 5_000
ALPHABET = string.ascii_uppercase + string.digits
T = TypeVar("T")

# Relative weights; codes missing from a table get weight 1.
STATUSES = {"new": 35, "in-review": 20, "needs-info": 10, "verified": 20, "closed": 15}
REGIONS = {"minsk-city": 40, "minsk-region": 10, "gomel": 9, "brest": 8, "vitebsk": 8}
VIOLATIONS = {
    "torture": 50,
    "detention-conditions": 35,
    "arbitrary-detention": 35,
    "threats": 25,
    "excessive-force": 20,
    "due-process": 15,
    "coercion": 12,
    "unlawful-search": 10,
    "medical-care-denied": 8,
    "retaliation": 5,
    "sexual-violence": 4,
    "refusal-to-investigate": 4,
    "life": 0.2,
}
PLACES = {"street": 25, "district-police": 20, "temporary-detention": 20, "vehicle": 15}
UNITS = {"omon": 30, "district-police": 20, "unknown": 15, "detention-staff": 10, "gubopik": 8}
LANGUAGES = {"ru": 60, "be": 30, "en": 10}


def _codes(session: Session, kind: str) -> list[str]:
    return [term.code for term in terms(session, kind)]


def _weighted(rng: random.Random, codes: Sequence[str], weights: Mapping[str, float]) -> str:
    return rng.choices(codes, [weights.get(code, 1) for code in codes])[0]


def _distinct(
    rng: random.Random, codes: Sequence[str], weights: Mapping[str, float], count: int
) -> list[str]:
    """``count`` different codes, drawn by weight without replacement."""
    chosen: list[str] = []
    while len(chosen) < count:
        code = _weighted(rng, codes, weights)
        if code not in chosen:
            chosen.append(code)
    return chosen


def _maybe(rng: random.Random, none_share: float, value: T) -> T | None:
    return None if rng.random() < none_share else value


def _month(rng: random.Random) -> str | None:
    if rng.random() < 0.05:
        return None  # the person did not say
    if rng.random() < 0.5:  # the 2020 protests
        return f"2020-{rng.randint(8, 12):02d}"
    return f"{rng.randint(2021, 2025)}-{rng.randint(1, 12):02d}"


def _assignee(rng: random.Random, status: str, staff: Sequence[int]) -> int | None:
    share = 0.1 if status == "new" else 0.7
    return rng.choice(staff) if staff and rng.random() < share else None


def bulk_reports(
    database_url: str, count: int, seed: int = 7, assignees: Sequence[int] = ()
) -> None:
    """Insert ``count`` plain reports, their violation codes and some proposal mappings.

    ``assignees`` are account ids that cases get assigned to (none if empty).
    """
    rng = random.Random(seed)
    fake_key = bytes(len(generate_keypair().public))
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            vocab = {
                kind: _codes(session, kind)
                for kind in ("regions", "violation_types", "places", "units")
            }
            proposals = list(session.scalars(select(ReformProposal.code)))
        today = date(2026, 1, 15)
        with engine.begin() as conn:
            for start in range(0, count, BATCH):
                reports: list[dict[str, Any]] = []
                codes: list[dict[str, Any]] = []
                mappings: list[dict[str, Any]] = []
                for _ in range(start, min(start + BATCH, count)):
                    # Random 62-bit ids, as the app gives them (random_row_id),
                    # drawn from the seeded generator so runs are alike.
                    report_id = rng.getrandbits(62) + 1
                    status = _weighted(rng, list(STATUSES), STATUSES)
                    assignee = _assignee(rng, status, assignees)
                    reports.append(
                        {
                            "id": report_id,
                            "public_id": "".join(rng.choices(ALPHABET, k=12)),
                            "status": status,
                            "urgent": rng.random() < 0.04,
                            "assignee_id": assignee,
                            "region": _weighted(rng, vocab["regions"], REGIONS),
                            "place": _maybe(rng, 0.1, _weighted(rng, vocab["places"], PLACES)),
                            "unit": _maybe(rng, 0.15, _weighted(rng, vocab["units"], UNITS)),
                            "incident_month": _month(rng),
                            "received_on": today - timedelta(days=rng.randint(0, 1500)),
                            "language": _weighted(rng, list(LANGUAGES), LANGUAGES),
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
                        for code in _distinct(
                            rng, vocab["violation_types"], VIOLATIONS, rng.randint(1, 3)
                        )
                    )
                    mapped = {"verified": 0.5, "closed": 0.5, "in-review": 0.1}.get(status, 0)
                    if proposals and rng.random() < mapped:
                        mappings.extend(
                            {
                                "report_id": report_id,
                                "proposal_code": code,
                                "strength": rng.choice(("illustrates", "strong")),
                                "sealed_rationale": os.urandom(96),
                                "created_by": assignee,
                            }
                            for code in rng.sample(proposals, rng.randint(1, 2))
                        )
                conn.execute(insert(Report), reports)
                conn.execute(insert(ReportViolation), codes)
                if mappings:
                    conn.execute(insert(CaseMapping), mappings)
        _statistics(database_url)
    finally:
        engine.dispose()


def _statistics(database_url: str) -> None:
    """Fresh planner statistics (and PostgreSQL's visibility map), as autovacuum would make."""
    engine = make_engine(database_url)
    try:
        if engine.dialect.name == "postgresql":
            # VACUUM cannot run in a transaction.  Autovacuum does this within
            # a minute of a bulk insert; without it, index-only scans still
            # visit the table.
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        else:
            with engine.connect() as conn:
                conn.execute(text("ANALYZE"))
                conn.commit()
    finally:
        engine.dispose()


def seal_newest(database_url: str, count: int, seed: int = 17) -> int:
    """Seal a narrative into the ``count`` newest reports and wrap their keys to all staff.

    Returns how many key wraps were written.  The wraps are real (HPKE to
    each account's public key), so a reviewer opens these cases exactly as
    submitted ones; the newest reports are the ones a search reaches first.
    """
    rng = random.Random(seed)
    engine = make_engine(database_url)
    written = 0
    try:
        with Session(engine) as session:
            staff = [
                (account_id, key)
                for account_id, key in session.execute(select(Account.id, Account.public_key))
                if key is not None
            ]
            # Reports submitted over HTTP are sealed and wrapped already.
            newest = session.execute(
                select(Report.id, Report.public_id, Report.language)
                .where(~exists().where(KeyWrap.report_id == Report.id))
                .order_by(Report.received_on.desc(), Report.id.desc())
                .limit(count)
            ).all()
        with engine.begin() as conn:
            for start in range(0, len(newest), 500):
                fields: list[dict[str, Any]] = []
                wraps: list[dict[str, Any]] = []
                for report_id, public_id, language in newest[start : start + 500]:
                    dek = new_data_key()
                    texts = {
                        NARRATIVE: narratives.narrative(rng, language),
                        **narratives.answers(rng, language),
                    }
                    # As submit_report stores it: one sealed record of every text.
                    fields.append(
                        {
                            "report_id": report_id,
                            "name": ANSWERS,
                            "ciphertext": seal_answers(dek, texts, report_id=public_id),
                        }
                    )
                    wraps.extend(
                        {
                            "report_id": report_id,
                            "account_id": account_id,
                            "escrow": False,
                            "wrapped": wrap_data_key(dek, public_key, report_id=public_id),
                        }
                        for account_id, public_key in staff
                    )
                conn.execute(insert(SealedField), fields)
                conn.execute(insert(KeyWrap), wraps)
                written += len(wraps)
        _statistics(database_url)
    finally:
        engine.dispose()
    return written


def staff_ids(database_url: str) -> list[int]:
    """Ids of the staff accounts that hold a public key (the enrolled reviewers)."""
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            return list(
                session.scalars(
                    select(Account.id).where(Account.public_key.is_not(None)).order_by(Account.id)
                )
            )
    finally:
        engine.dispose()
