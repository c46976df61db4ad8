"""Catalogue loading, reading, and mapping cases to proposals."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry import audit
from registry.crypto import seal_field
from registry.models import (
    CaseMapping,
    ReformBlock,
    ReformProposal,
    ReformTheme,
    Report,
    Strength,
)
from registry.records.access import data_key_for
from registry.records.vocabulary import rationale_field

DATA_FILE = Path(__file__).parent / "data" / "catalogue.json"
RATIONALE_MAX = 10_000
_Row = ReformBlock | ReformTheme | ReformProposal


class InvalidMapping(ValueError):
    """Unknown proposal or strength, or an empty or too long rationale."""


def _fill(row: _Row, item: dict[str, Any]) -> None:
    row.position = item["position"]
    row.source = item["source"]
    for lang in ("be", "ru", "en"):
        setattr(row, f"title_{lang}", item["title"][lang])
        setattr(row, f"description_{lang}", item.get("description", {}).get(lang, ""))


# Each level of the catalogue: data key, model, and the parent's data key
# and column (blocks have no parent).
_LEVELS: tuple[tuple[str, type[_Row], str, str], ...] = (
    ("blocks", ReformBlock, "", ""),
    ("themes", ReformTheme, "block", "block_code"),
    ("proposals", ReformProposal, "theme", "theme_code"),
)


def load_catalogue(db: Session, path: Path = DATA_FILE) -> int:
    """Insert or update blocks, themes and proposals from the data file.

    Rows are upserted by code and never deleted, because mappings point at
    proposal codes; a coordinator retires a proposal by deactivating it.
    """
    data = json.loads(path.read_text(encoding="utf-8"))
    count = 0
    for key, model, parent_key, parent_column in _LEVELS:
        for item in data[key]:
            row = cast(_Row, db.get(model, item["code"]) or model(code=item["code"]))
            _fill(row, item)
            if parent_key:
                setattr(row, parent_column, item[parent_key])
            if isinstance(row, ReformProposal):
                row.standards = list(item.get("standards", []))
            db.add(row)
            count += 1
        # Parents must exist before children reference them.
        db.flush()
    _ACTIVE.clear()
    _TITLES.clear()
    return count


@dataclass(frozen=True)
class ThemeEntry:
    """A theme and its proposals."""

    theme: ReformTheme
    proposals: list[ReformProposal]


@dataclass(frozen=True)
class BlockEntry:
    """A block, its themes and their proposals."""

    block: ReformBlock
    themes: list[ThemeEntry]


def catalogue(db: Session) -> list[BlockEntry]:
    """The whole catalogue as a tree, in display order."""
    proposals = list(
        db.scalars(
            select(ReformProposal)
            .where(ReformProposal.active.is_(True))
            .order_by(ReformProposal.position)
        )
    )
    themes = list(db.scalars(select(ReformTheme).order_by(ReformTheme.position)))
    blocks = list(db.scalars(select(ReformBlock).order_by(ReformBlock.position)))
    return [
        BlockEntry(
            block=block,
            themes=[
                ThemeEntry(theme=t, proposals=[p for p in proposals if p.theme_code == t.code])
                for t in themes
                if t.block_code == block.code
            ],
        )
        for block in blocks
    ]


@dataclass(frozen=True)
class ActiveProposal:
    """A proposal a case can be mapped to: its code and its titles in be/ru/en."""

    code: str
    titles: dict[str, str]
    # The reform block it belongs to (the mapping list groups by it, issue 13).
    block: str = ""
    block_titles: dict[str, str] = field(default_factory=dict)

    def title(self, lang: str) -> str:
        """The title in ``lang`` (falls back to Belarusian)."""
        return self.titles.get(lang) or self.titles["be"]

    def block_title(self, lang: str) -> str:
        """The block's title in ``lang`` (falls back to Belarusian, then the code)."""
        return self.block_titles.get(lang) or self.block_titles.get("be") or self.block


# Read on every case page (the mapping form and the mapped list), changed
# only by load_catalogue: kept per database for a few minutes, like the
# vocabularies (registry.taxonomy.service).  Mapping still checks the
# proposal in the database (map_case), so a stale list never maps a
# retired proposal.
_ACTIVE: dict[str, tuple[float, list[ActiveProposal]]] = {}
ACTIVE_CACHE_SECONDS = 300.0


def active_proposals(db: Session) -> list[ActiveProposal]:
    """Proposals a case can be mapped to, in catalogue order (block, theme, proposal)."""
    key = str(db.get_bind().engine.url)
    cached = _ACTIVE.get(key)
    if cached is not None and time.monotonic() - cached[0] < ACTIVE_CACHE_SECONDS:
        return cached[1]
    rows = db.execute(
        select(ReformProposal, ReformBlock)
        .join(ReformTheme, ReformTheme.code == ReformProposal.theme_code)
        .join(ReformBlock, ReformBlock.code == ReformTheme.block_code)
        .where(ReformProposal.active.is_(True))
        .order_by(ReformBlock.position, ReformTheme.position, ReformProposal.position)
    )
    languages = ("be", "ru", "en")
    found = [
        ActiveProposal(
            row.code,
            {lang: row.title(lang) for lang in languages},
            block.code,
            {lang: block.title(lang) for lang in languages},
        )
        for row, block in rows
    ]
    _ACTIVE[key] = (time.monotonic(), found)
    return found


# Every proposal's titles, retired ones too (the queue filters cases by any
# proposal they were mapped to): kept like the active ones above.
_TITLES: dict[str, tuple[float, list[tuple[str, dict[str, str]]]]] = {}


def proposal_titles(db: Session, lang: str) -> list[tuple[str, str]]:
    """``(code, title in lang)`` of every proposal, by code."""
    key = str(db.get_bind().engine.url)
    cached = _TITLES.get(key)
    if cached is None or time.monotonic() - cached[0] >= ACTIVE_CACHE_SECONDS:
        rows = db.scalars(select(ReformProposal).order_by(ReformProposal.code))
        cached = (
            time.monotonic(),
            [(row.code, {code: row.title(code) for code in ("be", "ru", "en")}) for row in rows],
        )
        _TITLES[key] = cached
    return [(code, titles.get(lang) or titles["be"]) for code, titles in cached[1]]


def map_case(
    db: Session,
    report: Report,
    *,
    account_id: int,
    private_key: bytes,
    proposal_code: str,
    strength: str,
    rationale: str,
) -> CaseMapping:
    """Map ``report`` to a proposal with a sealed rationale (or update it).

    The reviewer must hold the report's key: the rationale is sealed under
    the report's data key, so mapping without access is impossible.
    """
    proposal = db.get(ReformProposal, proposal_code)
    if proposal is None or not proposal.active:
        raise InvalidMapping("proposal")
    if strength not in {s.value for s in Strength}:
        raise InvalidMapping("strength")
    if not rationale.strip() or len(rationale) > RATIONALE_MAX:
        raise InvalidMapping("rationale")
    dek = data_key_for(db, report, account_id, private_key)
    sealed = seal_field(
        dek, rationale.encode(), report_id=report.public_id, field=rationale_field(proposal_code)
    )
    mapping = db.get(CaseMapping, (report.id, proposal_code)) or CaseMapping(
        report_id=report.id, proposal_code=proposal_code
    )
    mapping.strength = strength
    mapping.sealed_rationale = sealed
    mapping.created_by = account_id
    db.add(mapping)
    audit.record(
        db,
        actor=audit.account_actor(account_id),
        action="case.mapped",
        report_ref=report.public_id,
        detail=f"{proposal_code}:{strength}",
    )
    return mapping


def cases_for_proposal(db: Session, proposal_code: str) -> list[tuple[Report, str]]:
    """Reports mapped to a proposal, with the strength of each mapping."""
    rows = db.execute(
        select(Report, CaseMapping.strength)
        .join(CaseMapping, CaseMapping.report_id == Report.id)
        .where(CaseMapping.proposal_code == proposal_code)
        .order_by(Report.received_on.desc())
    )
    return [(report, strength) for report, strength in rows]
