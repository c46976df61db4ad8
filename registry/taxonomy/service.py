"""Loading and reading the controlled vocabularies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.models import VocabularyTerm

DATA_FILE = Path(__file__).parent / "data" / "vocabularies.json"
KINDS = (
    "violation_types",
    "places",
    "units",
    "regions",
    "dispositions",
    "flags",
    "reporter_roles",
)


def _trilingual(item: dict[str, Any]) -> dict[str, str]:
    title, description = item["title"], item.get("description", {})
    return {
        **{f"title_{lang}": title[lang] for lang in ("be", "ru", "en")},
        **{f"description_{lang}": description.get(lang, "") for lang in ("be", "ru", "en")},
    }


def load_vocabularies(db: Session, path: Path = DATA_FILE) -> int:
    """Insert or update every term from the data file; return how many.

    Terms are upserted by (kind, code) and never deleted here, because
    reports keep pointing at codes that a later edition may retire.
    """
    data = json.loads(path.read_text(encoding="utf-8"))
    count = 0
    for kind in KINDS:
        for item in data.get(kind, []):
            term = db.get(VocabularyTerm, (kind, item["code"])) or VocabularyTerm(
                kind=kind, code=item["code"]
            )
            term.position = item["position"]
            attributes = {
                k: v
                for k, v in item.items()
                if k not in ("code", "position", "title", "description")
            }
            term.attributes = attributes
            for key, value in _trilingual(item).items():
                setattr(term, key, value)
            db.add(term)
            count += 1
    return count


def terms(db: Session, kind: str) -> list[VocabularyTerm]:
    """All terms of ``kind`` in display order."""
    return list(
        db.scalars(
            select(VocabularyTerm)
            .where(VocabularyTerm.kind == kind)
            .order_by(VocabularyTerm.position)
        )
    )


def choices(db: Session, kind: str, lang: str) -> list[tuple[str, str]]:
    """``(code, title)`` pairs of ``kind`` in ``lang``, for a form."""
    return [(term.code, term.title(lang)) for term in terms(db, kind)]


def titles(db: Session, kind: str, lang: str) -> dict[str, str]:
    """Map of code → title in ``lang``."""
    return dict(choices(db, kind, lang))
