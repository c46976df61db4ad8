"""Translated labels for plain codes shown on staff pages."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

STATUS_LABELS = {
    "new": _l("New"),
    "in-review": _l("In review"),
    "needs-info": _l("Needs information"),
    "verified": _l("Verified"),
    "closed": _l("Closed"),
}


def init_app(app: Flask) -> None:
    """Expose the label maps to templates."""

    @app.context_processor
    def _labels() -> dict[str, object]:
        return {"status_labels": STATUS_LABELS}
