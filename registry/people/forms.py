"""Forms of the people pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField
from wtforms.validators import DataRequired, Length, Regexp

from registry.web.forms import options
from registry.web.i18n import lazy_gettext as _l
from registry.web.labels import ROLE_LABELS


def _strip(value: str | None) -> str | None:
    return value.strip() if value else value


class InviteForm(FlaskForm):
    """Who to invite, and with which role."""

    email = EmailField(
        _l("Email"),
        filters=[_strip],
        validators=[
            DataRequired(),
            Length(max=254),
            # A shape check only: the link is handed over by the admin, and
            # the address is never used to send anything.
            Regexp(r"[^@\s]+@[^@\s]+\.[^@\s]+\Z", message=_l("Please enter an email address.")),
        ],
    )
    role = SelectField(
        _l("Role"),
        choices=options(ROLE_LABELS.items()),
        validators=[DataRequired()],
    )
