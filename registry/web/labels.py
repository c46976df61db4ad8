"""Translated labels for plain codes shown on staff pages."""

from __future__ import annotations

from flask import Flask

from registry.web.i18n import lazy_gettext as _l

STATUS_LABELS = {
    "new": _l("New"),
    "in-review": _l("In review"),
    "needs-info": _l("Needs information"),
    "verified": _l("Verified"),
    "closed": _l("Closed"),
}

# Why two cases are linked (registry.models.LinkKind).
LINK_KIND_LABELS = {
    "same-incident": _l("Same incident"),
    "same-perpetrator": _l("Same perpetrator"),
    "duplicate": _l("Duplicate"),
}

# What a staff account may do (registry.models.Role).
ROLE_LABELS = {
    "reviewer": _l("Reviewer"),
    "coordinator": _l("Coordinator"),
    "admin": _l("Administrator"),
}

# What a submitter reads about their case: plain words, no jargon.
SUBMITTER_STATUS = {
    "new": _l("Received. Nobody has read it yet."),
    "in-review": _l("The staff are reading and checking your report."),
    "needs-info": _l("The staff need more information from you. Please read their message below."),
    "verified": _l("Your report has been checked and is part of the evidence."),
    "closed": _l("Work on your report is finished."),
}


def init_app(app: Flask) -> None:
    """Expose the label maps to templates."""

    @app.context_processor
    def _labels() -> dict[str, object]:
        return {
            "status_labels": STATUS_LABELS,
            "submitter_status": SUBMITTER_STATUS,
            "link_kind_labels": LINK_KIND_LABELS,
            "role_labels": ROLE_LABELS,
        }
