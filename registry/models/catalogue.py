"""The reform-proposal catalogue and the controlled vocabularies.

Both are loaded from the data files in ``registry/reforms/data`` and
``registry/taxonomy/data``; titles and descriptions carry all three
languages side by side so that a coordinator can edit them in one place.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from registry.models.base import Base


class _Trilingual:
    """Title and description in Belarusian, Russian and English."""

    title_be: Mapped[str] = mapped_column(String(200))
    title_ru: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    description_be: Mapped[str] = mapped_column(Text, default="")
    description_ru: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")

    def title(self, lang: str) -> str:
        """The title in ``lang`` (falls back to Belarusian)."""
        return str(getattr(self, f"title_{lang}", None) or self.title_be)

    def description(self, lang: str) -> str:
        """The description in ``lang`` (falls back to Belarusian)."""
        return str(getattr(self, f"description_{lang}", None) or self.description_be)


class ReformBlock(_Trilingual, Base):
    """A block of the reform draft."""

    __tablename__ = "reform_blocks"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int]
    # "draft" for the draft's own wording, "registry" for our structuring.
    source: Mapped[str] = mapped_column(String(16))


class ReformTheme(_Trilingual, Base):
    """A theme (problem) inside a block."""

    __tablename__ = "reform_themes"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    block_code: Mapped[str] = mapped_column(ForeignKey("reform_blocks.code"))
    position: Mapped[int]
    source: Mapped[str] = mapped_column(String(16))


class ReformProposal(_Trilingual, Base):
    """A concrete, citable proposal that cases can support."""

    __tablename__ = "reform_proposals"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    theme_code: Mapped[str] = mapped_column(ForeignKey("reform_themes.code"))
    position: Mapped[int]
    source: Mapped[str] = mapped_column(String(16))
    standards: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)


class VocabularyTerm(_Trilingual, Base):
    """One term of a controlled vocabulary (violation types, places, …)."""

    __tablename__ = "vocabulary_terms"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int]
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
