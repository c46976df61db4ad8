"""Turning ``(value, label)`` pairs into WTForms select options."""

from __future__ import annotations

from collections.abc import Iterable

from wtforms.fields.choices import SelectChoice


def options(pairs: Iterable[tuple[str, object]]) -> list[SelectChoice]:
    """Options for a SelectField, RadioField or checkbox list."""
    return [SelectChoice(value, str(label)) for value, label in pairs]
