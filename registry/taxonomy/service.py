"""Loading and reading the controlled vocabularies."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
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
    _CACHE.clear()
    return count


@dataclass(frozen=True)
class Term:
    """A vocabulary term, detached from the database (safe to cache)."""

    code: str
    titles: dict[str, str]
    attributes: dict[str, Any]

    def title(self, lang: str) -> str:
        """The title in ``lang`` (Belarusian when missing)."""
        return self.titles.get(lang) or self.titles["be"]


# Vocabularies change only through load_vocabularies (or, later, an admin
# page): every form and case page reads them, so each worker keeps them for
# a few minutes instead of querying them a dozen times per request.
_CACHE: dict[tuple[str, str], tuple[float, list[Term]]] = {}
CACHE_SECONDS = 300.0


def terms(db: Session, kind: str) -> list[Term]:
    """All terms of ``kind`` in display order."""
    key = (str(db.get_bind().engine.url), kind)
    cached = _CACHE.get(key)
    if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
        return cached[1]
    rows = db.scalars(
        select(VocabularyTerm).where(VocabularyTerm.kind == kind).order_by(VocabularyTerm.position)
    )
    found = [
        Term(
            row.code,
            {lang: row.title(lang) for lang in ("be", "ru", "en")},
            dict(row.attributes or {}),
        )
        for row in rows
    ]
    _CACHE[key] = (time.monotonic(), found)
    return found


def choices(db: Session, kind: str, lang: str) -> list[tuple[str, str]]:
    """``(code, title)`` pairs of ``kind`` in ``lang``, for a form."""
    return [(term.code, term.title(lang)) for term in terms(db, kind)]


def titles(db: Session, kind: str, lang: str) -> dict[str, str]:
    """Map of code → title in ``lang``."""
    return dict(choices(db, kind, lang))


def bundled_choices(kind: str, lang: str) -> list[tuple[str, str]]:
    """``(code, title)`` pairs of ``kind`` from the data file, without the database.

    For showing a form again, filled in, while the database is down: the
    file is what :func:`load_vocabularies` loads, so the codes match.
    """
    items = json.loads(DATA_FILE.read_text(encoding="utf-8")).get(kind, [])
    ordered = sorted(items, key=lambda item: item["position"])
    return [(item["code"], item["title"].get(lang) or item["title"]["be"]) for item in ordered]


def first_unknown(db: Session, checks: Iterable[tuple[str, Iterable[str], str]]) -> str | None:
    """The first field whose codes are not all terms of their vocabulary, else None.

    Each check is ``(field name, codes, vocabulary kind)``.  Shared by the
    form and by reviewers correcting a case's codes later, so a code that
    the form would refuse cannot enter any other way.
    """
    for name, codes, kind in checks:
        known = titles(db, kind, "en")
        if any(code not in known for code in codes):
            return name
    return None
