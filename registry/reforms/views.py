"""Staff pages of the reform catalogue."""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from registry import db
from registry.models import ReformProposal
from registry.reforms import service
from registry.reforms.standards import standard_title
from registry.taxonomy.service import titles
from registry.web.i18n import current_language

bp = Blueprint("reforms", __name__, url_prefix="/proposals")


@bp.get("/")
def catalogue() -> str:
    """Blocks, themes and proposals, with what comes from the draft."""
    return render_template("staff/reforms/catalogue.html", blocks=service.catalogue(db.session()))


@bp.get("/<code>")
def proposal(code: str) -> str:
    """One proposal and the cases mapped to it."""
    dbs = db.session()
    found = dbs.get(ReformProposal, code)
    if found is None:
        abort(404)
    lang = current_language()
    return render_template(
        "staff/reforms/proposal.html",
        proposal=found,
        # In the page's language; the English citation stays the code.
        standards=[(citation, standard_title(citation, lang)) for citation in found.standards],
        cases=service.cases_for_proposal(dbs, code),
        region_titles=titles(dbs, "regions", lang),
    )
