"""The form of the notice choice on ``/staff/account``."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField

from registry.web.i18n import lazy_gettext as _l


class NoticesForm(FlaskForm):
    """One checkbox: e-mail me when there is new activity."""

    notify = BooleanField(_l("E-mail me when there is new activity"))
