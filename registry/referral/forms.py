"""Forms of the referral pages: a partner (administrators), a pack (coordinators)."""

from __future__ import annotations

from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from registry.referral.partners import CONTACT_MAX, NAME_MAX
from registry.web.forms import CheckboxesField, PostedForm
from registry.web.i18n import lazy_gettext as _l

# Partner ids are random 62-bit row ids (registry.models.base.random_row_id).
MAX_ROW_ID = 2**63 - 1


class PartnerForm(PostedForm):
    """A new partner: its name, a contact note and its age recipients."""

    name = StringField(
        _l("Name of the organisation"), validators=[DataRequired(), Length(max=NAME_MAX)]
    )
    contact = TextAreaField(
        _l("How to reach them"),
        validators=[Length(max=CONTACT_MAX)],
        description=_l("A note for coordinators. Never put a submitter's details here."),
    )
    recipients = TextAreaField(
        _l("Their age public keys, one per line"),
        validators=[DataRequired()],
        description=_l(
            "Each key starts with “age1” (made with age-keygen or rage-keygen). "
            "A pack opens with any one of them."
        ),
    )


class PartnerIdField(StringField):
    """A partner's row id as an int; None when absent, not digits or out of range.

    Never a validation error: the service refuses an unknown partner with
    its own message (and nothing is exported).
    """

    def process_formdata(self, valuelist: list[str]) -> None:
        value = valuelist[0] if valuelist else ""
        ok = isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19
        self.data = int(value) if ok and int(value) <= MAX_ROW_ID else None


class ReferForm(PostedForm):
    """Which cases go to which partner, with or without reviewer notes."""

    # The choices are the cases the page listed; the service checks each
    # posted id again (consent, key), so any id may be sent here.
    cases = CheckboxesField(_l("Cases"), validate_choice=False)
    # Rendered by the template as a list of the active partners.
    partner = PartnerIdField(_l("Partner"))
    include_notes = BooleanField(_l("Include reviewer notes"))
