"""The hold form on the case page (coordinators)."""

from __future__ import annotations

from datetime import date

from wtforms import StringField

from registry.retention.holds import REASON_MAX
from registry.web.forms import PostedForm
from registry.web.i18n import lazy_gettext as _l


class HoldForm(PostedForm):
    """Why the case is held and until when; the holds service judges both."""

    reason = StringField(
        _l("Reason for the hold"),
        default="",
        description=_l("At most 300 characters. Name nobody: other staff read it."),
        render_kw={"maxlength": REASON_MAX},
    )
    # A date picker where the browser has one; YYYY-MM-DD typed elsewhere.
    until = StringField(_l("Keep until"), default="", render_kw={"type": "date"})

    def until_day(self) -> date | None:
        """The day typed, or None when it is not a YYYY-MM-DD date."""
        try:
            return date.fromisoformat((self.until.data or "").strip())
        except ValueError:
            return None


class ReleaseForm(PostedForm):
    """Only the CSRF token: the hold to end is the case's."""
