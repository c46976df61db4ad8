"""Raw counts of verified cases, as the figures give them to the protection engine.

A module of its own so that what only reads or builds counts (the figures,
the snapshots' checks, every web worker) does not load numpy and scipy:
only :mod:`registry.evidence.suppression` needs them, when a snapshot is
published (about 65 MB of memory per process that imports them).
"""

from __future__ import annotations

from dataclasses import dataclass

ALL = "all"
"""The key of the population of every verified case."""


@dataclass(frozen=True)
class RawTable:
    """One table of raw counts, before protection.

    ``cells`` maps every code (zeros included) to its count, in display
    order.  Single-valued: each case is in exactly one cell.
    """

    dimension: str
    single_valued: bool
    cells: dict[str, int]


@dataclass(frozen=True)
class RawPopulation:
    """The raw counts of one population ("all", "proposal:<code>", "unit:<code>").

    The "period" table holds month codes ("2021-08", plus "unknown"); the
    engine chooses the grain.  ``partition_of``: the populations with the
    same value partition that population (every case of it is in exactly
    one of them).  ``subset_of``: every case of this population is a case
    of that one.
    """

    key: str
    cases: int
    tables: dict[str, RawTable]
    partition_of: str | None = None
    subset_of: str | None = None
