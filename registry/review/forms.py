"""Forms of the reviewer pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from registry.records.messages import MESSAGE_MAX
from registry.reforms.service import RATIONALE_MAX
from registry.web.forms import CheckboxesField, options


class MappingForm(FlaskForm):
    """Map the case to a proposal, with a sealed rationale."""

    proposal = SelectField(_l("Reform proposal"), validators=[DataRequired()])
    strength = RadioField(
        _l("How strongly does this case support it?"),
        choices=options([("illustrates", _l("Illustrates")), ("strong", _l("Strong evidence"))]),
        default="illustrates",
        validators=[DataRequired()],
    )
    rationale = TextAreaField(
        _l("Rationale"),
        validators=[DataRequired(message=_l("Please explain why.")), Length(max=RATIONALE_MAX)],
        description=_l("Encrypted like the report. Seen only by staff who can open this case."),
    )


class ReplyForm(FlaskForm):
    """A reply the submitter reads with their receipt."""

    text = TextAreaField(
        _l("Reply to the submitter"),
        validators=[DataRequired(message=_l("Please write a message.")), Length(max=MESSAGE_MAX)],
        description=_l(
            "Sealed to the submitter's receipt and to the staff who can open this case."
        ),
    )


class CodingForm(FlaskForm):
    """The plain codes of a case, shown for correcting (the view sets the choices).

    Only drawn here: the POST is read by ``casework.code`` and every code is
    checked against its vocabulary by ``review.coding``.
    """

    violations = CheckboxesField(_l("Violations"))
    place = SelectField(_l("Type of place"))
    unit = SelectField(_l("Who did it: which service or unit"))
    region = SelectField(_l("Region"))
    incident_month = StringField(
        _l("Month of incident"),
        description=_l("As YYYY-MM, for example 2020-08. Leave it empty when it is not known."),
    )
