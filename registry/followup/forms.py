"""Forms of the follow-up pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, MultipleFileField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from registry.records.messages import MESSAGE_MAX
from registry.web.forms import options
from registry.web.i18n import lazy_gettext as _l


class ReceiptForm(FlaskForm):
    """Enter the receipt."""

    receipt = StringField(
        _l("Your receipt"),
        validators=[DataRequired(message=_l("Please enter your receipt.")), Length(max=64)],
        description=_l("20 letters and digits, for example ABCD-EFGH-JKMN-PQRS-TVWX."),
    )
    # A message written when the follow-up session had ended, carried
    # through this form (never stored) so it is not lost; empty otherwise.
    message = TextAreaField(
        _l("Your message, not sent yet"),
        validators=[Length(max=MESSAGE_MAX)],
        description=_l("It is sent only after you open your report and press “Send”."),
    )


class MessageForm(FlaskForm):
    """Add information or answer the staff."""

    text = TextAreaField(
        _l("Add information or answer a question"),
        validators=[DataRequired(message=_l("Please write a message.")), Length(max=MESSAGE_MAX)],
        description=_l("Encrypted like your report."),
    )


class FilesForm(FlaskForm):
    """More files for the report, sealed like the first ones."""

    files = MultipleFileField(_l("Add files"))
    remove_metadata = BooleanField(_l("Remove location and camera data from photos"), default=True)


class ConsentForm(FlaskForm):
    """The submitter's choices, each a separate explicit answer."""

    contact = RadioField(
        _l("May the staff contact you?"),
        choices=options(
            [
                ("receipt", _l("Yes, by replies that I read here with my receipt")),
                ("contact", _l("Yes, also at the contact I gave with the report")),
                ("none", _l("No, do not contact me")),
            ]
        ),
        validators=[DataRequired()],
    )
    publish = BooleanField(_l("An anonymised summary of my case may be published."))
    refer = BooleanField(_l("My case may be passed to partner organisations or UN mechanisms."))


class WithdrawForm(FlaskForm):
    """Explicit confirmation before everything is deleted.

    The receipt is asked again: the follow-up cookie alone (copied from an
    unlocked phone, say) must not be enough to destroy the evidence.
    """

    receipt = StringField(
        _l("Your receipt, once more"),
        validators=[DataRequired(message=_l("Please enter your receipt.")), Length(max=64)],
        description=_l("To be sure it is you who deletes the report."),
    )
    confirm = BooleanField(
        _l("I understand that my report, my files and all messages will be deleted for good."),
        validators=[DataRequired(message=_l("Please tick the box to confirm."))],
    )
