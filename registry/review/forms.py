"""Forms of the reviewer pages."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import BooleanField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length
from wtforms.widgets import Select

from registry.records.messages import MESSAGE_MAX
from registry.reforms.service import RATIONALE_MAX
from registry.web.forms import CheckboxesField, PostedForm, RowIdField, options
from registry.web.i18n import lazy_gettext as _l

_JOIN, _OPTION_END, _VALUE_END = Markup(""), Markup("</option>"), Markup('">')
_OPTION, _SELECTED = Markup('<option value="'), Markup('<option selected value="')


class PlainOptionsSelect(Select):
    """WTForms' select, writing plain options (a value and a text) itself.

    WTForms writes each option through ``html_params`` and ``Markup.format``,
    which made the proposal select (every active proposal, on every case
    page) the costliest part of the mapping form.  The same escaping gives
    the same bytes; an option with anything more (attributes, a non-text
    value) is left to WTForms.
    """

    @classmethod
    def render_option(cls, choice: Any, **kwargs: Any) -> Markup:
        """One ``<option>``, as ``Select.render_option`` writes it."""
        value = choice.value
        if kwargs or choice.render_kw or not isinstance(value, str):
            theirs: Markup = super().render_option(choice, **kwargs)
            return theirs
        # Markup.join escapes every part that is not markup already: the
        # value and the text (which may carry a proposal's title) are escaped
        # as html_params and WTForms escape them, so no '"' is left in them.
        # The attributes come in html_params' sorted order.
        return _JOIN.join(
            (
                _SELECTED if choice.selected else _OPTION,
                value,
                _VALUE_END,
                choice.label or value,
                _OPTION_END,
            )
        )


class RememberingSelect(PlainOptionsSelect):
    """The select above, each rendering kept for as long as its choices list lives.

    The proposal select is the same bytes on every case page of a language
    (the per-worker list of active proposals, nothing selected), yet writing
    its options cost about a fifth of the case page.  A rendering is kept
    under the identity of the field's choices list (which the view keeps per
    worker and language, replaced when the catalogue changes) and everything
    else the output depends on; the list itself is held with it, so an id
    reused by a later list never finds an old rendering.  Bounded: a posted
    value is part of the key, so at most ``_KEEP`` renderings are held.
    """

    _KEEP = 64

    def __init__(self) -> None:
        super().__init__()
        self._kept: dict[tuple[Any, ...], tuple[object, Markup]] = {}

    def __call__(self, field: Any, **kwargs: Any) -> Markup:
        """The field's ``<select>``, written once per choices list, value and attributes."""
        choices = field.choices
        try:
            key = (id(choices), field.name, field.id, field.data, field.flags.required)
            key += tuple(sorted(kwargs.items()))
            hash(key)
        except TypeError:  # an unhashable value or attribute: write it afresh
            written: Markup = super().__call__(field, **kwargs)
            return written
        kept = self._kept.get(key)
        if kept is not None and kept[0] is choices:
            return kept[1]
        written = super().__call__(field, **kwargs)
        if len(self._kept) >= self._KEEP:
            self._kept.clear()
        self._kept[key] = (choices, written)
        return written


class MappingForm(FlaskForm):
    """Map the case to a proposal, with a sealed rationale."""

    proposal = SelectField(
        _l("Reform proposal"), validators=[DataRequired()], widget=RememberingSelect()
    )
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


class CodingForm(PostedForm):
    """The plain codes of a case: drawn for correcting, read back by ``casework.code``.

    The view that draws it sets the choices.  On a POST the choices are not
    checked here: ``review.coding`` checks every code against its vocabulary
    (with its own message per field), and only after the reviewer's access.
    """

    violations = CheckboxesField(_l("Violations"), validate_choice=False)
    place = SelectField(_l("Type of place"), validate_choice=False)
    unit = SelectField(_l("Who did it: which service or unit"), validate_choice=False)
    region = SelectField(_l("Region"), validate_choice=False)
    incident_month = StringField(
        _l("Month of incident"),
        description=_l("As YYYY-MM, for example 2020-08. Leave it empty when it is not known."),
    )


# The case actions below (casework views) are small forms written out in the
# case page's templates; these read them back.  Their fields never refuse a
# value: the triage and link services judge each one, after the reviewer's
# access, and the view flashes their answer.  Missing text reads as "".


class _OneMeansYes(BooleanField):
    """True only for "1" (the case page sends "1" or "0")."""

    def process_formdata(self, valuelist: list[str]) -> None:
        self.data = bool(valuelist) and valuelist[0] == "1"


class StatusForm(PostedForm):
    """A new status; a disposition when closing ("" for none)."""

    status = StringField(default="")
    disposition = StringField(filters=[lambda value: value or None])


class UrgencyForm(PostedForm):
    """Mark as urgent ("1") or not."""

    urgent = _OneMeansYes()


class AssignForm(PostedForm):
    """Who the case is assigned to (no id: nobody)."""

    assignee = RowIdField()


class NoteForm(PostedForm):
    """An internal note."""

    text = TextAreaField(default="")


class GrantForm(PostedForm):
    """Who gets the case key."""

    grantee = RowIdField()


class LinkForm(PostedForm):
    """The other case's id and how the two are related."""

    other = StringField(default="")
    kind = StringField(default="")


class SummaryForm(PostedForm):
    """A public summary of the case, written for publication (``summary_views.write``).

    Never refuses a value itself: the summaries service judges the text
    (length, exact dates) after the writer's access, with its own messages.
    """

    text = TextAreaField(
        _l("Public summary"),
        default="",
        description=_l(
            "Published with the evidence once a second key holder approves it. Write it in "
            "your own words, never the submitter's: no names or identifying details, no place "
            "finer than the region, no exact date (a month or a year at most). "
            "At most 1,500 characters."
        ),
    )


class SummaryApprovalForm(PostedForm):
    """The approver's checklist, and which text they read (``summary_views.approve``)."""

    seen = StringField(default="")
    no_identifying_details = BooleanField(_l("It has no names or identifying details."))
    no_finer_place_or_date = BooleanField(
        _l("It names no place finer than the region and no exact date.")
    )
