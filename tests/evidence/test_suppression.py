"""The protection engine on small tables worked out by hand.

Each example is small enough to check by brute force: every assignment of
the withheld counts that agrees with what is published is listed, and no
count below k may have only one possible value.  The random registries are
in test_suppression_properties.py.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from registry.evidence.raw import RawPopulation, RawTable
from registry.evidence.suppression import (
    choose_grain,
    coarsen,
    period_groups,
    protect,
)

MONTHS_2023 = [f"2023-{m:02d}" for m in range(1, 13)]


def table(dimension: str, cells: dict[str, int], *, single: bool = True) -> RawTable:
    """A raw table; codes in the order given."""
    return RawTable(dimension=dimension, single_valued=single, cells=cells)


def marks(population: dict[str, Any], name: str) -> list[tuple[str, int | None, str]]:
    """(code, count, mark) of every cell of table ``name``."""
    return [(c["code"], c["count"], c["mark"]) for c in population["tables"][name]["cells"]]


def possible(ranges: Sequence[range], keep: Callable[[tuple[int, ...]], bool]) -> list[set[int]]:
    """Brute force: the values each unknown takes over every assignment ``keep`` accepts."""
    seen: list[set[int]] = [set() for _ in ranges]
    for values in itertools.product(*ranges):
        if keep(values):
            for i, value in enumerate(values):
                seen[i].add(value)
    return seen


def bounds(mark: str, k: int, cases: int) -> range:
    """What a reader knows of a withheld count from its mark."""
    return range(k) if mark == "fewer-than-k" else range(k, cases + 1)


def one_table_is_safe(population: dict[str, Any], name: str, k: int) -> None:
    """No withheld count below k of a single-valued table has one possible value."""
    cells = population["tables"][name]["cells"]
    cases = population["cases"]
    published = sum(c["count"] for c in cells if c["mark"] == "")
    withheld = [c for c in cells if c["mark"] != ""]
    seen = possible(
        [bounds(c["mark"], k, cases) for c in withheld],
        lambda values: sum(values) + published == cases,
    )
    for cell, values in zip(withheld, seen, strict=True):
        if cell["mark"] == "fewer-than-k":
            assert len(values) > 1, (cell["code"], values)


def test_a_population_below_k_publishes_nothing() -> None:
    """Fewer than k cases: no size, no table, marked fewer-than-k."""
    raw = RawPopulation("all", 3, {"region": table("region", {"brest": 3, "gomel": 0})})
    assert protect([raw], 5) == {
        "all": {"kind": "all", "code": None, "cases": None, "mark": "fewer-than-k", "tables": {}}
    }


def test_one_withheld_cell_in_a_row_gets_a_complement() -> None:
    """A count below k alone in a table would be its size minus the rest: the smallest is hidden."""
    raw = RawPopulation(
        "all", 30, {"region": table("region", {"brest": 12, "minsk-city": 15, "abroad": 3})}
    )
    result = protect([raw], 5)["all"]
    assert result["cases"] == 30
    assert result["mark"] == ""
    assert marks(result, "region") == [
        ("brest", None, "hidden"),
        ("minsk-city", 15, ""),
        ("abroad", None, "fewer-than-k"),
    ]
    one_table_is_safe(result, "region", 5)


def test_zeros_are_withheld_and_protected_too() -> None:
    """Zeros are below k; with every case in one cell, that cell is hidden as well."""
    raw = RawPopulation(
        "all", 20, {"region": table("region", {"brest": 20, "minsk-city": 0, "abroad": 0})}
    )
    result = protect([raw], 5)["all"]
    assert marks(result, "region") == [
        ("brest", None, "hidden"),
        ("minsk-city", None, "fewer-than-k"),
        ("abroad", None, "fewer-than-k"),
    ]
    one_table_is_safe(result, "region", 5)


def test_quarters_are_published_when_every_month_would_be_withheld() -> None:
    """Months of 2, 2, 2, 1, 1, 1 (k = 3) publish nothing; quarters of 6 and 3 publish two."""
    months = dict.fromkeys(MONTHS_2023, 0) | {"unknown": 0}
    months.update({"2023-01": 2, "2023-02": 2, "2023-03": 2})
    months.update({"2023-04": 1, "2023-05": 1, "2023-06": 1})
    raw = RawPopulation("all", 9, {"period": table("period", months)})
    result = protect([raw], 3)["all"]
    period = result["tables"]["period"]
    assert period["grain"] == "quarter"
    assert [c["code"] for c in period["cells"]] == [
        "2023-Q1",
        "2023-Q2",
        "2023-Q3",
        "2023-Q4",
        "unknown",
    ]
    # Q2 = 3 stays; the withheld zeros would add up to 0 beside a published
    # Q1, so Q1 is hidden (it is above k, so they can be more than 0).
    assert marks(result, "period") == [
        ("2023-Q1", None, "hidden"),
        ("2023-Q2", 3, ""),
        ("2023-Q3", None, "fewer-than-k"),
        ("2023-Q4", None, "fewer-than-k"),
        ("unknown", None, "fewer-than-k"),
    ]
    one_table_is_safe(result, "period", 3)


def test_grains() -> None:
    """Coarsening codes, and the grain that publishes most (ties to the finer)."""
    assert coarsen("2021-08", "quarter") == "2021-Q3"
    assert coarsen("2021-08", "year") == "2021"
    assert coarsen("2021-Q3", "year") == "2021"
    assert coarsen("unknown", "year") == "unknown"
    assert period_groups(["2021-11", "2021-12", "2022-01", "unknown"], "year") == [
        ("2021", ["2021-11", "2021-12"]),
        ("2022", ["2022-01"]),
        ("unknown", ["unknown"]),
    ]
    # Months 5, 5: two cells; the quarter of 10 would be one.
    assert choose_grain({"2021-01": 5, "2021-02": 5, "2021-03": 0}, 5) == "month"
    # One month of 5 against one quarter of 6: the same count, the finer grain.
    assert choose_grain({"2021-01": 5, "2021-02": 1, "2021-03": 0}, 5) == "month"
    # Months of 3 each: none; quarters of 9: two; a year of 18: one.
    months = dict.fromkeys(MONTHS_2023[:6], 3) | dict.fromkeys(MONTHS_2023[6:], 0)
    assert choose_grain(months, 5) == "quarter"
    # Quarters of 4 each: none; the year of 16: one.
    spread = dict.fromkeys(MONTHS_2023, 0) | {m: 4 for m in ("2023-01", "2023-04", "2023-07")}
    assert choose_grain(spread | {"2023-10": 4}, 5) == "year"


def units_of_two() -> list[RawPopulation]:
    """ "all" (20 cases) and two units of 10 each, their regions crossing."""
    return [
        RawPopulation(
            "all",
            20,
            {
                "region": table("region", {"brest": 10, "minsk-city": 10}),
                "unit": table("unit", {"omon": 10, "kgb": 10}),
            },
        ),
        RawPopulation(
            "unit:omon",
            10,
            {"region": table("region", {"brest": 7, "minsk-city": 3})},
            partition_of="all",
        ),
        RawPopulation(
            "unit:kgb",
            10,
            {"region": table("region", {"brest": 3, "minsk-city": 7})},
            partition_of="all",
        ),
    ]


def test_units_add_up_to_all_and_still_hide_their_small_cells() -> None:
    """Units partition "all": a reader combines rows and columns; nothing below k is pinned."""
    result = protect(units_of_two(), 5)
    assert marks(result["all"], "region") == [("brest", 10, ""), ("minsk-city", 10, "")]
    assert marks(result["all"], "unit") == [("omon", 10, ""), ("kgb", 10, "")]
    omon, kgb = marks(result["unit:omon"], "region"), marks(result["unit:kgb"], "region")
    assert [m for _, _, m in omon] == ["hidden", "fewer-than-k"]
    assert [m for _, _, m in kgb] == ["fewer-than-k", "hidden"]
    # Brute force over the four unit cells, with every row and column sum.
    seen = possible(
        [range(5, 11), range(5), range(5), range(5, 11)],
        lambda v: v[0] + v[1] == 10 and v[2] + v[3] == 10 and v[0] + v[2] == 10,
    )
    assert seen[1] == seen[2] == {0, 1, 2, 3, 4}


def test_a_small_change_since_the_previous_snapshot_is_hidden() -> None:
    """Brest moved from 10 to 12 (k = 5): hidden now, and its old value stays possible."""
    before = protect(
        [RawPopulation("all", 30, {"region": table("region", {"brest": 10, "minsk-city": 20})})],
        5,
    )
    assert marks(before["all"], "region") == [("brest", 10, ""), ("minsk-city", 20, "")]
    now = RawPopulation("all", 37, {"region": table("region", {"brest": 12, "minsk-city": 25})})
    result = protect([now], 5, before)["all"]
    # Minsk moved by 5: published.  Brest moved by 2: hidden, and with it
    # Minsk too, or the sum would give Brest away.
    assert marks(result, "region") == [("brest", None, "hidden"), ("minsk-city", None, "hidden")]
    seen = possible([range(5, 38), range(5, 38)], lambda v: sum(v) == 37)
    assert 10 in seen[0]


def test_a_population_whose_size_moved_a_little_is_withheld_whole() -> None:
    """A unit of 10 that became 12: its size, its tables and its cell in "all" are withheld."""
    first = units_of_two()
    before = protect(first, 5)
    grown = [
        RawPopulation(
            "all",
            27,
            {
                "region": table("region", {"brest": 12, "minsk-city": 15}),
                "unit": table("unit", {"omon": 12, "kgb": 15}),
            },
        ),
        RawPopulation(
            "unit:omon",
            12,
            {"region": table("region", {"brest": 9, "minsk-city": 3})},
            partition_of="all",
        ),
        RawPopulation(
            "unit:kgb",
            15,
            {"region": table("region", {"brest": 3, "minsk-city": 12})},
            partition_of="all",
        ),
    ]
    result = protect(grown, 5, before)
    assert result["unit:omon"] == {
        "kind": "unit",
        "code": "omon",
        "cases": None,
        "mark": "hidden",
        "tables": {},
    }
    assert ("omon", None, "hidden") in marks(result["all"], "unit")
    # Otherwise "all" minus kgb would give omon's size: kgb is withheld too.
    assert result["unit:kgb"]["cases"] is None


def test_a_change_across_grains_is_compared_too() -> None:
    """The previous snapshot had Q1 = 15; now its months add up to 17: not all published."""
    before = {
        "all": {
            "kind": "all",
            "code": None,
            "cases": 15,
            "mark": "",
            "tables": {
                "period": {
                    "dimension": "period",
                    "grain": "quarter",
                    "cells": [
                        {"code": "2023-Q1", "count": 15, "mark": ""},
                        {"code": "2023-Q2", "count": None, "mark": "fewer-than-k"},
                        {"code": "2023-Q3", "count": None, "mark": "fewer-than-k"},
                        {"code": "2023-Q4", "count": None, "mark": "fewer-than-k"},
                        {"code": "unknown", "count": None, "mark": "fewer-than-k"},
                    ],
                }
            },
        }
    }
    months = dict.fromkeys(MONTHS_2023, 0) | {"unknown": 0}
    months.update({"2023-01": 6, "2023-02": 6, "2023-03": 5})
    result = protect([RawPopulation("all", 17, {"period": table("period", months)})], 5, before)
    period = result["all"]["tables"]["period"]
    assert period["grain"] == "month"
    quarter = [c for c in period["cells"] if c["code"] in ("2023-01", "2023-02", "2023-03")]
    assert any(c["mark"] != "" for c in quarter)
    # Whatever is withheld, Q1 = 15 must stay possible: the months withheld
    # in Q1 and the zeros elsewhere add up to 17 minus what is published.
    shown = sum(c["count"] for c in quarter if c["mark"] == "")
    hidden = sum(1 for c in quarter if c["mark"] == "hidden")
    assert shown + 5 * hidden <= 15


def test_the_same_input_gives_the_same_output() -> None:
    """Deterministic, and plain JSON."""
    first = protect(units_of_two(), 5)
    assert json.dumps(first) == json.dumps(protect(units_of_two(), 5))
    assert json.loads(json.dumps(first)) == first


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            [RawPopulation("all", 5, {"region": table("region", {"brest": 4, "gomel": 0})})],
            "sum",
        ),
        (
            [
                RawPopulation("all", 5, {"region": table("region", {"brest": 5})}),
                RawPopulation(
                    "unit:omon", 4, {"region": table("region", {"brest": 4})}, partition_of="all"
                ),
            ],
            "add up",
        ),
        ([RawPopulation("all", -1, {})], "non-negative"),
        ([RawPopulation("unit", 1, {})], "kind:code"),
    ],
)
def test_counts_that_contradict_themselves_are_refused(
    raw: list[RawPopulation], message: str
) -> None:
    """Wrong figures stop publication instead of being protected as if right."""
    with pytest.raises(ValueError, match=message):
        protect(raw, 5)


def test_k_below_one_is_refused() -> None:
    """k of 0 would publish everything."""
    with pytest.raises(ValueError, match="k must"):
        protect([], 0)


def test_a_small_change_since_any_earlier_snapshot_is_hidden() -> None:
    """Brest 10, then 12 (hidden), then 13: 13 − 10 is small, so Brest stays hidden.

    Every snapshot stays downloadable, so a reader sets the third against
    the first as easily as against the second.
    """

    def brest_and_minsk(brest: int, minsk: int) -> list[RawPopulation]:
        cells = {"brest": brest, "minsk-city": minsk}
        return [RawPopulation("all", brest + minsk, {"region": table("region", cells)})]

    first = protect(brest_and_minsk(10, 20), 5)
    second = protect(brest_and_minsk(12, 25), 5, [first])
    assert marks(second["all"], "region")[0] == ("brest", None, "hidden")
    third = protect(brest_and_minsk(13, 30), 5, [second, first])
    assert marks(third["all"], "region")[0] == ("brest", None, "hidden")
    # Against the first alone (the old way) Brest would have been published.
    assert marks(protect(brest_and_minsk(13, 30), 5, [second])["all"], "region")[0] == (
        "brest",
        13,
        "",
    )
    # Far enough from every earlier value, it is published again.
    fourth = protect(brest_and_minsk(17, 35), 5, [third, second, first])
    assert marks(fourth["all"], "region")[0] == ("brest", 17, "")
