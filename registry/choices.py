"""Turning ``(value, label)`` pairs into WTForms select options."""

from __future__ import annotations

from collections.abc import Iterable

from wtforms.fields.choices import SelectChoice


def options(pairs: Iterable[tuple[str, object]]) -> list[SelectChoice]:
    """Options for a SelectField, RadioField or checkbox list."""
    # Labels stay lazy (translated when rendered, in the visitor's language):
    # these lists are often built once, when a module is imported.
    return [SelectChoice(value, label) for value, label in pairs]
