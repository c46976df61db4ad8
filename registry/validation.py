"""The status of a page that shows a form again."""

from __future__ import annotations

from flask import request


def refused_status() -> int:
    """200 for a form shown the first time; 422 when a submission was refused.

    A refused submission is re-shown with every answer kept and each problem
    explained; the 4xx status says to any client that nothing was stored.
    """
    return 422 if request.method == "POST" else 200
