"""What the public evidence pages and downloads show, read from a stored snapshot.

Nothing is counted here.  Every number comes from a published cell of a
snapshot's payload, which the protection engine wrote
(:mod:`registry.evidence.suppression`); this module only reads the payload
back, checks it once more and adds the words: titles from the reform
catalogue and the vocabularies, in one language.  Pages and downloads never
aggregate live data: a watcher comparing live figures could tie a change to
an arrest they know of.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from babel.dates import format_date
from sqlalchemy import event, select
from sqlalchemy.orm import Mapper, Session, object_session

from registry.models import (
    EvidenceSnapshot,
    ReformBlock,
    ReformProposal,
    ReformTheme,
    SnapshotSummary,
)
from registry.taxonomy.service import terms

FORMAT = "sviedka-evidence-v1"
FEWER = "fewer-than-k"
HIDDEN = "hidden"
MARKS = frozenset({"", FEWER, HIDDEN})
UNKNOWN = "unknown"
STRENGTHS = ("strong", "illustrates")

# Where a dimension's codes get their titles.
VOCABULARIES = {
    "region": "regions",
    "violation": "violation_types",
    "place": "places",
    "unit": "units",
}
# The order tables are shown and downloaded in, whatever the payload's order.
TABLE_ORDER = ("proposal", "strength", "violation", "region", "period", "place", "unit")
# Names of tables and populations appear in download addresses and file
# names: only these characters, so no name can make a path or a header.
NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,40}")
GRAINS = frozenset({"month", "quarter", "year"})
PERIOD = re.compile(r"\d{4}(-\d{2}|-Q[1-4])?")


class BadPayload(ValueError):
    """A stored payload that is not in the format these pages read."""


@dataclass(frozen=True)
class Cell:
    """One published cell: ``count`` (None when not published) and its mark."""

    code: str
    count: int | None
    mark: str


@dataclass(frozen=True)
class Table:
    """One table of a population, cells in display order."""

    name: str
    dimension: str
    grain: str | None
    cells: tuple[Cell, ...]

    def cell(self, code: str) -> Cell | None:
        """The cell for ``code``, or None."""
        return next((cell for cell in self.cells if cell.code == code), None)

    @property
    def marks(self) -> frozenset[str]:
        """The marks of the cells that are not published ("fewer-than-k", "hidden")."""
        return frozenset(cell.mark for cell in self.cells if cell.mark)


@dataclass(frozen=True)
class Population:
    """All verified cases, those supporting one proposal, or those of one kind of unit."""

    key: str
    kind: str
    code: str | None
    cases: int | None
    tables: dict[str, Table]
    mark: str = ""
    """Why ``cases`` is None: "fewer-than-k", or "hidden" (withheld whatever its size)."""

    def table(self, name: str) -> Table | None:
        """The table ``name``, or None when the population has none."""
        return self.tables.get(name)


@dataclass(frozen=True)
class Snapshot:
    """A snapshot's published figures, checked."""

    number: int
    published_on: date
    k: int
    populations: dict[str, Population]

    def population(self, key: str) -> Population | None:
        """The population ``key`` ("all", "proposal:<code>", "unit:<code>"), or None."""
        return self.populations.get(key)


def _count(value: Any, mark: str, k: int) -> tuple[int | None, str]:
    """A cell's count and mark as they may be shown.

    WHY check again what the engine guarantees: this is the last step before
    a number leaves the server.  A count below k, or a count next to a mark,
    is shown as not published rather than as it is, whatever wrote it.
    """
    if mark not in MARKS:
        raise BadPayload("mark")
    if mark:
        return None, mark
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadPayload("count")
    if value < k:
        return None, FEWER
    return value, ""


def _table(name: str, raw: Mapping[str, Any], k: int) -> Table:
    dimension = raw.get("dimension")
    grain = raw.get("grain")
    if not isinstance(dimension, str) or not NAME.fullmatch(dimension):
        raise BadPayload("dimension")
    if grain is not None and grain not in GRAINS:
        raise BadPayload("grain")
    cells = []
    for item in raw.get("cells", []):
        code = item.get("code")
        if not isinstance(code, str) or not (NAME.fullmatch(code) or PERIOD.fullmatch(code)):
            raise BadPayload("code")
        count, mark = _count(item.get("count"), item.get("mark", ""), k)
        cells.append(Cell(code, count, mark))
    return Table(name, dimension, grain, tuple(cells))


def _population(key: str, raw: Mapping[str, Any], k: int) -> Population:
    kind, code = raw.get("kind"), raw.get("code")
    if kind not in {"all", "proposal", "unit"}:
        raise BadPayload("kind")
    if code is not None and not (isinstance(code, str) and NAME.fullmatch(code)):
        raise BadPayload("population code")
    cases = raw.get("cases")
    if cases is not None and (isinstance(cases, bool) or not isinstance(cases, int)):
        raise BadPayload("cases")
    mark = raw.get("mark", "")
    if mark not in MARKS:
        raise BadPayload("population mark")
    if mark == HIDDEN:
        # Withheld whole (its size moved by 1 … k−1 since the last snapshot,
        # or only its size could hide a count): nothing about it, not even "< k".
        return Population(key, kind, code, None, {}, HIDDEN)
    if cases is None or cases < k:
        # A population below k publishes nothing but that it is below k.
        return Population(key, kind, code, None, {}, FEWER)
    found = raw.get("tables", {})
    for name in found:
        if not NAME.fullmatch(name):
            raise BadPayload("table name")
    ordered = sorted(found, key=lambda name: (_order(name), name))
    tables = {name: _table(name, found[name], k) for name in ordered}
    return Population(key, kind, code, cases, tables)


def _order(name: str) -> int:
    return TABLE_ORDER.index(name) if name in TABLE_ORDER else len(TABLE_ORDER)


def read(payload: Mapping[str, Any]) -> Snapshot:
    """Check a stored payload and keep only what is published.

    Unknown keys are dropped, so nothing the builder might add for itself
    ever reaches a page or a download.
    """
    if payload.get("format") != FORMAT:
        raise BadPayload("format")
    k = payload.get("k")
    number = payload.get("number")
    if not isinstance(k, int) or k < 1 or not isinstance(number, int):
        raise BadPayload("k or number")
    try:
        published_on = date.fromisoformat(str(payload.get("published_on")))
    except ValueError as error:
        raise BadPayload("published_on") from error
    populations = {}
    for key, raw in payload.get("populations", {}).items():
        if not (key == "all" or re.fullmatch(r"(proposal|unit):[a-z0-9][a-z0-9-]{0,40}", key)):
            raise BadPayload("population key")
        populations[key] = _population(key, raw, k)
    return Snapshot(number, published_on, k, populations)


def published(snapshot: Snapshot) -> dict[str, Any]:
    """The snapshot as ``data.json`` publishes it: the payload's published fields only."""
    return {
        "format": FORMAT,
        "number": snapshot.number,
        "published_on": snapshot.published_on.isoformat(),
        "k": snapshot.k,
        "licence": LICENCE,
        "populations": {
            population.key: {
                "kind": population.kind,
                "code": population.code,
                "cases": population.cases,
                "mark": population.mark,
                "tables": {
                    table.name: {
                        "dimension": table.dimension,
                        "grain": table.grain,
                        "cells": [
                            {"code": cell.code, "count": cell.count, "mark": cell.mark}
                            for cell in table.cells
                        ],
                    }
                    for table in population.tables.values()
                },
            }
            for population in snapshot.populations.values()
        },
    }


LICENCE = "CC-BY-4.0"


# --- Words -------------------------------------------------------------------


@dataclass(frozen=True)
class Words:
    """The few words no vocabulary holds, in the page's language (the caller's)."""

    unknown: str
    strong: str
    illustrates: str


@dataclass(frozen=True)
class Catalogue:
    """Blocks, themes and proposals with their titles in one language."""

    blocks: tuple[tuple[str, str], ...]
    # proposal code -> (title, block code, description)
    proposals: dict[str, tuple[str, str, str]]
    # block code -> its proposal codes, in display order
    block_proposals: dict[str, tuple[str, ...]]

    def block_title(self, code: str) -> str:
        """The title of block ``code`` ("" when unknown)."""
        return dict(self.blocks).get(code, "")


def catalogue(db: Session, lang: str) -> Catalogue:
    """The reform catalogue's titles in ``lang``, every proposal (retired ones too).

    Retired proposals stay: an earlier snapshot may hold their figures.
    """
    blocks = list(db.scalars(select(ReformBlock).order_by(ReformBlock.position)))
    themes = {
        theme.code: theme.block_code
        for theme in db.scalars(select(ReformTheme).order_by(ReformTheme.position))
    }
    theme_order = {code: n for n, code in enumerate(themes)}
    proposals = sorted(
        db.scalars(select(ReformProposal)),
        key=lambda p: (theme_order.get(p.theme_code, len(theme_order)), p.position, p.code),
    )
    found = {
        p.code: (p.title(lang), themes.get(p.theme_code, ""), p.description(lang))
        for p in proposals
    }
    by_block = {
        block.code: tuple(code for code, (_t, b, _d) in found.items() if b == block.code)
        for block in blocks
    }
    return Catalogue(
        blocks=tuple((block.code, block.title(lang)) for block in blocks),
        proposals=found,
        block_proposals=by_block,
    )


@dataclass
class Labels:
    """Titles of every code of every dimension in one language."""

    lang: str
    words: Words
    catalogue: Catalogue
    vocabularies: dict[str, dict[str, str]] = field(default_factory=dict)

    def of(self, dimension: str, code: str) -> str:
        """The title of ``code`` in ``dimension`` (the code itself when none is known)."""
        if code == UNKNOWN:
            return self.words.unknown
        if dimension == "period":
            return period_label(code, self.lang)
        if dimension == "strength":
            return self.words.strong if code == "strong" else self.words.illustrates
        if dimension == "proposal":
            found = self.catalogue.proposals.get(code)
            return found[0] if found else code
        return self.vocabularies.get(dimension, {}).get(code, code)


def labels(db: Session, lang: str, words: Words) -> Labels:
    """Every title the evidence pages need, in ``lang``."""
    vocabularies = {
        dimension: {term.code: term.title(lang) for term in terms(db, kind)}
        for dimension, kind in VOCABULARIES.items()
    }
    return Labels(lang, words, catalogue(db, lang), vocabularies)


def period_label(code: str, lang: str) -> str:
    """A period code in words in ``lang``: "2021-08", "2021-Q3" or "2021"."""
    year, _, rest = code.partition("-")
    if not rest:
        return year
    if rest.startswith("Q"):
        month = 3 * int(rest[1:]) - 2
        return format_date(date(int(year), month, 1), "QQQ y", locale=lang)
    return format_date(date(int(year), int(rest), 1), "LLLL y", locale=lang)


# --- Rows for a page ---------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """A row of a figures table: one cell, or a run of cells all fewer than k."""

    code: str
    label: str
    count: int | None
    mark: str
    # More than 1: this row stands for that many consecutive periods, each
    # fewer than k (a long empty stretch shown as one line).
    span: int = 1


def rows(table: Table, names: Labels, *, collapse_runs: bool = True) -> list[Row]:
    """The table's rows with their titles.

    Consecutive periods that are all fewer than k become one row (from the
    first to the last): twenty years of "fewer than 5" would bury the
    months that say something.  Nothing is added up: the row only says that
    each of those cells is fewer than k, as the cells do.
    """
    found: list[Row] = []
    run: list[Cell] = []

    def flush() -> None:
        if not run:
            return
        if len(run) == 1:
            cell = run[0]
            found.append(Row(cell.code, names.of(table.dimension, cell.code), None, FEWER))
        else:
            first = names.of("period", run[0].code)
            last = names.of("period", run[-1].code)
            found.append(Row(run[0].code, f"{first} – {last}", None, FEWER, len(run)))
        run.clear()

    collapse = collapse_runs and table.dimension == "period"
    for cell in table.cells:
        if collapse and cell.mark == FEWER and cell.code != UNKNOWN:
            run.append(cell)
            continue
        flush()
        found.append(Row(cell.code, names.of(table.dimension, cell.code), cell.count, cell.mark))
    flush()
    return found


# --- Summaries ---------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    """A published case summary: its text, region code and year."""

    text: str
    region: str | None
    period: str


def summaries_version(db: Session, snapshot_id: int) -> str:
    """A short fingerprint of the summaries a snapshot still holds.

    Part of the proposal pages' ETag: a summary deleted after a withdrawal
    must leave every cache within minutes, not when the next snapshot comes.
    """
    ids = sorted(
        db.scalars(select(SnapshotSummary.id).where(SnapshotSummary.snapshot_id == snapshot_id))
    )
    return _fingerprint(ids)


def _fingerprint(ids: Iterable[int]) -> str:
    text = ",".join(str(i) for i in ids)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def summaries_for(db: Session, snapshot_id: int, proposal: str) -> list[Summary]:
    """The summaries of a snapshot whose case supports ``proposal``.

    Ordered by year, then text: never by id or by when they were written,
    which could tell which case is which.
    """
    found = []
    query = select(SnapshotSummary).where(SnapshotSummary.snapshot_id == snapshot_id)
    for row in db.scalars(query):
        try:
            codes = json.loads(row.proposals)
        except ValueError:
            continue
        if isinstance(codes, list) and proposal in codes:
            found.append(Summary(row.text, row.region, row.period))
    return sorted(found, key=lambda s: (s.period, s.text))


@dataclass(frozen=True)
class ShownSummary:
    """A summary as a proposal page shows it: ``region``/``year`` None when withheld."""

    text: str
    region: str | None
    year: str | None


def shown_summaries(population: Population | None, found: Iterable[Summary]) -> list[ShownSummary]:
    """What of ``found`` a proposal page may show next to ``population``'s figures.

    WHY: each summary proves one case of the proposal in its region and
    year.  Beside a withheld count that is a lower bound (k−1 summaries
    under "fewer than k" would give the count exactly, and say that no
    other victim's case is there).  So nothing is shown unless the
    proposal's size is published; a region only where the proposal's cell
    for it is published (a count of at least k, which the summaries of
    that region can never exceed); a year only where the published cells
    of that year add up to at least the summaries shown with it.
    """
    if population is None or population.cases is None:
        return []
    regions = population.table("region")
    periods = population.table("period")
    summaries = list(found)

    def region_of(summary: Summary) -> str | None:
        cell = regions.cell(summary.region) if regions and summary.region else None
        return summary.region if cell is not None and cell.count is not None else None

    published_in: dict[str, int] = {}
    for cell in periods.cells if periods else ():
        year = cell.code if cell.code == UNKNOWN else cell.code[:4]
        published_in[year] = published_in.get(year, 0) + (cell.count or 0)
    wanted: dict[str, int] = {}
    for summary in summaries:
        wanted[summary.period] = wanted.get(summary.period, 0) + 1
    return [
        ShownSummary(
            summary.text,
            region_of(summary),
            summary.period
            if published_in.get(summary.period, 0) >= wanted[summary.period]
            else None,
        )
        for summary in summaries
    ]


def table_names(snapshot: Snapshot) -> list[str]:
    """Every table name of the snapshot, in display order (one CSV each)."""
    names = {name for p in snapshot.populations.values() for name in p.tables}
    return sorted(names, key=lambda name: (_order(name), name))


@dataclass(frozen=True)
class Head:
    """What identifies a stored snapshot, without its payload."""

    id: int
    number: int
    digest: str


# How many times a snapshot was stored (or removed) by this process: a
# worker that keeps the latest head for a moment compares it, so whatever
# this process publishes shows at once here.  Other workers see it when
# their own copy runs out (views.HEAD_SECONDS).
_published = [0]
_SESSION_FLAG = "registry.evidence.published"


def generation() -> int:
    """A number that changes whenever this process stores or removes a snapshot."""
    return _published[0]


@event.listens_for(EvidenceSnapshot, "after_insert")
@event.listens_for(EvidenceSnapshot, "after_delete")
def _snapshot_changed(_mapper: Mapper[Any], _connection: Any, target: EvidenceSnapshot) -> None:
    _published[0] += 1
    # WHY again at commit: a request in another thread may read the latest
    # head between this flush and the commit (the old head, still the
    # latest it can see) and keep it under the new generation.
    session = object_session(target)
    if session is not None:
        session.info[_SESSION_FLAG] = True


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_SESSION_FLAG, False):
        _published[0] += 1


def latest_head(db: Session) -> Head | None:
    """The latest snapshot's id, number and digest, or None before the first.

    WHY not the whole row: the payload is several hundred kilobytes, and
    most requests need only the digest (their ETag, their cache key).
    """
    return _head(db, None)


def head_of(db: Session, number: int) -> Head | None:
    """Snapshot ``number``'s id, number and digest, or None when there is none."""
    return _head(db, number)


def _head(db: Session, number: int | None) -> Head | None:
    query = select(EvidenceSnapshot.id, EvidenceSnapshot.number, EvidenceSnapshot.digest)
    if number is None:
        query = query.order_by(EvidenceSnapshot.number.desc()).limit(1)
    else:
        query = query.where(EvidenceSnapshot.number == number)
    found = db.execute(query).first()
    return Head(found.id, found.number, found.digest) if found is not None else None


def history(db: Session) -> list[tuple[int, date]]:
    """Every published snapshot's number and day, the latest first."""
    query = select(EvidenceSnapshot.number, EvidenceSnapshot.published_on).order_by(
        EvidenceSnapshot.number.desc()
    )
    return [(number, day) for number, day in db.execute(query)]
