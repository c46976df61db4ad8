"""Raw figures of verified cases, counted from plain columns only.

The input of the protection engine (:mod:`registry.evidence.suppression`):
one :class:`RawPopulation` for all verified cases, one per reform proposal
(the cases mapped to it) and one per kind of unit.  Nothing here is
published as it is: every count goes through ``suppression.protect`` first.

WHY plain columns only: the figures must be built by whoever publishes,
without any key (issue 11, point 7), and they must never depend on sealed
text.  Status, disposition, region, place, unit, incident month, violation
codes and proposal mappings with their strength are plain already
(docs/sealed-and-plain.md); the sealed rationale of a mapping is never read.

Every query groups in the database (``GROUP BY``): 100,000 reports are
never loaded as rows, and the whole build reads a few hundred result rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from registry.evidence.raw import RawPopulation, RawTable
from registry.models import (
    CaseMapping,
    ReformBlock,
    ReformProposal,
    ReformTheme,
    Report,
    ReportViolation,
    Status,
    Strength,
)
from registry.records.vocabulary import MONTH_PATTERN
from registry.taxonomy.service import terms

UNKNOWN = "unknown"
"""The cell of a single-valued dimension whose column is empty."""
SUBSTANTIATED = "substantiated"
"""The disposition of a closed case that counts as verified."""
PERIOD_FIRST_YEAR = 2000
"""The first year of the period cells: the first year the report form offers.

WHY a fixed first year (and the last: December of the publication's year):
the cells of a table must never depend on the data.  A range starting at
the earliest case would publish that some case happened in its first month,
however small the count.  A month outside the range (a reviewer may code
one before 2000) is counted as unknown.
"""

ALL = "all"
STRENGTHS = (Strength.STRONG.value, Strength.ILLUSTRATES.value)

# Table names are their dimensions.  Single-valued: each case is in exactly
# one cell (the table sums to the population's cases); multi-valued: a case
# may have several violation codes or support several proposals.
SINGLE_VALUED = {
    "region": True,
    "violation": False,
    "place": True,
    "unit": True,
    "period": True,
    "strength": True,
    "proposal": False,
}
# The tables of each kind of population, in display order.  A unit
# population has no unit table (one cell, its own), a proposal population
# no proposal table; only a proposal population has strengths.
ALL_TABLES = ("region", "violation", "place", "unit", "period", "proposal")
UNIT_TABLES = ("region", "violation", "place", "period")
PROPOSAL_TABLES = ("region", "violation", "place", "unit", "period", "strength")


def verified() -> ColumnElement[bool]:
    """Whether a report counts in the evidence: verified, or closed as substantiated.

    Withdrawn reports are deleted (with their codes and mappings), so they
    never count.
    """
    return and_(
        # The IN narrows the scan to two statuses (an index range on SQLite)
        # before the disposition of closed cases is read.
        Report.status.in_((Status.VERIFIED.value, Status.CLOSED.value)),
        or_(Report.status == Status.VERIFIED.value, Report.disposition == SUBSTANTIATED),
    )


@dataclass(frozen=True)
class Cells:
    """The cell codes of every dimension, in display order.

    Fixed by the vocabularies, the reform catalogue and the publication's
    year alone: the set of cells never tells anything about the data.
    """

    region: tuple[str, ...]
    violation: tuple[str, ...]
    place: tuple[str, ...]
    unit: tuple[str, ...]
    period: tuple[str, ...]
    proposal: tuple[str, ...]
    strength: tuple[str, ...] = STRENGTHS

    def of(self, dimension: str) -> tuple[str, ...]:
        """The codes of ``dimension``."""
        codes: tuple[str, ...] = getattr(self, dimension)
        return codes


def months(today: date) -> tuple[str, ...]:
    """Every month from January of :data:`PERIOD_FIRST_YEAR` to December of ``today``'s year."""
    return tuple(
        f"{year:04d}-{month:02d}"
        for year in range(PERIOD_FIRST_YEAR, today.year + 1)
        for month in range(1, 13)
    )


def _with_unknown(codes: Iterable[str]) -> tuple[str, ...]:
    listed = tuple(codes)
    return listed if UNKNOWN in listed else (*listed, UNKNOWN)


def cells(db: Session, today: date) -> Cells:
    """The cell codes of every dimension for a publication on ``today``.

    Regions have no "unknown" cell: the column is never empty, and a cell
    that is zero by construction would let a reader who knows the schema
    take it out of a sum, which the protection engine cannot know.
    """
    proposals = db.scalars(
        select(ReformProposal.code)
        .join(ReformTheme, ReformTheme.code == ReformProposal.theme_code)
        .join(ReformBlock, ReformBlock.code == ReformTheme.block_code)
        .order_by(
            ReformBlock.position, ReformTheme.position, ReformProposal.position, ReformProposal.code
        )
    )
    return Cells(
        region=tuple(term.code for term in terms(db, "regions")),
        violation=tuple(term.code for term in terms(db, "violation_types")),
        place=_with_unknown(term.code for term in terms(db, "places")),
        unit=_with_unknown(term.code for term in terms(db, "units")),
        period=(*months(today), UNKNOWN),
        proposal=tuple(proposals),
    )


# Dimensions whose column may be empty: their "unknown" cell holds those cases.
NULLABLE = frozenset({"place", "unit", "period"})


class _Coder:
    """Turns a column's value into its cell code."""

    def __init__(self, cells: Cells) -> None:
        self._known = {name: frozenset(cells.of(name)) for name in SINGLE_VALUED}
        # Tens of thousands of rows share a few hundred values.
        self._seen: dict[tuple[str, str | None], str] = {}

    def __call__(self, dimension: str, value: str | None) -> str:
        key = (dimension, value)
        if key not in self._seen:
            self._seen[key] = self._code(dimension, value)
        return self._seen[key]

    def _code(self, dimension: str, value: str | None) -> str:
        if dimension == "period" and value is not None and not MONTH_PATTERN.fullmatch(value):
            # A malformed month says no more than none.
            value = None
        if value is None and dimension in NULLABLE:
            return UNKNOWN
        if dimension == "period":
            # Outside the fixed range of cells (see PERIOD_FIRST_YEAR).
            return value if value in self._known[dimension] else UNKNOWN
        if value is None or value not in self._known[dimension]:
            # Codes are checked against the vocabularies and the catalogue
            # where they are entered, and terms are never deleted: a code
            # outside them is damage, and figures that silently dropped it
            # would be wrong.  Publication stops and says which.
            raise ValueError(f"{dimension} code {value!r} is in no vocabulary")
        return value


# Counts of one population: dimension -> cell code -> count.
_Counts = dict[str, Counter[str]]

# Report columns of the single-valued dimensions.
_COLUMNS: dict[str, InstrumentedAttribute[Any]] = {
    "region": Report.region,
    "place": Report.place,
    "unit": Report.unit,
    "period": Report.incident_month,
}


def _counts() -> _Counts:
    return {name: Counter() for name in SINGLE_VALUED}


def _grouped(
    db: Session, by: InstrumentedAttribute[Any], code: _Coder, *, mapped: bool
) -> dict[str, _Counts]:
    """Counts of verified cases per group (``by``'s cell) and dimension.

    ``by`` is the report's unit, or (``mapped``) a mapping's proposal code,
    counting each case once per proposal it supports.  Two statements: one
    grouped by every single-valued column at once (a single pass over the
    reports; a few thousand groups at most in practice), one over the
    violation codes.
    """
    if mapped:
        base = select().select_from(CaseMapping).join(Report, Report.id == CaseMapping.report_id)
        columns = {**_COLUMNS, "strength": CaseMapping.strength}
    else:
        base = select().select_from(Report)
        columns = {name: column for name, column in _COLUMNS.items() if column is not by}
    base = base.where(verified())
    group = "proposal" if mapped else "unit"
    tallies: dict[str, _Counts] = {}
    statements = (
        (tuple(columns), base, tuple(columns.values())),
        (
            ("violation",),
            base.join(ReportViolation, ReportViolation.report_id == Report.id),
            (ReportViolation.code,),
        ),
    )
    for dimensions, query, grouped in statements:
        rows = db.execute(query.add_columns(by, *grouped, func.count()).group_by(by, *grouped))
        for row in rows:
            key = code(group, row[0])
            if key not in tallies:
                tallies[key] = _counts()
            counts = tallies[key]
            for dimension, value in zip(dimensions, row[1:-1], strict=True):
                counts[dimension][code(dimension, value)] += row[-1]
    return tallies


def _table(dimension: str, codes: Sequence[str], counts: Counter[str]) -> RawTable:
    return RawTable(
        dimension=dimension,
        single_valued=SINGLE_VALUED[dimension],
        cells={code: counts.get(code, 0) for code in codes},
    )


def _population(
    key: str,
    tables: Sequence[str],
    counts: _Counts,
    cells_: Cells,
    *,
    partition_of: str | None = None,
    subset_of: str | None = None,
) -> RawPopulation:
    # Every case has exactly one region: the region table's sum is the
    # population's size (for a proposal, its cases; one mapping per case).
    size = sum(counts["region"].values())
    return RawPopulation(
        key=key,
        cases=size,
        tables={name: _table(name, cells_.of(name), counts[name]) for name in tables},
        partition_of=partition_of,
        subset_of=subset_of,
    )


def build(db: Session, *, today: date) -> list[RawPopulation]:
    """Raw counts of verified cases: "all", then "proposal:<code>"s, then "unit:<code>"s.

    Every code of every vocabulary is a cell (zeros included), in display
    order; the "period" table holds month codes ("2021-08", "unknown") and
    the engine chooses the grain.  Unit populations partition "all" (a case
    with no unit is in "unit:unknown"); proposal populations are subsets.
    """
    cells_ = cells(db, today)
    code = _Coder(cells_)
    by_unit = _grouped(db, Report.unit, code, mapped=False)
    by_proposal = _grouped(db, CaseMapping.proposal_code, code, mapped=True)
    everything = _counts()
    for unit_counts in by_unit.values():
        for dimension, counter in unit_counts.items():
            everything[dimension].update(counter)
    everything["unit"] = Counter(
        {unit: sum(counts["region"].values()) for unit, counts in by_unit.items()}
    )
    everything["proposal"] = Counter(
        {code: sum(counts["strength"].values()) for code, counts in by_proposal.items()}
    )
    populations = [_population(ALL, ALL_TABLES, everything, cells_)]
    populations.extend(
        _population(
            f"proposal:{code}",
            PROPOSAL_TABLES,
            by_proposal.get(code, _counts()),
            cells_,
            subset_of=ALL,
        )
        for code in cells_.proposal
    )
    populations.extend(
        _population(
            f"unit:{code}", UNIT_TABLES, by_unit.get(code, _counts()), cells_, partition_of=ALL
        )
        for code in cells_.unit
    )
    return populations
