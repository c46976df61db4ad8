"""The public report form.  Works without JavaScript."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, SelectMultipleField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from registry.choices import options

NARRATIVE_MAX = 50_000
FIRST_YEAR = 2000

MONTH_NAMES = (
    _l("January"),
    _l("February"),
    _l("March"),
    _l("April"),
    _l("May"),
    _l("June"),
    _l("July"),
    _l("August"),
    _l("September"),
    _l("October"),
    _l("November"),
    _l("December"),
)


class CheckboxesField(SelectMultipleField):
    """A list of checkboxes (a multi-select is hard to use on a phone)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def year_choices(today: date) -> list[SelectChoice]:
    """Years a report may concern, newest first, after a "don't remember"."""
    years = [(str(y), str(y)) for y in range(today.year, FIRST_YEAR - 1, -1)]
    return options([("", _l("I don't remember")), *years])


def month_choices() -> list[SelectChoice]:
    """Months 01–12 with their names, after a "don't remember"."""
    months = [(f"{i:02d}", name) for i, name in enumerate(MONTH_NAMES, start=1)]
    return options([("", _l("I don't remember")), *months])


class ReportForm(FlaskForm):
    """What happened, where, when (month), and which kinds of violation."""

    narrative = TextAreaField(
        _l("What happened?"),
        validators=[
            DataRequired(message=_l("Please describe what happened.")),
            Length(max=NARRATIVE_MAX),
        ],
        description=_l(
            "Write in any language, as much as you can: what was done, by whom, where, "
            "what was said. This text is encrypted before it is stored."
        ),
    )
    region = SelectField(
        _l("Region"), validators=[InputRequired(message=_l("Please choose a region."))]
    )
    year = SelectField(_l("Year"), validate_choice=True)
    month = SelectField(_l("Month"), validate_choice=True)
    violations = CheckboxesField(_l("What was done? Tick all that apply."))


class ReceiptSavedForm(FlaskForm):
    """The step that keeps the receipt on screen until the person saved it."""

    receipt = HiddenField(validators=[DataRequired()])
    saved = BooleanField(
        _l("I have written down or saved my receipt."),
        validators=[
            DataRequired(message=_l("Please save your receipt first: it cannot be shown again."))
        ],
    )
