"""The protection engine: which counts of a snapshot are published, and which are withheld.

Pure: counts in, the payload's ``"populations"`` object out; no database,
no Flask, no key.  Every public number goes through :func:`protect`.

The promise (issue 11, point 4): no count below ``k`` can be read or worked
out from a snapshot, nor from two consecutive snapshots.  In order:

1. **Periods are coarsened** month → quarter → year, per table, when the
   coarser grain publishes more cells (counts ≥ k); ties keep the finer one.
2. **Primary suppression.**  Every count below ``k``, zeros included, is
   ``"fewer-than-k"``.  A population below ``k`` publishes nothing at all.
   WHY zeros too: "0 cases in Brest" is as telling as "1 case in Brest"
   once a reader knows of one.
3. **Differences.**  A count published in any earlier snapshot and again
   now (same code and grain; across grains, the sum of the cells one
   contains) must not move by 1 … k−1: such a change would tie a few new
   cases to a known arrest.  Otherwise the new count is ``"hidden"``.
   WHY every earlier snapshot and not only the last: they all stay
   downloadable, so a count hidden once (10, hidden, 13) could otherwise
   be set against the one before.
   A unit's or proposal's size is such a count too (it is a cell of
   "all"'s table): when it moved a little the whole population is withheld.
   The size of "all" is not: it is what every table adds up to, so it
   cannot be withheld; a publication that would move it by 1 … k−1 is
   refused before the engine runs (``snapshots.publish``).
4. **Complements by rule.**  A single-valued table sums to its
   population's size and a code's cells over the units sum to the cell of
   "all": a withheld count alone in such a sum, or zeros withheld beside
   published counts only, would be pinned.  The smallest published count
   that frees them is hidden, at the same code across a family where it
   can, rows and columns in turn.
5. **An exact audit, and complements where it finds a leak.**  The auditor
   writes down everything a reader knows: the published counts, the bounds
   every mark gives (``fewer-than-k`` ∈ [0, k−1], ``hidden`` ≥ k), table
   sums, unit populations partitioning "all" cell by cell, proposal
   populations as subsets of "all", multi-valued cells ≤ cases, and that
   "all"'s unit and proposal tables hold those populations' sizes.
   Periods are modelled by month in every population, whatever grain it
   publishes, so a quarter of one population cannot be set against months
   of another.  For every count below ``k`` — a published cell, a month
   inside a published quarter, a cell or the size of a population that
   publishes nothing — it must find a second integer solution of that
   system in which the count has another value (for a count hidden under
   rule 3: its old value, or one at least ``k`` away).  Such a solution is
   the proof that no reader can solve for the count.  When there is none,
   it asks for the cheapest way to move the count by one (the published
   counts that must move with it, weighted by their size, so small counts
   go first) and hides those: that solution is then the proof.  When only
   a population's size can move, the whole population is withheld
   (``cases`` null, mark ``"hidden"``).  Hiding only widens what a reader
   must consider, so a proof once found stays true.

How the proofs stay cheap (budget: about 3 s for a snapshot of 100,000
reports): most solutions are found in bulk, one integer program per table
with every other count held at its true value (any solution of a narrower
system is a solution of the whole), pushing the counts one way and then
the other; then by small moves checked against every row they touch (one
count, two counts of one sum, four counts around two sums) starting from
the truth or from a solution already found; only what is left is asked of
the solver one count at a time, near the count first.  Months in which no
population has any case are interchangeable, so one such month per
population stands in for all of them (see :meth:`_Board._stand_ins`).
The integer programs are HiGHS, through ``scipy.optimize.milp``.

Deterministic: the same input gives the same output (the solver is
deterministic; every order follows the input's order).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_array

from registry.evidence.raw import ALL, RawPopulation

PUBLISHED = ""
FEWER = "fewer-than-k"
HIDDEN = "hidden"
MARKS = (PUBLISHED, FEWER, HIDDEN)

MONTH = "month"
QUARTER = "quarter"
YEAR = "year"
GRAINS = (MONTH, QUARTER, YEAR)
"""Finest first: the order periods are coarsened in."""
PERIOD = "period"

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")

# Integer programs that run longer than this are given up on and their
# question counts as "pinned" (the safe answer: more is withheld).
_TIME_LIMIT = 30.0
_TOLERANCE = 1e-6
# Bulk proofs stop at a solution this close to the best, or after this long.
_ROUGH_GAP = 0.25
_ROUGH_TIME = 1.0
# Cost of moving a population's size (withholding a whole population) in
# the search for complements, per unit moved: far above any cell's.
_POPULATION_COST = 1_000.0
_ALL_COST = 1_000_000.0
# Solutions sought per table to prove counts free in bulk (each with other
# directions; see _direction).
_BULK_ROUNDS = 10
# Rounds of complements by rule, rows then columns (see complete_tables).
_COMPLETION_ROUNDS = 4
# Partners tried per sum for a two-count move (see _Model.moves).
_PARTNERS = 24
# Open targets in a table that make it worth proving in bulk again after a
# complement (see audit).
_CROWDED = 12
# Known solutions a small move starts from (the truth first; see _lift).
_BASES = 4
# Rows this long or shorter lend their counts' solutions as starting points.
_SHORT_ROW = 16
# Siblings tried, each in a window with a unit that publishes nothing (see
# _Board._pairs).
_SIBLINGS = 2
# Counts a chain of make-up moves may take (see _Model._repair).
_REPAIRS = 16
# Four-count moves tried per count (see _Model.moves).
_CYCLES = 60


def coarsen(code: str, grain: str) -> str:
    """The period code at ``grain`` that contains month (or quarter) ``code``.

    "unknown" and anything else that is not a period stay as they are.
    """
    month = _MONTH.fullmatch(code)
    if month is not None:
        year, number = month.group(1), int(month.group(2))
        if grain == QUARTER:
            return f"{year}-Q{(number - 1) // 3 + 1}"
        return year if grain == YEAR else code
    quarter = _QUARTER.fullmatch(code)
    if quarter is not None and grain == YEAR:
        return quarter.group(1)
    return code


def grain_of(code: str) -> str | None:
    """The grain of a period code, or None for "unknown" and other non-periods."""
    if _MONTH.fullmatch(code):
        return MONTH
    if _QUARTER.fullmatch(code):
        return QUARTER
    if _YEAR.fullmatch(code):
        return YEAR
    return None


def period_groups(codes: Iterable[str], grain: str) -> list[tuple[str, list[str]]]:
    """Month codes grouped into the cells of ``grain``, in order of first appearance."""
    groups: dict[str, list[str]] = {}
    for code in codes:
        groups.setdefault(coarsen(code, grain), []).append(code)
    return list(groups.items())


def choose_grain(cells: Mapping[str, int], k: int) -> str:
    """The grain that publishes the most cells (counts ≥ k); ties to the finer."""
    best, best_count = MONTH, -1
    for grain in GRAINS:
        groups = period_groups(cells, grain)
        count = sum(1 for _, members in groups if sum(cells[m] for m in members) >= k)
        if count > best_count:
            best, best_count = grain, count
    return best


def protect(
    populations: list[RawPopulation],
    k: int,
    previous: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, dict[str, Any]]:
    """Return the "populations" object of the payload, protected.

    ``previous``: the "populations" objects of the earlier published
    snapshots, newest first (or the previous one alone, or None).  Raises
    ValueError when the counts contradict themselves (a table that does
    not sum to its cases, units that do not add up to "all"…): the auditor
    reasons from the true counts, and figures that are wrong must not be
    published anyway.
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    board = _Board(populations, k)
    earlier = [previous] if isinstance(previous, Mapping) else list(previous or ())
    for before in earlier:
        board.apply_differences(before)
    board.complete_tables()
    board.audit()
    return board.payload()


# --------------------------------------------------------------------------
# The board: every count as a variable, what a reader knows as constraints.


@dataclass
class _Row:
    """Σ coef·x ∈ [lo, hi] (integers, or ±inf)."""

    coefs: dict[int, int]
    lo: float
    hi: float


@dataclass
class _Quantity:
    """A number the payload shows or withholds: a cell or a population's size."""

    population: str
    table: str | None  # None: the population's cases
    code: str | None
    variables: tuple[int, ...]
    value: int
    mark: str
    active: bool = True
    # A cell of "all"'s unit/proposal table is the size of that population.
    link: str | None = None
    # Hidden because it moved since the previous snapshot: its old count.
    old: int | None = None


@dataclass(eq=False)
class _Target:
    """A count no reader may pin down (or, with ``old``, a difference they may not learn)."""

    variables: tuple[int, ...]
    truth: int
    old: int | None = None
    certified: bool = False
    tried: tuple[int, int] = (-1, -1)  # (solutions known, complements) at the last _lift

    def safe(self, value: int, k: int) -> bool:
        """Whether a solution where the count is ``value`` proves the count is protected."""
        if self.old is None:
            return value != self.truth
        return value == self.old or abs(value - self.old) >= k

    def options(self, k: int, cap: float) -> list[tuple[float, float]]:
        """Ranges of the count, any of which proves it protected."""
        if self.old is None:
            return [(self.truth + 1, cap), (0, self.truth - 1)]
        return [(self.old, self.old), (self.old + k, cap), (0, self.old - k)]


@dataclass
class _Population:
    raw: RawPopulation
    kind: str
    code: str | None
    cases: int  # variable
    cells: dict[str, dict[str, int]] = field(default_factory=dict)  # table -> code -> variable
    groups: dict[str, list[tuple[str, list[str]]]] = field(default_factory=dict)
    grains: dict[str, str] = field(default_factory=dict)
    mark: str = PUBLISHED
    size: int = -1  # index of the cases quantity
    quantities: dict[str, list[int]] = field(default_factory=dict)  # table -> quantity indices


def _kind_and_code(key: str) -> tuple[str, str | None]:
    if key == ALL:
        return ALL, None
    kind, sep, code = key.partition(":")
    if not sep or not kind or not code:
        raise ValueError(f"population key {key!r} is neither 'all' nor 'kind:code'")
    return kind, code


def _empty_classes(codes: Sequence[str], empty: set[str]) -> dict[str, str]:
    """Each empty month mapped to the first empty month alike (see _Board._stand_ins).

    Alike: both in years with no case at all (and the same months listed),
    or both in empty quarters of one year, or both in one quarter.
    """
    years: dict[str, list[str]] = {}
    quarters: dict[str, list[str]] = {}
    for code in codes:
        if grain_of(code) == MONTH:
            years.setdefault(coarsen(code, YEAR), []).append(code)
            quarters.setdefault(coarsen(code, QUARTER), []).append(code)

    classes: dict[str, str] = {}
    firsts: dict[tuple[Any, ...], str] = {}
    for code in codes:
        if code not in empty:
            continue
        year, quarter = coarsen(code, YEAR), coarsen(code, QUARTER)
        if all(m in empty for m in years[year]):
            key: tuple[Any, ...] = ("year", tuple(m[5:] for m in years[year]))
        elif all(m in empty for m in quarters[quarter]):
            key = ("quarter", year, len(quarters[quarter]))
        else:
            key = ("month", quarter)
        classes[code] = firsts.setdefault(key, code)
    return classes


def _group_values(pop: _Population, name: str, truth: Sequence[int]) -> dict[str, int]:
    """The counts of ``pop``'s table ``name`` at its grain, by code."""
    cells = pop.cells.get(name, {})
    return {
        code: sum(truth[cells[m]] for m in members) for code, members in pop.groups.get(name, [])
    }


def _pinned_in_table(cells: Sequence[_Quantity], k: int) -> int:
    """How many withheld counts below k the table's sum alone pins down.

    The withheld counts add up to a known total; a count below k (in
    [0, k−1]) is free when it can go up by one (another withheld count can
    give one: a count below k above zero, or a hidden one above k) or down
    by one (another can take one: a count below k−1, or any hidden one).
    """
    fewer = [q.value for q in cells if q.active and q.mark == FEWER]
    hidden = [q.value for q in cells if q.active and q.mark == HIDDEN]
    givers = sum(1 for v in fewer if v >= 1)  # can give one
    takers = sum(1 for v in fewer if v <= k - 2)  # can take one
    big = any(h > k for h in hidden)
    pinned = 0
    for value in fewer:
        up = value <= k - 2 and (givers - (value >= 1) > 0 or big)
        down = value >= 1 and (takers - (value <= k - 2) > 0 or bool(hidden))
        pinned += not (up or down)
    # A count hidden because it moved a little must be able to take its old
    # value back (or one k or more above it) while the others make up for
    # the change: they can go down by what they hold above their floors,
    # and up by what the counts below k have below k−1 — or without bound
    # when another count is hidden.
    for moved in cells:
        if not moved.active or moved.mark != HIDDEN or moved.old is None:
            continue
        others = [q.value for q in cells if q is not moved and q.active and q.mark == HIDDEN]
        room_down = sum(fewer) + sum(h - k for h in others)
        room_up = math.inf if others else sum(k - 1 - f for f in fewer)
        change = moved.old - moved.value
        back = room_down >= change if change > 0 else room_up >= -change
        pinned += not (back or room_down >= moved.old + k - moved.value)
    return pinned


def _direction(target: _Target, number: int, attempt: int) -> float:
    """A weight that pushes ``target`` up or down: mixed so that trades show up.

    Pushing every count the same way leaves counts that only trade with one
    another where they are; mixed directions (a fixed pseudo-random pattern,
    so the result is deterministic) move them.  A zero can only go up; every
    other round pushes the zeros alone, which compete with nothing then.
    """
    if target.truth == 0 and target.old is None:
        return -1.0
    if attempt % 2 == 0:
        return 0.0  # rounds for the zeros alone
    mixed = (number * 2654435761 + attempt * 40503) >> 7 & 3
    return (-1.0, 1.0, -2.0, 2.0)[mixed]


class _Board:
    """Variables, constraints, marks and the audit of one snapshot."""

    def __init__(self, populations: Sequence[RawPopulation], k: int) -> None:
        self.k = k
        self.truth: list[int] = []
        self.rows: list[_Row] = []
        self.quantities: list[_Quantity] = []
        self.targets: list[_Target] = []
        self.order = [p.key for p in populations]
        if len(set(self.order)) != len(self.order):
            raise ValueError("population keys repeat")
        self.pops: dict[str, _Population] = {}
        # What each variable counts: (table, code) of a cell; None for a size.
        self.where: dict[int, tuple[str, str] | None] = {}
        self.owner: dict[int, str] = {}  # the population of each cell
        by_key = {p.key: p for p in populations}
        for raw in populations:
            parent = raw.partition_of or raw.subset_of
            if raw.partition_of and raw.subset_of:
                raise ValueError(f"{raw.key}: both a partition and a subset")
            if parent is not None and (parent not in by_key or parent == raw.key):
                raise ValueError(f"{raw.key}: unknown parent {parent!r}")
            if parent is not None and (by_key[parent].partition_of or by_key[parent].subset_of):
                raise ValueError(f"{raw.key}: its parent {parent!r} has a parent itself")
        # Parents first: a member's size is a cell of its parent's table.
        for raw in sorted(populations, key=lambda p: p.partition_of or p.subset_of or ""):
            self._add_population(raw)
        self._relate(populations)
        self.rows_of: list[list[int]] = [[] for _ in self.truth]
        self.at_truth = [sum(c * self.truth[v] for v, c in row.coefs.items()) for row in self.rows]
        for r, row in enumerate(self.rows):
            for var in row.coefs:
                self.rows_of[var].append(r)
        self.cap = float(2 * max([p.cases for p in populations] + [0]) + 2 * k + 10)
        self._add_quantities()
        self._add_targets()

    # -- building -----------------------------------------------------------

    def _variable(self, truth: int) -> int:
        if not isinstance(truth, int) or isinstance(truth, bool) or truth < 0:
            raise ValueError(f"a count must be a non-negative integer, not {truth!r}")
        self.truth.append(truth)
        return len(self.truth) - 1

    def _add_population(self, raw: RawPopulation) -> None:
        kind, code = _kind_and_code(raw.key)
        parent = raw.partition_of or raw.subset_of
        linked = None
        if parent is not None:
            linked = self._linked_cell(self.pops[parent], kind, code)
        if linked is not None:
            self.where[linked] = None  # a size, though a cell too
            # The same number as the parent's cell: one variable for both.
            if self.truth[linked] != raw.cases:
                raise ValueError(f"{raw.key}: cases {raw.cases} but its cell says so otherwise")
            cases = linked
        else:
            cases = self._variable(raw.cases)
            self.where[cases] = None
        pop = _Population(raw=raw, kind=kind, code=code, cases=cases)
        for name, table in raw.tables.items():
            variables = {c: self._variable(n) for c, n in table.cells.items()}
            for c, var in variables.items():
                self.where[var] = (name, c)
                self.owner[var] = raw.key
            pop.cells[name] = variables
            if table.single_valued:
                if sum(table.cells.values()) != raw.cases:
                    raise ValueError(f"{raw.key}/{name}: cells do not sum to the cases")
                coefs = dict.fromkeys(variables.values(), 1)
                coefs[cases] = -1
                self.rows.append(_Row(coefs, 0, 0))
            else:
                for var in variables.values():
                    if self.truth[var] > raw.cases:
                        raise ValueError(f"{raw.key}/{name}: a cell above the cases")
                    self.rows.append(_Row({var: 1, cases: -1}, -np.inf, 0))
            if table.dimension == PERIOD:
                grain = choose_grain(table.cells, self.k)
                pop.grains[name] = grain
                pop.groups[name] = period_groups(table.cells, grain)
            else:
                pop.groups[name] = [(c, [c]) for c in table.cells]
        self.pops[raw.key] = pop

    @staticmethod
    def _linked_cell(parent: _Population, kind: str, code: str | None) -> int | None:
        for name, table in parent.raw.tables.items():
            if table.dimension == kind and code in table.cells:
                return parent.cells[name][code]
        return None

    def _relate(self, populations: Sequence[RawPopulation]) -> None:
        """Rows that tie members to their parent, cell by cell."""
        partitions: dict[str, list[_Population]] = {}
        for raw in populations:
            if raw.partition_of is not None:
                partitions.setdefault(raw.partition_of, []).append(self.pops[raw.key])
            elif raw.subset_of is not None:
                pop, parent = self.pops[raw.key], self.pops[raw.subset_of]
                self._le(pop.cases, parent.cases, raw.key)
                for name in _shared_tables(parent, [pop]):
                    for code, var in pop.cells[name].items():
                        self._le(var, parent.cells[name][code], f"{raw.key}/{name}/{code}")
        for key, members in partitions.items():
            parent = self.pops[key]
            self._sum([m.cases for m in members], parent.cases, f"partition of {key}")
            for name in _shared_tables(parent, members):
                for code, var in parent.cells[name].items():
                    self._sum([m.cells[name][code] for m in members], var, f"{key}/{name}/{code}")

    def _le(self, small: int, large: int, what: str) -> None:
        if self.truth[small] > self.truth[large]:
            raise ValueError(f"{what}: a subset larger than its population")
        if small != large:
            self.rows.append(_Row({small: 1, large: -1}, -np.inf, 0))

    def _sum(self, parts: list[int], whole: int, what: str) -> None:
        if sum(self.truth[v] for v in parts) != self.truth[whole]:
            raise ValueError(f"{what}: the parts do not add up")
        coefs: dict[int, int] = {}
        for var in parts:
            coefs[var] = coefs.get(var, 0) + 1
        coefs[whole] = coefs.get(whole, 0) - 1
        self.rows.append(_Row(coefs, 0, 0))

    def _quantity(self, quantity: _Quantity) -> int:
        self.quantities.append(quantity)
        return len(self.quantities) - 1

    def _mark(self, value: int) -> str:
        return PUBLISHED if value >= self.k else FEWER

    def _add_quantities(self) -> None:
        links: dict[int, str] = {}
        for pop in self.pops.values():
            if pop.raw.partition_of or pop.raw.subset_of:
                links[pop.cases] = pop.raw.key
        for key in self.order:
            pop = self.pops[key]
            pop.mark = self._mark(pop.raw.cases)
            pop.size = self._quantity(
                _Quantity(key, None, None, (pop.cases,), pop.raw.cases, pop.mark)
            )
            for name, groups in pop.groups.items():
                indices = []
                for code, members in groups:
                    variables = tuple(pop.cells[name][m] for m in members)
                    value = sum(self.truth[v] for v in variables)
                    link = links.get(variables[0]) if len(variables) == 1 else None
                    indices.append(
                        self._quantity(
                            _Quantity(
                                key,
                                name,
                                code,
                                variables,
                                value,
                                self._mark(value),
                                active=pop.mark == PUBLISHED,
                                link=link,
                            )
                        )
                    )
                pop.quantities[name] = indices

    def _add_targets(self) -> None:
        # Every count below k the system holds: cells of every population
        # (published or not), months inside coarser cells, sizes.
        self.targets = [
            _Target((var,), truth) for var, truth in enumerate(self.truth) if truth < self.k
        ]
        for quantity in self.quantities:
            if quantity.active and len(quantity.variables) > 1 and quantity.value < self.k:
                self.targets.append(_Target(quantity.variables, quantity.value))

    # -- withholding ----------------------------------------------------------

    def hide(self, index: int) -> None:
        """Withhold a published quantity (and everything that is the same number)."""
        quantity = self.quantities[index]
        if not quantity.active or quantity.mark != PUBLISHED:
            return
        quantity.mark = HIDDEN
        if quantity.table is None and quantity.population != ALL:
            self._hide_population(quantity.population)
        elif quantity.table is None:
            self._hide_population(ALL)
        if quantity.link is not None:
            self._hide_population(quantity.link)

    def _hide_population(self, key: str) -> None:
        pop = self.pops[key]
        if pop.mark != PUBLISHED:
            return
        # WHY a whole population: its size is in every table sum and in its
        # parent's table; withholding the size alone would be undone by them.
        pop.mark = HIDDEN
        self.quantities[pop.size].mark = HIDDEN
        for indices in pop.quantities.values():
            for index in indices:
                self.quantities[index].active = False
        for quantity in self.quantities:
            if quantity.link == key and quantity.active:
                quantity.mark = HIDDEN

    # -- complements within one table -------------------------------------------

    def complete_tables(self) -> None:
        """Give every table the complements its own sums call for, by rule.

        A single-valued table's sum is its population's size, so its withheld
        counts add up to a known total: with one withheld count, or with only
        zeros withheld, each is pinned.  Likewise a code's cells across the
        units add up to the cell of "all".  Choosing those complements here,
        by rule (rows and columns in turn, until neither asks for more),
        saves the auditor a search for each; it still checks everything.
        Complements go to the same code in every population of a family where
        it can (cells of the parent's smallest counts first), and in a
        column to units that already withhold something in their own table:
        then a count moved in one place has somewhere to go in the others.
        """
        for _ in range(_COMPLETION_ROUNDS):
            if not self._complete_rows() + self._complete_columns():
                return

    def _complete_rows(self) -> int:
        hidden = 0
        for key in self.order:
            pop = self.pops[key]
            if pop.mark != PUBLISHED:
                continue
            root = self.pops[pop.raw.partition_of or pop.raw.subset_of or key]
            for name, indices in pop.quantities.items():
                if not pop.raw.tables[name].single_valued:
                    continue
                values = _group_values(root, name, self.truth)
                order = sorted(
                    range(len(indices)),
                    key=lambda i: (values.get(self.quantities[indices[i]].code or "", 0), i),
                )
                hidden += self._complete(indices, [indices[i] for i in order])
        return hidden

    def _complete_columns(self) -> int:
        hidden = 0
        families: dict[str, list[_Population]] = {}
        for key in self.order:
            above = self.pops[key].raw.partition_of
            if above is not None:
                families.setdefault(above, []).append(self.pops[key])
        for key, members in families.items():
            parent = self.pops[key]
            if parent.mark != PUBLISHED or any(m.mark == HIDDEN for m in members):
                continue  # a withheld parent or member leaves every column loose
            shown = [m for m in members if m.mark == PUBLISHED]
            for name, indices in parent.quantities.items():
                if (
                    any(name not in m.cells for m in members)
                    or len({parent.grains.get(name)} | {m.grains.get(name) for m in shown}) > 1
                ):
                    continue
                for i, top in enumerate(indices):
                    if self.quantities[top].mark == PUBLISHED:
                        hidden += self._complete_column(parent, members, name, i)
        return hidden

    def _complete_column(
        self, parent: _Population, members: list[_Population], name: str, i: int
    ) -> int:
        code, months = parent.groups[name][i]
        column: list[_Quantity] = []
        for member in members:
            if member.mark == PUBLISHED:
                column.append(self.quantities[member.quantities[name][i]])
            else:
                # A unit below k: its cell is at most its size, below k.
                value = sum(self.truth[member.cells[name][m]] for m in months)
                column.append(_Quantity(member.raw.key, name, code, (), value, FEWER))
        if not _pinned_in_table(column, self.k):
            return 0

        def rank(member: _Population) -> tuple[bool, int, int]:
            row = [self.quantities[j].mark for j in member.quantities[name]]
            own = self.quantities[member.quantities[name][i]].value
            return (all(m == PUBLISHED for m in row), own, members.index(member))

        shown = sorted((m for m in members if m.mark == PUBLISHED), key=rank)
        return self._complete([], [m.quantities[name][i] for m in shown], cells=column)

    def _complete(
        self, indices: list[int], preferred: list[int], cells: list[_Quantity] | None = None
    ) -> int:
        """Hide preferred counts, one at a time, while that frees pinned ones; how many hidden."""
        table = cells if cells is not None else [self.quantities[i] for i in indices]
        # Cells first; a cell that is a population's size (in "all"'s unit or
        # proposal table) only when no cell helps: hiding it withholds the
        # whole population.
        ordered = [i for i in preferred if self.quantities[i].link is None]
        ordered += [i for i in preferred if self.quantities[i].link is not None]
        hidden = 0
        while before := _pinned_in_table(table, self.k):
            for index in ordered:
                quantity = self.quantities[index]
                if quantity.mark != PUBLISHED or not quantity.active:
                    continue
                quantity.mark = HIDDEN
                after = _pinned_in_table(table, self.k)
                quantity.mark = PUBLISHED
                if after < before:
                    self.hide(index)
                    hidden += 1
                    break
            else:
                return hidden  # nothing here helps: the auditor will look further
        return hidden

    # -- differences with the previous snapshot -------------------------------

    def apply_differences(self, previous: Mapping[str, Any]) -> None:
        """Hide what moved by 1 … k−1 since an earlier snapshot (rule 3).

        Called once per earlier snapshot, newest first: a count hidden
        against a newer one gets one more target per older one it is also
        close to, so the audit proves each difference unknowable.
        """
        for key in self.order:
            pop, before = self.pops[key], previous.get(key)
            if not isinstance(before, Mapping):
                continue
            old_cases = before.get("cases")
            if key != ALL and isinstance(old_cases, int):
                # WHY "all" is exempt: its size is the one number every table
                # adds up to; its change is the count of newly verified cases,
                # not tied to any cell.
                self._compare(pop.size, old_cases)
            if pop.mark != PUBLISHED:
                # Withheld whole (below k, or its size moved against a newer
                # snapshot): its tables publish nothing to compare.
                continue
            tables = before.get("tables")
            if not isinstance(tables, Mapping):
                continue
            for name, indices in pop.quantities.items():
                old = tables.get(name)
                if isinstance(old, Mapping):
                    self._compare_table(pop, name, indices, old)

    def _compare(self, index: int, old: int, variables: tuple[int, ...] | None = None) -> None:
        quantity = self.quantities[index]
        moved_before = quantity.mark == HIDDEN and quantity.old is not None
        if not quantity.active or (quantity.mark != PUBLISHED and not moved_before):
            return
        value = quantity.value if variables is None else sum(self.truth[v] for v in variables)
        if 0 < abs(value - old) < self.k:
            self.targets.append(_Target(variables or quantity.variables, value, old))
            if moved_before:
                # Already hidden against a newer snapshot; this older value
                # only adds what the audit must prove unknowable.
                return
            self.hide(index)
            if variables is None:
                quantity.old = old
                for other in self.quantities:
                    if quantity.table is None and other.link == quantity.population:
                        other.old = old  # the same number, in "all"'s table

    def _compare_table(
        self, pop: _Population, name: str, indices: list[int], old: Mapping[str, Any]
    ) -> None:
        before: dict[str, int | None] = {}
        for cell in old.get("cells") or []:
            count = cell.get("count")
            published = cell.get("mark") == PUBLISHED and isinstance(count, int)
            before[str(cell.get("code"))] = count if published else None
        new_grain = pop.grains.get(name)
        old_grain = str(old.get("grain")) if new_grain is not None else None
        rank = {g: i for i, g in enumerate(GRAINS)}
        if (
            new_grain is None
            or old_grain is None
            or old_grain == new_grain
            or old_grain not in rank
        ):
            for index in indices:
                code = self.quantities[index].code
                if code in before and before[code] is not None:
                    self._compare(index, before[code] or 0)
            return
        if rank[new_grain] > rank[old_grain]:
            # Coarser now: a new cell against the old cells inside it.
            for index in indices:
                code = str(self.quantities[index].code)
                inside = [v for c, v in before.items() if coarsen(c, new_grain) == code]
                if inside and all(v is not None for v in inside):
                    self._compare(index, sum(v or 0 for v in inside))
            return
        # Finer now: the new cells inside an old cell, when all are published.
        for old_code, old_count in before.items():
            if old_count is None:
                continue
            members = [
                i for i in indices if coarsen(str(self.quantities[i].code), old_grain) == old_code
            ]
            published = [i for i in members if self.quantities[i].mark == PUBLISHED]
            if not members or len(published) < len(members):
                continue
            variables = tuple(v for i in members for v in self.quantities[i].variables)
            total = sum(self.truth[v] for v in variables)
            if 0 < abs(total - old_count) < self.k:
                smallest = min(members, key=lambda i: (self.quantities[i].value, i))
                self.hide(smallest)
                self.targets.append(_Target(variables, total, old_count))

    # -- the audit ------------------------------------------------------------

    def audit(self) -> None:
        """Prove every target protected, withholding complements until it is (rule 5)."""
        self.by_variable: dict[int, list[_Target]] = {}
        for target in self.targets:
            for var in target.variables:
                self.by_variable.setdefault(var, []).append(target)
        # A solution (its changes from the truth) in which a variable moved up
        # (+1) or down (−1): the starting point of small moves (see _lift).
        self.moved: dict[tuple[int, int], dict[int, int]] = {}
        self.complements = 0
        stand_ins = self._stand_ins()
        self.quiet = set(stand_ins)  # proved through their stand-in
        while True:
            model = _Model(self)
            for _ in range(2):  # the second time for what the first left open
                self._bulk(model)
                for target in self.targets:
                    if not target.certified and target not in self.quiet:
                        self._lift(model, target)
            for target in self.targets:
                if target.certified or target in self.quiet:
                    continue
                self._lift(model, target)
                if not target.certified and not self._free(model, target):
                    self.complements += 1
                    if self._complement(target):
                        # The marks changed: later targets are asked again
                        # against the new ones, in bulk where many are open.
                        model = _Model(self)
                        self._bulk(model, crowded=_CROWDED)
                    else:
                        # Nothing short of withholding the populations around
                        # it frees it: withhold them and audit again.
                        self._withhold_around(target)
                        break
            else:
                break
        for target, stand_in in stand_ins.items():
            if not stand_in.certified:  # never: the loop above proves every stand-in
                raise RuntimeError("a stand-in was left unproved")
            target.certified = True

    def _stand_ins(self) -> dict[_Target, _Target]:
        """Targets in empty periods, each with the target that stands in for it.

        WHY this is exact: a month in which no population has any case is, to
        a reader, interchangeable with any other such month placed alike —
        the same marks ("fewer-than-k", zero) in every population, the same
        rows.  Swapping whole empty years, then whole empty quarters of one
        year, then empty months of one quarter maps every solution of the
        system to a solution (published and withheld cells map to cells with
        the same mark), so a solution that frees the stand-in's count, mapped
        back, frees the other's.  Marks of empty periods never change
        afterwards (only published counts are withheld), so the swap stays a
        symmetry while complements are added.  Without this, the 20-odd empty
        years of the period range would each need their own proofs.
        """
        found: dict[_Target, _Target] = {}
        self._by_cells = (
            {t.variables[0]: t for t in self.targets if len(t.variables) == 1 and t.old is None},
            {t.variables: t for t in self.targets if len(t.variables) > 1 and t.old is None},
        )
        names = {
            n
            for pop in self.pops.values()
            for n, t in pop.raw.tables.items()
            if t.dimension == PERIOD
        }
        for name in sorted(names):
            holders = [p for p in self.pops.values() if name in p.cells]
            codes = list(holders[0].raw.tables[name].cells)
            if any(list(p.raw.tables[name].cells) != codes for p in holders):
                continue  # no common months: no swap to rely on
            empty = {
                c
                for c in codes
                if grain_of(c) == MONTH and all(p.raw.tables[name].cells[c] == 0 for p in holders)
            }
            classes = _empty_classes(codes, empty)
            for pop in holders:
                self._map_stand_ins(pop, name, classes, found)
        return found

    def _map_stand_ins(
        self,
        pop: _Population,
        name: str,
        classes: dict[str, str],
        found: dict[_Target, _Target],
    ) -> None:
        single, aggregated = self._by_cells
        for code, stand_in in classes.items():
            target = single.get(pop.cells[name][code])
            chosen = single.get(pop.cells[name][stand_in])
            if target is not None and chosen is not None and target is not chosen:
                found[target] = chosen
        # Coarser cells made only of empty months, each with the first alike.
        groups = {g: members for g, members in pop.groups.get(name, [])}
        firsts: dict[tuple[str, ...], _Target] = {}
        for members in groups.values():
            target = aggregated.get(tuple(pop.cells[name][m] for m in members))
            if target is None or not all(m in classes for m in members):
                continue
            key = tuple(classes[m] for m in members)
            first = firsts.setdefault(key, target)
            if first is not target:
                found[target] = first

    def _certify_with(self, values: Mapping[int, int]) -> int:
        """Mark the targets a solution proves protected; return how many it proved."""
        proved = 0
        changes = {v: x for v, x in values.items() if x != self.truth[v]}
        for var, value in changes.items():
            self.moved.setdefault((var, 1 if value > self.truth[var] else -1), changes)
            for target in self.by_variable.get(var, ()):
                if target.certified:
                    continue
                total = sum(changes.get(v, self.truth[v]) for v in target.variables)
                if target.safe(total, self.k):
                    target.certified = True
                    proved += 1
        return proved

    def _bulk(self, model: _Model, crowded: int = 1) -> None:
        """Prove most targets free at once, table by table (sizes kept as they are), then all.

        Keeping every variable outside a table at its true value only narrows
        the system, so a solution found so is a solution of the whole: a
        proof that stands.  Whatever is not proved here is asked one by one.
        """
        windows = [(window, crowded) for window in model.table_windows()]
        # Then everything at once, sizes too, for what needs a size to move
        # (a population that publishes nothing): when enough is left open.
        windows.append((model.everything(), max(crowded, _CROWDED)))
        for window, least in windows:
            inside = set(window)
            targets = {
                t: t
                for var in window
                for t in self.by_variable.get(var, ())
                if not t.certified and t not in self.quiet and inside.issuperset(t.variables)
            }
            if len(targets) < least:
                continue
            # Variables of targets that stand in for others stay at their truth.
            resting = model.resting()
            program = model.program([v for v in window if v not in resting])
            idle = 0
            for attempt in range(_BULK_ROUNDS):
                objective: dict[int, float] = {}
                for number, target in enumerate(targets.values()):
                    if not target.certified:
                        weight = _direction(target, number, attempt)
                        for var in target.variables:
                            objective[var] = objective.get(var, 0.0) + weight
                if not any(objective.values()):
                    continue
                values = program.solve(objective, rough=True)
                idle = 0 if values is not None and self._certify_with(values) else idle + 1
                if idle == 2:
                    break  # two rounds in a row proved nothing new

    def _lift(self, model: _Model, target: _Target) -> None:
        if target.tried == (len(self.moved), self.complements):
            return  # nothing new to start from since the last try
        target.tried = (len(self.moved), self.complements)
        self._lift_once(model, target)

    def _lift_once(self, model: _Model, target: _Target) -> None:
        """Try small moves from known solutions: one count, or two counts of one sum.

        Each move is checked against every row and bound it touches, on top
        of a solution already proved (or the truth), so a move that passes is
        a solution: no reasoning about the structure is trusted here.
        """
        if len(target.variables) != 1:
            return
        var = target.variables[0]
        if model.fixed[var]:
            return
        if target.old is None:
            wanted = [target.truth + 1, target.truth - 1]
        else:
            wanted = [target.old, target.old + self.k, target.old - self.k]
        for value in wanted:
            if value < 0:
                continue
            direction = 1 if value > target.truth else -1
            # Solutions in which a count of a short row with this one (its
            # parent's cell, a sibling's) moved the same way: the truth
            # cannot take the move, such a solution often can.
            bases: list[dict[int, int]] = [{}]
            for r in model.rows_of(var):
                coefs = model.rows[r].coefs
                if len(coefs) > _SHORT_ROW:
                    continue
                for other in coefs:
                    base = self.moved.get((other, direction)) if other != var else None
                    if base is not None and all(base is not b for b in bases):
                        bases.append(base)
            for base in bases[:_BASES]:
                step = value - base.get(var, self.truth[var])
                for move in model.moves(var, step, base) if step else ():
                    values = dict(base)
                    values.update(move)
                    self._certify_with(values)
                    if target.certified:
                        return

    def _windows(self, model: _Model, target: _Target) -> list[list[int]]:
        """Growing sets of variables to look for a solution in: near ``target`` first.

        For a period count: the months of its year in every population; then
        those and the months its population (and that population's parent)
        withholds something in — where a count can come from or go to; then
        the whole table.  For another cell, its table in every population.
        Sizes stay as they are there (a size moves every table of a
        population); last, everything, sizes too.
        """
        resting = model.resting()
        places = [self.where.get(v) for v in target.variables]
        names = {place[0] for place in places if place is not None}
        whole = [v for v in model.everything() if v not in resting or v in target.variables]
        if None in places or len(names) != 1:
            return [whole]
        name = names.pop()
        owners = {self.owner[v] for v in target.variables}
        pairs = self._pairs(model, self.pops[owners.pop()], target) if len(owners) == 1 else []
        near = {coarsen(place[1], YEAR) for place in places if place is not None}
        months: set[str] = set()
        for key in {self.owner[v] for v in target.variables}:
            pop = self.pops[key]
            for around in (pop, self.pops[pop.raw.partition_of or pop.raw.subset_of or key]):
                for (_, members), index in zip(
                    around.groups.get(name, []), around.quantities.get(name, []), strict=True
                ):
                    quantity = self.quantities[index]
                    if quantity.active and quantity.mark != PUBLISHED and quantity.value:
                        months.update(members)
        windows: list[list[int]] = [[], [], []]
        for pop in self.pops.values():
            for code, var in pop.cells.get(name, {}).items():
                if model.fixed[var] or (var in resting and var not in target.variables):
                    continue
                windows[2].append(var)
                if grain_of(code) == MONTH and coarsen(code, YEAR) in near:
                    windows[0].append(var)
                    windows[1].append(var)
                elif code in months:
                    windows[1].append(var)
        found: list[list[int]] = []
        for window in [*pairs, *windows, whole]:
            if window and (not found or len(window) != len(found[-1])):
                found.append(window)
        return found

    def _pairs(self, model: _Model, pop: _Population, target: _Target) -> list[list[int]]:
        """For a population that publishes nothing: itself and its parent, sizes free.

        A unit's count moves only with a sibling's (their sum is "all"'s
        cell): then itself, the sibling with the most at the target's code,
        and the parent.  Such a population gains or loses whole cases.
        """
        above = pop.raw.partition_of or pop.raw.subset_of
        if pop.mark == PUBLISHED or above is None:
            return []
        resting = model.resting()

        def free(of: _Population) -> list[int]:
            variables = [of.cases, *(v for cells in of.cells.values() for v in cells.values())]
            return [v for v in variables if not model.fixed[v] and v not in resting]

        parent = self.pops[above]
        if pop.raw.subset_of is not None:
            return [free(pop) + free(parent)]
        place = self.where[target.variables[0]]
        if place is None:
            return []
        name, code = place
        siblings = [m for m in self.pops.values() if m.raw.partition_of == above and m is not pop]
        siblings.sort(key=lambda m: -self.truth[m.cells[name][code]] if name in m.cells else 0)
        return [free(pop) + free(sibling) + free(parent) for sibling in siblings[:_SIBLINGS]]

    def _free(self, model: _Model, target: _Target) -> bool:
        """Whether a solution near ``target`` gives it a safe value.

        Only near: one that needs a solution far away is left to
        :meth:`_complement`, which finds it at no cost when there is one.
        """
        for window in self._windows(model, target):
            program = model.program(window)
            # While at it, push up the zeros still open nearby: one solution
            # then proves many.
            zeros = {
                t.variables[0]: -1.0
                for var in window
                for t in self.by_variable.get(var, ())
                if not t.certified
                and t not in self.quiet
                and len(t.variables) == 1
                and t.truth == 0
                and t.old is None
            }
            for lo, hi in target.options(self.k, self.cap * len(target.variables)):
                if lo <= hi:
                    values = program.solve(
                        zeros, _Row(dict.fromkeys(target.variables, 1), lo, hi), rough=True
                    )
                    if values is not None:
                        self._certify_with(values)
                        if target.certified:
                            return True
        return False

    def _complement(self, target: _Target) -> bool:
        """Withhold the cheapest published counts that free ``target``; False if none can.

        Asked near the target first (its year, its table), then in the whole
        system, then with population sizes allowed to move (withholding whole
        populations).  A move that costs nothing means it was free already.
        """
        for movable_sizes in (False, True):
            model = _Model(self, deviations=True, movable_sizes=movable_sizes)
            windows = self._windows(model, target)[:-1] if not movable_sizes else []
            for window in [*windows, model.everything()]:
                best: tuple[float, dict[int, int], list[int]] | None = None
                for lo, hi in target.options(self.k, self.cap * len(target.variables)):
                    if lo > hi:
                        continue
                    found = model.deviation(window, target, lo, hi)
                    if found is not None and (best is None or found[0] < best[0] - _TOLERANCE):
                        best = found
                if best is not None:
                    _, values, moved = best
                    for index in moved:
                        self.hide(index)
                    self._certify_with(values)
                    return target.certified
        return False

    def _withhold_around(self, target: _Target) -> None:
        """Withhold the populations the target belongs to; failing that, every population.

        A last resort (no complement found): with nothing published around
        it, no reader has anything to solve with.  Raises RuntimeError when
        even that changes nothing, rather than publish what was not proved.
        """
        around = set(target.variables)
        before = [pop.mark for pop in self.pops.values()]
        for pop in self.pops.values():
            variables = {pop.cases}.union(*(set(c.values()) for c in pop.cells.values()))
            if around & variables:
                self._hide_population(pop.raw.key)
        if [pop.mark for pop in self.pops.values()] == before:
            for key in self.order:
                self._hide_population(key)
        if [pop.mark for pop in self.pops.values()] == before:
            raise RuntimeError("a count below k could not be protected")

    # -- the result -------------------------------------------------------------

    def payload(self) -> dict[str, dict[str, Any]]:
        """The protected "populations" object, in the input's order."""
        result: dict[str, dict[str, Any]] = {}
        for key in self.order:
            pop = self.pops[key]
            published = pop.mark == PUBLISHED
            tables: dict[str, Any] = {}
            if published:
                for name, indices in pop.quantities.items():
                    cells = []
                    for index in indices:
                        quantity = self.quantities[index]
                        shown = quantity.mark == PUBLISHED
                        cells.append(
                            {
                                "code": quantity.code,
                                "count": quantity.value if shown else None,
                                "mark": quantity.mark,
                            }
                        )
                    tables[name] = {
                        "dimension": pop.raw.tables[name].dimension,
                        "grain": pop.grains.get(name),
                        "cells": cells,
                    }
            result[key] = {
                "kind": pop.kind,
                "code": pop.code,
                "cases": pop.raw.cases if published else None,
                "mark": pop.mark,
                "tables": tables,
            }
        return result


def _shared_tables(parent: _Population, members: Sequence[_Population]) -> Iterator[str]:
    """Tables a parent shares with all its members; their codes must be the same."""
    for name, table in parent.raw.tables.items():
        if all(name in m.raw.tables for m in members):
            for member in members:
                other = member.raw.tables[name]
                if other.dimension != table.dimension or list(other.cells) != list(table.cells):
                    raise ValueError(f"{member.raw.key}/{name}: cells differ from its parent's")
            yield name


# --------------------------------------------------------------------------
# What a reader knows, as integer programs.


class _Model:
    """Bounds and rows a reader can write down, given the current marks.

    With ``deviations``, published counts may move, at a cost (the search
    for complements); population sizes move only when ``movable_sizes``.
    """

    def __init__(self, board: _Board, *, deviations: bool = False, movable_sizes: bool = False):
        self.board = board
        n = len(board.truth)
        lower = [0.0] * n
        upper = [board.cap] * n
        self.rows: list[_Row] = list(board.rows)
        self.movable: list[tuple[int, _Quantity]] = []  # quantities that may move
        k = board.k
        for index, quantity in enumerate(board.quantities):
            if not quantity.active:
                continue
            variables = quantity.variables
            size = quantity.table is None or quantity.link is not None
            if quantity.mark == PUBLISHED:
                if deviations and (not size or movable_sizes):
                    self.movable.append((index, quantity))
                elif len(variables) == 1:
                    lower[variables[0]] = upper[variables[0]] = quantity.value
                else:
                    self.rows.append(
                        _Row(dict.fromkeys(variables, 1), quantity.value, quantity.value)
                    )
            elif len(variables) == 1:
                lo, hi = (0, k - 1) if quantity.mark == FEWER else (k, board.cap)
                lower[variables[0]] = max(lower[variables[0]], lo)
                upper[variables[0]] = min(upper[variables[0]], hi)
            else:
                lo, hi = (0, k - 1) if quantity.mark == FEWER else (k, np.inf)
                self.rows.append(_Row(dict.fromkeys(variables, 1), lo, hi))
        self.lower = np.array(lower)
        self.upper = np.array(upper)
        self.fixed = self.lower == self.upper
        self.programs: dict[tuple[int, ...], _Program] = {}
        self.loose: dict[int, list[int]] = {}  # per row: its variables free to move
        self._resting: set[int] | None = None
        # The board's rows are indexed once (board.rows_of); rows of the
        # marks, added here, are few.
        self.extra_of: dict[int, list[int]] = {}
        self.at_truth = list(board.at_truth)
        for r in range(len(board.rows), len(self.rows)):
            coefs = self.rows[r].coefs
            self.at_truth.append(sum(c * board.truth[v] for v, c in coefs.items()))
            for var in coefs:
                self.extra_of.setdefault(var, []).append(r)

    def rows_of(self, var: int) -> list[int]:
        """The rows ``var`` is in."""
        extra = self.extra_of.get(var)
        return self.board.rows_of[var] + extra if extra else self.board.rows_of[var]

    def activity(self, r: int, values: Mapping[int, int]) -> int:
        """Row ``r``'s left-hand side under ``values`` (others at their truth)."""
        truth = self.board.truth
        coefs = self.rows[r].coefs
        total = self.at_truth[r]
        if len(values) < len(coefs):
            for var, value in values.items():
                coef = coefs.get(var)
                if coef is not None:
                    total += coef * (value - truth[var])
        else:
            for var, coef in coefs.items():
                given = values.get(var)
                if given is not None:
                    total += coef * (given - truth[var])
        return total

    def accepts(self, base: Mapping[int, int], move: Mapping[int, int]) -> bool:
        """Whether ``base`` with ``move`` applied (new values) satisfies every row it touches.

        ``base`` must itself be a solution (the truth, when empty).
        """
        for var, value in move.items():
            if not self.lower[var] <= value <= self.upper[var]:
                return False
        values = dict(base)
        values.update(move)
        touched = {r for var in move for r in self.rows_of(var)}
        for r in touched:
            row = self.rows[r]
            if not row.lo <= self.activity(r, values) <= row.hi:
                return False
        return True

    def moves(self, var: int, step: int, base: Mapping[int, int]) -> Iterator[dict[int, int]]:
        """Small moves that change ``var`` by ``step`` on top of ``base`` and keep every row.

        One count alone; two counts of one sum; four counts around two sums
        (a count of one population and one code, another code of the same
        population, the same code of a sibling, the sibling's other code).
        Only candidates are made here: :meth:`accepts` checks each.
        """
        truth = self.board.truth
        now = base.get(var, truth[var])
        single = {var: now + step}
        if self.accepts(base, single):
            yield single
            return
        sums = [r for r in self.rows_of(var) if self.rows[r].lo == self.rows[r].hi]
        for r in sums:
            for other, value in islice(self._partners(r, var, step, base), _PARTNERS):
                move = {var: now + step, other: value}
                if self.accepts(base, move):
                    yield move
                    return
        if abs(step) != 1:
            return  # longer moves by one only: a larger one is for the solver
        repaired = self._repair(base, {var: now + step})
        if repaired is not None and self.accepts(base, repaired):
            yield repaired
            return
        tried = 0
        for ra in sums:
            ys = list(islice(self._partners(ra, var, step, base), _PARTNERS))
            for rb in sums:
                if ra == rb:
                    continue
                zs = [
                    (z, z_value, z_value - base.get(z, truth[z]), self._other_sums(z, rb))
                    for z, z_value in islice(self._partners(rb, var, step, base), _PARTNERS)
                ]
                for y, y_value in ys:
                    y_change = y_value - base.get(y, truth[y])
                    y_sums = self._other_sums(y, ra)
                    for z, z_value, z_change, z_sums in zs:
                        if z == y:
                            continue
                        for w, w_value in self._closing(
                            y, y_change, y_sums, z, z_change, z_sums, base
                        ):
                            if w in (var, y, z):
                                continue
                            tried += 1
                            move = {var: now + step, y: y_value, z: z_value, w: w_value}
                            if self.accepts(base, move):
                                yield move
                                return
                            if tried >= _CYCLES:
                                return

    def _repair(self, base: Mapping[int, int], move: dict[int, int]) -> dict[int, int] | None:
        """``move`` with a chain of counts that make up for it, row by row, or None.

        Greedy: the first row the move leaves unbalanced is balanced by the
        first count of it that can change by one without breaking a bound or
        an inequality (equalities it unbalances are balanced next).  So a
        population that gains a case gains it in every table, at codes where
        its parent has room.
        """
        truth = self.board.truth
        values = dict(base)
        values.update(move)
        move = dict(move)
        for _ in range(_REPAIRS):
            broken = None
            for r in sorted({r for var in move for r in self.rows_of(var)}):
                row = self.rows[r]
                activity = self.activity(r, values)
                if not row.lo <= activity <= row.hi:
                    broken = r, (row.lo - activity if activity < row.lo else row.hi - activity)
                    break
            if broken is None:
                return move
            r, needed = broken
            if needed not in (-1, 1):
                return None
            coefs = self.rows[r].coefs
            for other in self.loose_in(r):
                if other in move:
                    continue
                value = values.get(other, truth[other]) + int(needed) * coefs[other]  # ±1
                if not self.lower[other] <= value <= self.upper[other]:
                    continue
                values[other] = value
                if all(
                    self.rows[s].lo != self.rows[s].hi
                    and self.rows[s].lo <= self.activity(s, values) <= self.rows[s].hi
                    or self.rows[s].lo == self.rows[s].hi
                    for s in self.rows_of(other)
                    if s != r
                ):
                    move[other] = value
                    break
                del values[other]
                if other in base:
                    values[other] = base[other]
            else:
                return None
        return None

    def loose_in(self, r: int) -> list[int]:
        """The variables of row ``r`` free to move (not fixed, not resting)."""
        movable = self.loose.get(r)
        if movable is None:
            resting = self.resting()
            coefs = self.rows[r].coefs
            movable = self.loose[r] = [v for v in coefs if not self.fixed[v] and v not in resting]
        return movable

    def _other_sums(self, var: int, but: int) -> list[dict[int, int]]:
        """The coefficients of the sums ``var`` is in, other than row ``but``."""
        rows = self.rows
        return [rows[r].coefs for r in self.rows_of(var) if r != but and rows[r].lo == rows[r].hi]

    def _partners(
        self, r: int, var: int, step: int, base: Mapping[int, int]
    ) -> Iterator[tuple[int, int]]:
        """Counts of sum ``r`` that can make up for ``var`` moving by ``step``: (count, value)."""
        truth = self.board.truth
        coefs = self.rows[r].coefs
        for other in self.loose_in(r):
            if other == var:
                continue
            value = base.get(other, truth[other]) - step * coefs[var] * coefs[other]  # ±1
            if self.lower[other] <= value <= self.upper[other]:
                yield other, value

    def _closing(
        self,
        y: int,
        y_change: int,
        y_sums: list[dict[int, int]],
        z: int,
        z_change: int,
        z_sums: list[dict[int, int]],
        base: Mapping[int, int],
    ) -> Iterator[tuple[int, int]]:
        """A fourth count in a sum with ``y`` and in a sum with ``z`` that balances both."""
        truth = self.board.truth
        for cy in y_sums:
            for cz in z_sums:
                small, large = (cy, cz) if len(cy) <= len(cz) else (cz, cy)
                for w in small:
                    if w not in large or self.fixed[w]:
                        continue
                    change = -cy[y] * y_change * cy[w]
                    if -cz[z] * z_change * cz[w] != change:
                        continue
                    value = base.get(w, truth[w]) + change
                    if self.lower[w] <= value <= self.upper[w]:
                        yield w, value

    def everything(self) -> list[int]:
        """Every variable free to move."""
        return [v for v in range(len(self.fixed)) if not self.fixed[v]]

    def table_windows(self) -> list[list[int]]:
        """Per table name, the free variables of that table in every population."""
        windows: dict[str, list[int]] = {}
        for pop in self.board.pops.values():
            for name, cells in pop.cells.items():
                windows.setdefault(name, []).extend(v for v in cells.values() if not self.fixed[v])
        return [sorted(set(w)) for w in windows.values() if w]

    def program(self, part: list[int]) -> _Program:
        """The integer program of one part (every other variable at its true value)."""
        key = tuple(part)
        program = self.programs.get(key)
        if program is None:
            program = self.programs[key] = _Program(self, part, [])
        return program

    def resting(self) -> set[int]:
        """Variables of the targets proved through a stand-in: kept at their truth."""
        if self._resting is None:
            self._resting = {v for t in self.board.quiet for v in t.variables}
        return self._resting

    def deviation(
        self, part: list[int], target: _Target, lo: float, hi: float
    ) -> tuple[float, dict[int, int], list[int]] | None:
        """The cheapest move of published counts that puts ``target`` in [lo, hi].

        Returns (cost, the solution, the indices of the quantities that moved).
        """
        inside = set(part)
        movable = [m for m, (_, q) in enumerate(self.movable) if inside.intersection(q.variables)]
        program = _Program(self, part, movable)
        values = program.solve(None, extra=_Row(dict.fromkeys(target.variables, 1), lo, hi))
        if values is None:
            return None
        moved, cost = [], 0.0
        for index, quantity in program.moves:
            now = sum(values.get(v, self.board.truth[v]) for v in quantity.variables)
            if now != quantity.value:
                moved.append(index)
                cost += _cost(quantity) * abs(now - quantity.value)
        return cost, values, moved


class _Program:
    """One integer program over a part of the model, solved with HiGHS (scipy.optimize.milp).

    Columns: the part's variables (integers), then, for each movable
    quantity, how far it moves up and down.  Every variable outside the part
    stays at its true value (a solution is a solution of the whole system).
    """

    def __init__(self, model: _Model, part: list[int], movable: list[int]) -> None:
        board = model.board
        self.board = board
        self.part = part
        column = {var: i for i, var in enumerate(part)}
        lower = [float(model.lower[v]) for v in part]
        upper = [float(model.upper[v]) for v in part]
        data: list[float] = []
        indices: list[int] = []
        indptr = [0]
        row_lo: list[float] = []
        row_hi: list[float] = []

        def add(
            coefs: Mapping[int, float], lo: float, hi: float, more: Sequence[tuple[int, float]]
        ) -> None:
            constant = 0.0
            for var, coef in coefs.items():
                at = column.get(var)
                if at is None:
                    constant += coef * board.truth[var]
                else:
                    indices.append(at)
                    data.append(coef)
            for at, coef in more:
                indices.append(at)
                data.append(coef)
            indptr.append(len(indices))
            row_lo.append(lo - constant)
            row_hi.append(hi - constant)

        for r in sorted({r for v in part for r in model.rows_of(v)}):
            row = model.rows[r]
            add(row.coefs, row.lo, row.hi, ())
        costs: list[float] = [0.0] * len(part)
        self.moves: list[tuple[int, _Quantity]] = []
        for m in movable:
            index, quantity = model.movable[m]
            up, down = len(lower), len(lower) + 1
            # Its sum = value + up − down, and it stays ≥ k (down ≤ value − k).
            add(
                dict.fromkeys(quantity.variables, 1.0),
                quantity.value,
                quantity.value,
                ((up, -1.0), (down, 1.0)),
            )
            lower += [0.0, 0.0]
            upper += [board.cap * len(quantity.variables), float(quantity.value - board.k)]
            costs += [_cost(quantity)] * 2
            self.moves.append((index, quantity))
        self.column = column
        self.costs = np.array(costs)
        self.bounds = Bounds(np.array(lower), np.array(upper))
        self.integrality = np.zeros(len(lower))
        self.integrality[: len(part)] = 1
        self.matrix = csr_array(
            (
                np.array(data, dtype=float),
                np.array(indices, dtype=np.int64),
                np.array(indptr, dtype=np.int64),
            ),
            shape=(len(row_lo), len(lower)),
        )
        self.row_lo = np.array(row_lo)
        self.row_hi = np.array(row_hi)

    def solve(
        self,
        objective: Mapping[int, float] | None,
        extra: _Row | None = None,
        *,
        rough: bool = False,
    ) -> dict[int, int] | None:
        """An integer solution (values of the part's variables) or None when there is none.

        ``objective`` maps variables to costs to minimise; None: the cost of
        moving published counts.
        """
        if objective is None:
            costs = self.costs
        else:
            costs = np.zeros(len(self.costs))
            for var, coef in objective.items():
                at = self.column.get(var)
                if at is not None:
                    costs[at] += coef
        constraints = [LinearConstraint(self.matrix, self.row_lo, self.row_hi)]
        if extra is not None:
            row = np.zeros((1, len(self.costs)))
            constant = 0.0
            for var, coef in extra.coefs.items():
                at = self.column.get(var)
                if at is None:
                    constant += coef * self.board.truth[var]
                else:
                    row[0, at] += coef
            constraints.append(LinearConstraint(row, extra.lo - constant, extra.hi - constant))
        if self.matrix.shape[0] == 0 and extra is None and not len(self.costs):
            return {}
        # The linear relaxation first: it is faster, and its solutions here are
        # mostly whole numbers already.  One that is not is asked again as an
        # integer program; a relaxation with no solution means none at all.
        found = None
        for integrality in (np.zeros_like(self.integrality), self.integrality):
            result = milp(
                costs,
                integrality=integrality,
                bounds=self.bounds,
                constraints=constraints,
                options={
                    "presolve": True,
                    # A rough solve (proofs in bulk) takes any good solution: every
                    # solution is a proof, the best one only proves a few more.
                    "mip_rel_gap": _ROUGH_GAP if rough else 0.0,
                    "time_limit": _ROUGH_TIME if rough else _TIME_LIMIT,
                },
            )
            if result.x is None or result.status not in (0, 1):
                return None
            found = result.x[: len(self.part)]
            if np.all(np.abs(found - np.rint(found)) <= _TOLERANCE):
                break
        else:
            if found is None or np.any(np.abs(found - np.rint(found)) > _TOLERANCE):
                return None
        values = np.rint(found).astype(np.int64)
        return {var: int(values[i]) for i, var in enumerate(self.part)}


def _cost(quantity: _Quantity) -> float:
    """What withholding ``quantity`` costs per unit it moves: small counts go first."""
    if quantity.table is None and quantity.population == ALL:
        return _ALL_COST * max(quantity.value, 1)
    if quantity.table is None or quantity.link is not None:
        return _POPULATION_COST * max(quantity.value, 1)
    return float(quantity.value)
