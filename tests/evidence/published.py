"""Hand-made snapshot payloads ("sviedka-evidence-v1") and stored snapshots, for page tests.

The pages and downloads only read a stored payload, so their tests store
payloads made here: every code of every vocabulary and of the catalogue
(as the real builder makes them), with counts chosen by the test.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from registry.evidence import figures, snapshots
from registry.models import EvidenceSnapshot

TODAY = date(2026, 12, 3)
K = 5

# A cell's (count, mark) from its population key, table name and code.
Filler = Callable[[str, str, str], tuple[int | None, str]]


def realistic(seed: int = 0, k: int = K) -> Filler:
    """Counts of a large registry: most cells published, some withheld.

    Months before August 2020 and after November 2026 are empty (fewer than
    k); about one cell in eight is fewer than k and one in twelve hidden.
    """
    rng = random.Random(seed)

    def fill(population: str, table: str, code: str) -> tuple[int | None, str]:
        if table == "period" and code != "unknown" and not ("2020-08" <= code <= "2026-11"):
            return None, "fewer-than-k"
        draw = rng.random()
        if draw < 1 / 8:
            return None, "fewer-than-k"
        if draw < 1 / 8 + 1 / 12:
            return None, "hidden"
        return rng.randint(k, 25_000 if population == "all" else 4_000), ""

    return fill


def payload(
    db: Session,
    *,
    number: int = 1,
    k: int = K,
    today: date = TODAY,
    fill: Filler | None = None,
    cases: Callable[[str], int | None] | None = None,
    grain: str = "month",
    hidden: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """A payload with every cell of every table, counts from ``fill``.

    Populations whose ``cases`` is None publish nothing, marked "hidden"
    when their key is in ``hidden`` and "fewer-than-k" otherwise.
    """
    fill = fill or realistic(k=k)
    cells = figures.cells(db, today)
    keys = [
        ("all", "all", None, figures.ALL_TABLES),
        *((f"proposal:{c}", "proposal", c, figures.PROPOSAL_TABLES) for c in cells.proposal),
        *((f"unit:{c}", "unit", c, figures.UNIT_TABLES) for c in cells.unit),
    ]
    populations: dict[str, Any] = {}
    for key, kind, code, tables in keys:
        size = cases(key) if cases is not None else 30_000 if key == "all" else 2_000
        if size is None:
            mark = "hidden" if key in hidden else "fewer-than-k"
            populations[key] = {
                "kind": kind,
                "code": code,
                "cases": None,
                "mark": mark,
                "tables": {},
            }
            continue
        found: dict[str, Any] = {}
        for name in tables:
            codes = cells.of(name)
            if name == "period":
                codes = _coarsened(codes, grain)
            found[name] = {
                "dimension": name,
                "grain": grain if name == "period" else None,
                "cells": [
                    dict(zip(("code", "count", "mark"), (c, *fill(key, name, c)), strict=True))
                    for c in codes
                ],
            }
        populations[key] = {
            "kind": kind,
            "code": code,
            "cases": size,
            "mark": "",
            "tables": found,
        }
    return {
        "format": snapshots.FORMAT,
        "number": number,
        "published_on": today.isoformat(),
        "k": k,
        "populations": populations,
    }


def _coarsened(months: tuple[str, ...], grain: str) -> list[str]:
    if grain == "month":
        return list(months)
    seen: list[str] = []
    for month in months:
        if month == "unknown":
            code = month
        elif grain == "quarter":
            code = f"{month[:4]}-Q{(int(month[5:]) - 1) // 3 + 1}"
        else:
            code = month[:4]
        if code not in seen:
            seen.append(code)
    return seen


def store(db: Session, body: dict[str, Any], *, day: date | None = None) -> EvidenceSnapshot:
    """Store ``body`` as a published snapshot (as ``snapshots.publish`` would) and commit."""
    text = snapshots.encode(body)
    row = EvidenceSnapshot(
        number=body["number"],
        published_on=day or date.fromisoformat(body["published_on"]),
        k=body["k"],
        payload=text,
        digest=snapshots.digest(text),
        published_by=None,
    )
    db.add(row)
    db.commit()
    return row
