"""Forms of the audit log page."""

from __future__ import annotations

from wtforms import StringField

from registry.web.forms import PostedForm


class VerifyForm(PostedForm):
    """Check the whole chain now, against a head kept earlier if one is given.

    Written out in the page's template.  The view parses the anchor
    (``page.parse_anchor``) and answers 422 with its message when it is not
    a kept head; an empty anchor checks the chain on its own.
    """

    anchor = StringField(default="")
