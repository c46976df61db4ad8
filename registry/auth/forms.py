"""Forms of the staff account pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from registry.auth.passwords import MAX_LENGTH

CODE_HELP = _l("The 6-digit code from your authenticator app.")


class LoginForm(FlaskForm):
    """Email, password and TOTP code, checked together."""

    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=MAX_LENGTH)])
    code = StringField(
        _l("One-time code"),
        validators=[DataRequired(), Length(min=6, max=8)],
        description=CODE_HELP,
    )


class ChoosePasswordForm(FlaskForm):
    """First step of an invite: choose a password."""

    email = EmailField(_l("Email"), validators=[Length(max=254)])
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(max=MAX_LENGTH)],
        description=_l("At least 12 characters. A phrase of several unusual words is best."),
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
