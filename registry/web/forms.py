"""Form pieces every blueprint shares: select options, checkbox lists, the refused status."""

from __future__ import annotations

from collections.abc import Iterable

from flask import request
from wtforms import SelectMultipleField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget


def options(pairs: Iterable[tuple[str, object]]) -> list[SelectChoice]:
    """Options for a SelectField, RadioField or checkbox list."""
    # Labels stay lazy (translated when rendered, in the visitor's language):
    # these lists are often built once, when a module is imported.
    return [SelectChoice(value, label) for value, label in pairs]


class CheckboxesField(SelectMultipleField):
    """A list of checkboxes (a multi-select is hard to use on a phone)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def refused_status() -> int:
    """200 for a form shown the first time; 422 when a submission was refused.

    A refused submission is re-shown with every answer kept and each problem
    explained; the 4xx status says to any client that nothing was stored.
    """
    return 422 if request.method == "POST" else 200
