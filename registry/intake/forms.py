"""The public report form.  Works without JavaScript."""

from __future__ import annotations

from datetime import date

from flask import current_app, session
from flask_wtf import FlaskForm
from flask_wtf.csrf import generate_csrf
from wtforms import (
    BooleanField,
    HiddenField,
    MultipleFileField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from registry.intake import drafts
from registry.intake.service import ReportInput
from registry.records.vocabulary import ANSWER_MAX, QUESTIONS, SEALED_ANSWERS
from registry.taxonomy.months import month_names
from registry.web.forms import CheckboxesField, options
from registry.web.i18n import lazy_gettext as _l

NARRATIVE_MAX = 50_000
FIRST_YEAR = 2000

UNREADABLE = _l("Some characters could not be read. Please check this text and send it again.")


def year_choices(today: date) -> list[SelectChoice]:
    """Years a report may concern, newest first, after a "don't remember"."""
    years = [(str(y), str(y)) for y in range(today.year, FIRST_YEAR - 1, -1)]
    return options([("", _l("I don't remember")), *years])


def month_choices(lang: str) -> list[SelectChoice]:
    """Months 01–12 with their names in ``lang`` (Babel's), after a "don't remember"."""
    months = [(f"{i:02d}", name) for i, name in enumerate(month_names(lang), start=1)]
    return options([("", _l("I don't remember")), *months])


class ReportForm(FlaskForm):
    """What happened, where, when (month), and which kinds of violation."""

    # The form page's draft id, not a receipt (registry/intake/drafts.py):
    # the server makes the receipt from it and this browser's session, so a
    # second submission of the same page (a double click, a resend after a
    # busy or outage page) is recognised and shows the same receipt instead
    # of storing the report twice, while no client can choose a receipt or
    # learn whether one exists.  The name stays for clients that post it.
    draft_receipt = HiddenField()
    # Honeypot: hidden by the stylesheet, labelled for the rare person who
    # sees it.  Bots fill every field; a filled one is refused, never
    # silently dropped, so a person who filled it loses nothing.
    website = StringField(
        _l("Leave this field empty"),
        validators=[Length(max=0, message=_l("Please leave this field empty."))],
    )

    reporter_role = RadioField(
        _l("Who is reporting?"), validators=[Optional()], validate_choice=True
    )

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
    year = SelectField(_l("Year"), default="", validate_choice=True)
    month = SelectField(_l("Month"), default="", validate_choice=True)
    violations = CheckboxesField(_l("What was done? Tick all that apply."))
    place = SelectField(_l("Type of place"), default="", validate_choice=True)
    unit = SelectField(_l("Who did it: which service or unit"), default="", validate_choice=True)
    flags = CheckboxesField(_l("Tick what applies to the victim"))
    # One optional text field per sealed question (registry.records.vocabulary),
    # made here in the table's order: WTForms orders fields by creation, and
    # the question list is then written once for the form, the service and
    # the case page.  A class body's namespace is the dict ``vars()`` returns.
    for _question in QUESTIONS:
        vars()[_question.name] = TextAreaField(
            _question.label,
            description=_question.hint,
            validators=[Length(max=ANSWER_MAX)],
        )
    del _question
    consent_contact = RadioField(
        _l("May the staff contact you?"),
        choices=options(
            [
                ("receipt", _l("Yes, by replies that I read on this site with my receipt")),
                ("contact", _l("Yes, also at the contact I give below")),
                ("none", _l("No, do not contact me")),
            ]
        ),
        default="receipt",
        # Missing means the default: replies read with the receipt reveal
        # nothing about the person, unlike any other way of contact.
        validators=[Optional()],
    )
    files = MultipleFileField(
        _l("Photos, medical papers, recordings"),
    )
    # Tokens of files sealed on an earlier try of this form and held for it
    # (registry.attachments.held), and those the person ticked "remove".
    # Rendered by the template; a token that does not open is only "lost".
    held = SelectMultipleField(validate_choice=False)
    remove_held = SelectMultipleField(validate_choice=False)
    remove_metadata = BooleanField(
        _l("Remove location and camera data from photos"),
        default=True,
        description=_l(
            "Recommended. Photos are saved again without the hidden data that can tell where "
            "and with which phone they were taken (GPS, camera model, time). The picture "
            "itself stays the same."
        ),
    )
    contact_details = TextAreaField(
        _l("How to reach you safely"),
        validators=[Length(max=ANSWER_MAX)],
        description=_l(
            "For example a Signal number or an email that cannot be linked to you. "
            "It is encrypted like your report. Leave it empty to be contacted only here."
        ),
    )
    consent_publish = BooleanField(_l("An anonymised summary of my case may be published."))
    consent_refer = BooleanField(
        _l("My case may be passed to partner organisations or UN mechanisms.")
    )

    def validate(self, extra_validators: object = None) -> bool:
        """Field checks, then refuse text that arrived as invalid UTF-8."""
        ok = bool(super().validate(extra_validators))
        for field in self:
            if isinstance(field.data, str) and "\ufffd" in field.data:
                # The request body was not valid UTF-8: storing the mangled
                # text would lose what the person wrote without telling them.
                field.errors = [*field.errors, str(UNREADABLE)]
                ok = False
        return ok

    def keep_draft(self) -> None:
        """Keep a well-formed draft id, so a resend is recognised; replace anything else."""
        # WHY replace silently: a missing or odd value (an old page, a
        # client's own text) must not cost the person their report; it only
        # means this page gets a fresh draft, hence a fresh receipt.
        if not drafts.draft_id_ok(self.draft_receipt.data or ""):
            self.draft_receipt.data = drafts.new_draft_id()

    def sealed_answers(self) -> dict[str, str]:
        """The non-empty free-text answers, by field name."""
        answers = {name: (getattr(self, name).data or "") for name in SEALED_ANSWERS}
        return {name: text for name, text in answers.items() if text.strip()}

    def to_input(self, language: str) -> ReportInput:
        """The validated form as the service's input."""
        year, month = self.year.data, self.month.data
        return ReportInput(
            narrative=self.narrative.data or "",
            region=self.region.data or "",
            incident_month=f"{year}-{month}" if year and month else None,
            violations=tuple(self.violations.data or ()),
            language=language,
            place=self.place.data or None,
            unit=self.unit.data or None,
            reporter_role=self.reporter_role.data or None,
            flags=tuple(self.flags.data or ()),
            answers=self.sealed_answers(),
            contact_details=self.contact_details.data or "",
            consent_contact=self.consent_contact.data or "receipt",
            consent_publish=bool(self.consent_publish.data),
            consent_refer=bool(self.consent_refer.data),
            draft=drafts.Draft(self.draft_receipt.data or "", browser_session()),
        )


def browser_session() -> str:
    """The secret of this browser's session: the raw CSRF token in Flask's session.

    It binds a draft to the browser that was given the form page.
    """
    # WHY this value: it lives only in this browser's session cookie, which
    # the client cannot forge (it is signed with the server's key), and it is
    # stored nowhere on the server, so a seized disk learns nothing new.
    # generate_csrf creates it if this request is the session's first.
    generate_csrf()
    value = session.get(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))
    return value if isinstance(value, str) else ""


class ReceiptSavedForm(FlaskForm):
    """The step that keeps the receipt on screen until the person saved it."""

    receipt = HiddenField(validators=[DataRequired()])
    saved = BooleanField(
        _l("I have written down or saved my receipt."),
        validators=[
            DataRequired(message=_l("Please save your receipt first: it cannot be shown again."))
        ],
    )
