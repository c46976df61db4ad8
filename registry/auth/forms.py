"""Forms of the staff account pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from registry.auth.passwords import MAX_LENGTH
from registry.web.i18n import lazy_gettext as _l

CODE_HELP = _l("The 6-digit code from your authenticator app.")
PASSWORD_HELP = _l("At least 12 characters. A phrase of several unusual words is best.")


class LoginForm(FlaskForm):
    """Email, password and TOTP code, checked together."""

    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=MAX_LENGTH)])
    # Long enough for a recovery code typed with spaces or dashes.
    code = StringField(
        _l("One-time code"),
        validators=[DataRequired(), Length(min=6, max=64)],
        description=_l(
            "The 6-digit code from your authenticator app, or one of your recovery codes."
        ),
    )


class ChoosePasswordForm(FlaskForm):
    """First step of an invite: choose a password."""

    email = EmailField(_l("Email"), validators=[Length(max=254)])
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(max=MAX_LENGTH)],
        description=PASSWORD_HELP,
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )


class TotpForm(FlaskForm):
    """Second step of an invite: prove the authenticator app works."""

    code = StringField(
        _l("One-time code"),
        validators=[DataRequired(), Length(min=6, max=8)],
        description=CODE_HELP,
    )


class CodesSavedForm(FlaskForm):
    """The step that keeps recovery codes on screen until they are saved."""

    codes = HiddenField()
    saved = BooleanField(
        _l("I have saved my recovery codes."),
        validators=[DataRequired(message=_l("Please save your recovery codes first."))],
    )


class ChangePasswordForm(FlaskForm):
    """The current password, and a new one twice."""

    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(), Length(max=MAX_LENGTH)]
    )
    new_password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(max=MAX_LENGTH)],
        description=PASSWORD_HELP,
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[
            DataRequired(),
            EqualTo("new_password", message=_l("The passwords differ.")),
        ],
    )


class NewCodesForm(FlaskForm):
    """New recovery codes, confirmed with the password."""

    codes_password = PasswordField(
        _l("Your password"), validators=[DataRequired(), Length(max=MAX_LENGTH)]
    )
