"""The audit log page for administrators (``/staff/audit``)."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from registry import db
from registry.audit import VerifyResult
from registry.auditlog import page as log_page
from registry.auditlog.forms import VerifyForm
from registry.auditlog.labels import ACTION_LABELS, ACTOR_LABELS, PROBLEM_LABELS, action_label
from registry.auth.roles import require_role
from registry.models import Role
from registry.web.i18n import gettext as _

bp = Blueprint("audit", __name__, url_prefix="/staff/audit")

PROBLEMS = {
    "actor": lambda: _("Enter a staff member’s email address, “system” or “submitter”."),
    "actor-unknown": lambda: _("No staff account has this email address."),
    "action": lambda: _("Please choose an action from the list."),
    "case": lambda: _("A case id is up to 32 letters and digits."),
    "from": lambda: _("Enter the first day as YYYY-MM-DD, for example 2026-03-01."),
    "to": lambda: _("Enter the last day as YYYY-MM-DD, for example 2026-03-31."),
    "range": lambda: _("The first day is after the last day."),
    "anchor": lambda: _("A kept head is a number, a colon and 64 hexadecimal characters."),
}


def _raw() -> log_page.RawFilters:
    args = request.args
    return log_page.RawFilters(
        actor=args.get("actor", ""),
        action=args.get("action", ""),
        case=args.get("case", ""),
        since=args.get("from", ""),
        until=args.get("to", ""),
    )


def _render(
    raw: log_page.RawFilters,
    known: list[str],
    listing: log_page.LogPage | None,
    problems: tuple[str, ...] = (),
    chain: VerifyResult | None = None,
) -> str:
    return render_template(
        "staff/audit/log.html",
        raw=raw,
        listing=listing,
        problems={code: PROBLEMS[code]() for code in problems},
        chain=chain,
        actions=sorted(known, key=lambda code: (code not in ACTION_LABELS, action_label(code))),
        action_label=action_label,
        actor_labels=ACTOR_LABELS,
        problem_labels=PROBLEM_LABELS,
    )


@bp.get("")
@require_role(Role.ADMIN)
def log() -> ResponseReturnValue:
    """Events newest first, filtered; reading them is itself an event."""
    dbs, raw = db.session(), _raw()
    known = log_page.actions(dbs)
    page = log_page.clamp_page(request.args.get("page", 1, type=int))
    try:
        filters = log_page.parse_filters(dbs, raw, known)
    except log_page.BadFilters as bad:
        # Nothing is listed for filters that cannot be understood: a list
        # that ignored them would look like an answer to the question asked.
        return _render(raw, known, None, bad.problems), 422
    listing = log_page.events_page(dbs, filters, page)
    log_page.record_view(dbs, current_user.id, filters, page)
    dbs.commit()
    return _render(raw, known, listing)


@bp.post("/verify")
@require_role(Role.ADMIN)
def verify() -> ResponseReturnValue:
    """Walk the whole chain now (too slow to run on every page view)."""
    form = VerifyForm()
    if not form.validate_on_submit():
        abort(400)
    dbs = db.session()
    try:
        anchor = log_page.parse_anchor(form.anchor.data)
    except log_page.BadAnchor:
        return _render(log_page.RawFilters(), log_page.actions(dbs), None, ("anchor",)), 422
    chain = log_page.check_chain(dbs, current_user.id, anchor)
    dbs.commit()
    listing = log_page.events_page(dbs, log_page.LogFilters(), 1)
    return _render(log_page.RawFilters(), log_page.actions(dbs), listing, chain=chain)
