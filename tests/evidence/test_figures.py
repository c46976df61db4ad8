"""Raw figures: verified cases only, every code a cell, units partition, a few GROUP BYs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import Session

from registry import db
from registry.evidence import figures
from registry.evidence.raw import RawPopulation
from registry.followup.service import withdraw
from registry.reforms.service import catalogue
from registry.taxonomy.service import terms
from tests.evidence.plain import add_case

TODAY = date(2026, 12, 3)
P1, P2 = "torture-criminalise", "custody-safeguards"


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """The app's database session, inside an app context."""
    with app.app_context():
        yield db.session()


def _by_key(session: Session) -> dict[str, RawPopulation]:
    return {population.key: population for population in figures.build(session, today=TODAY)}


def _codes(session: Session, kind: str) -> list[str]:
    return [term.code for term in terms(session, kind)]


def test_only_verified_and_substantiated_cases_count(session: Session) -> None:
    add_case(session, status="verified", region="brest")
    add_case(session, status="closed", disposition="substantiated", region="gomel")
    for status in ("new", "in-review", "needs-info"):
        add_case(session, status=status, region="grodno")
    for disposition in ("not-substantiated", "unfounded", "duplicate", None):
        add_case(session, status="closed", disposition=disposition, region="grodno")
    everything = _by_key(session)["all"]
    assert everything.cases == 2
    regions = everything.tables["region"].cells
    assert (regions["brest"], regions["gomel"], regions["grodno"]) == (1, 1, 0)


def test_withdrawn_cases_are_gone(session: Session) -> None:
    kept = add_case(session, proposals={P1: "strong"})
    gone = add_case(session, proposals={P1: "illustrates"}, unit="kgb")
    assert _by_key(session)["all"].cases == 2
    withdraw(session, gone)
    session.flush()
    found = _by_key(session)
    assert found["all"].cases == 1
    assert found[f"proposal:{P1}"].cases == 1
    assert found[f"proposal:{P1}"].tables["strength"].cells == {"strong": 1, "illustrates": 0}
    assert found["unit:kgb"].cases == 0
    assert kept.id != gone.id


def test_every_code_is_a_cell_in_display_order(session: Session) -> None:
    found = _by_key(session)  # an empty registry: the same cells as a full one
    proposals = [p.code for b in catalogue(session) for t in b.themes for p in t.proposals]
    units = _codes(session, "units")
    assert list(found) == [
        "all",
        *(f"proposal:{code}" for code in figures.cells(session, TODAY).proposal),
        *(f"unit:{code}" for code in units),
    ]
    # Active proposals keep the catalogue's order (retired ones keep their place too).
    assert [c for c in figures.cells(session, TODAY).proposal if c in proposals] == proposals
    everything = found["all"]
    assert list(everything.tables) == ["region", "violation", "place", "unit", "period", "proposal"]
    assert list(everything.tables["region"].cells) == _codes(session, "regions")
    assert list(everything.tables["violation"].cells) == _codes(session, "violation_types")
    assert list(everything.tables["place"].cells) == [*_codes(session, "places"), "unknown"]
    # The units vocabulary has its own "unknown": no second one.
    assert list(everything.tables["unit"].cells) == units
    assert "unknown" in units
    periods = list(everything.tables["period"].cells)
    assert periods[0] == "2000-01"
    assert periods[-2:] == ["2026-12", "unknown"]
    assert len(periods) == 27 * 12 + 1
    assert set(everything.tables["proposal"].cells) == set(figures.cells(session, TODAY).proposal)
    proposal = found[f"proposal:{P1}"]
    assert list(proposal.tables) == ["region", "violation", "place", "unit", "period", "strength"]
    assert list(proposal.tables["strength"].cells) == ["strong", "illustrates"]
    assert proposal.subset_of == "all"
    assert proposal.partition_of is None
    unit = found["unit:omon"]
    assert list(unit.tables) == ["region", "violation", "place", "period"]
    assert unit.partition_of == "all"
    assert unit.subset_of is None
    for population in found.values():
        assert population.cases == 0
        for table in population.tables.values():
            assert set(table.cells.values()) == {0}
            assert table.single_valued == (table.dimension not in ("violation", "proposal"))
            assert table.dimension in population.tables


def test_counts_per_dimension(session: Session) -> None:
    add_case(
        session,
        region="brest",
        place=None,
        unit=None,
        month=None,
        violations=("torture", "threats"),
        proposals={P1: "strong", P2: "illustrates"},
    )
    add_case(session, region="brest", place="court", unit="unknown", month="1999-05")
    add_case(session, status="closed", disposition="substantiated", month="2020-09", violations=())
    found = _by_key(session)
    everything = found["all"]
    assert everything.cases == 3
    cells = {name: table.cells for name, table in everything.tables.items()}
    assert (cells["region"]["brest"], cells["region"]["minsk-city"]) == (2, 1)
    places = cells["place"]
    assert (places["unknown"], places["court"], places["street"]) == (1, 1, 1)
    # No unit and the vocabulary's "unknown" are one cell.
    assert (cells["unit"]["unknown"], cells["unit"]["omon"]) == (2, 1)
    # No month, and a month before the first period cell, are unknown.
    assert (cells["period"]["unknown"], cells["period"]["2020-09"]) == (2, 1)
    assert (cells["violation"]["torture"], cells["violation"]["threats"]) == (2, 1)
    assert (cells["proposal"][P1], cells["proposal"][P2]) == (1, 1)
    first = found[f"proposal:{P1}"]
    assert first.cases == 1
    assert first.tables["strength"].cells == {"strong": 1, "illustrates": 0}
    assert first.tables["unit"].cells["unknown"] == 1
    assert first.tables["violation"].cells["threats"] == 1
    assert found[f"proposal:{P2}"].tables["strength"].cells == {"strong": 0, "illustrates": 1}
    assert found["unit:unknown"].cases == 2
    assert found["unit:unknown"].tables["place"].cells["court"] == 1


def test_units_partition_all_and_proposals_are_subsets(session: Session) -> None:
    units = _codes(session, "units")
    regions = _codes(session, "regions")
    for n in range(30):
        add_case(
            session,
            region=regions[n % len(regions)],
            unit=None if n % 7 == 0 else units[n % len(units)],
            place=None if n % 5 == 0 else "vehicle",
            month=None if n % 4 == 0 else f"20{20 + n % 6}-{1 + n % 12:02d}",
            violations=("torture", "coercion")[: n % 3],
            proposals={P1: "strong"} if n % 2 else {P2: "illustrates", P1: "illustrates"},
        )
    found = _by_key(session)
    everything = found["all"]
    unit_populations = [p for key, p in found.items() if key.startswith("unit:")]
    assert sum(p.cases for p in unit_populations) == everything.cases == 30
    for name in ("region", "violation", "place", "period"):
        for code, count in everything.tables[name].cells.items():
            assert sum(p.tables[name].cells[code] for p in unit_populations) == count
    for key, population in found.items():
        if key.startswith("proposal:"):
            for name, table in population.tables.items():
                if name != "strength":
                    assert all(
                        count <= everything.tables[name].cells[code]
                        for code, count in table.cells.items()
                    )
            for name, table in population.tables.items():
                if table.single_valued:
                    assert sum(table.cells.values()) == population.cases, (key, name)
    assert found[f"proposal:{P1}"].cases == everything.tables["proposal"].cells[P1] == 30


def test_a_code_in_no_vocabulary_stops_the_build(session: Session) -> None:
    add_case(session, place="nowhere")
    with pytest.raises(ValueError, match="place code 'nowhere'"):
        figures.build(session, today=TODAY)


def test_the_build_is_a_few_grouped_queries_whatever_the_data(session: Session) -> None:
    """Counted in the database: the number of statements does not grow with the cases."""

    def statements() -> int:
        seen: list[str] = []

        def count(*args: object) -> None:
            seen.append(str(args[2]))

        engine = session.get_bind()
        event.listen(engine, "before_cursor_execute", count)
        try:
            figures.build(session, today=TODAY)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    figures.build(session, today=TODAY)  # fills the vocabularies' cache, kept per worker
    few = statements()
    for n in range(40):
        add_case(session, unit=("omon", "kgb", None)[n % 3], proposals={P1: "strong"})
    assert statements() == few <= 20


def test_months_cover_fixed_years() -> None:
    assert figures.months(date(2001, 3, 1)) == tuple(
        f"{year}-{month:02d}" for year in (2000, 2001) for month in range(1, 13)
    )
