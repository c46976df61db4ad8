"""Error pages in the visitor's language, never a stack trace."""

from __future__ import annotations

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from registry.kdf_slots import Busy


def _render(status: int) -> tuple[str, int]:
    return render_template("errors/error.html", status=status), status


def register_error_handlers(app: Flask) -> None:
    """Map every HTTP error (and CSRF failures) to the error template."""

    @app.errorhandler(CSRFError)
    def _csrf(_error: CSRFError) -> tuple[str, int]:
        return render_template("errors/error.html", status=400, csrf=True), 400

    @app.errorhandler(Busy)
    def _busy(_error: Busy) -> tuple[str, int]:
        return _render(503)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> tuple[str, int]:
        if error.description == "invalid-utf8":
            return render_template("errors/error.html", status=400, unreadable=True), 400
        return _render(error.code or 500)

    @app.errorhandler(Exception)
    def _unexpected(_error: Exception) -> tuple[str, int]:
        # In debug and testing, Flask's PROPAGATE_EXCEPTIONS lets a bug surface.
        if app.config.get("PROPAGATE_EXCEPTIONS") or app.testing or app.debug:
            raise _error
        # The exception is not logged with request data: a traceback could
        # carry a submitter's words into a log file (promise 3).
        app.logger.error("unexpected error: %s", type(_error).__name__)
        return _render(500)
