"""Retention on the web: a coordinator's hold on the case page; the periods for templates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Blueprint, abort, flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from registry import db, runtime
from registry.auth import loader
from registry.models import Report
from registry.records.access import NoAccess, find_report
from registry.retention import holds
from registry.retention.forms import HoldForm, ReleaseForm
from registry.retention.rules import KEEP_CODES, Rules
from registry.taxonomy.service import bundled_choices
from registry.web.forms import checked_post
from registry.web.i18n import current_language
from registry.web.i18n import gettext as _

bp = Blueprint("retention", __name__, url_prefix="/review/case")

FAILURES = {
    "reason": lambda: _("Please give a reason for the hold (at most 300 characters)."),
    "until": lambda: _("Please choose the day the hold ends: after today, at most five years on."),
}


@dataclass(frozen=True)
class Periods:
    """The retention periods as the public pages state them."""

    # Months after closing, for every case without a period of its own.
    closed_months: int
    # (title of the disposition in the page's language, months), in vocabulary order.
    by_disposition: list[tuple[str, int]]
    # Whether the plain codes of a deleted case stay (REGISTRY_RETENTION_KEEP=codes).
    keep_codes: bool


@bp.app_template_global("retention_periods")
def retention_periods() -> Periods:
    """The configured periods, for the sentence on the report form and /followup.

    From the configuration and the bundled vocabulary only: the form must
    still show it while the database is down.
    """
    rules = Rules.from_config(runtime.config())
    return Periods(
        rules.closed_months,
        [
            (title, rules.by_disposition[code])
            for code, title in bundled_choices("dispositions", current_language())
            if code in rules.by_disposition
        ],
        rules.keep == KEEP_CODES,
    )


def _change(
    public_id: str, apply: Callable[[Report, bytes], object], done: str
) -> ResponseReturnValue:
    """Apply one hold change with the coordinator's key; flash; back to the case.

    WHY 404 for everyone else (reviewers, coordinators without the key): as
    for every change to a case, a case one cannot change does not exist for
    them, so an id is never confirmed.
    """
    dbs = db.session()
    try:
        apply(find_report(dbs, public_id), loader.private_key())
    except NoAccess:
        abort(404)
    except holds.HoldError as bad:
        dbs.rollback()
        flash(FAILURES[bad.field]())
    else:
        dbs.commit()
        flash(done)
    return redirect(url_for("review.case", public_id=public_id, _anchor="retention"), code=303)


@bp.post("/<public_id>/hold")
def hold(public_id: str) -> ResponseReturnValue:
    """Hold the case's sealed content past its deletion day (coordinators)."""
    form = checked_post(HoldForm())
    return _change(
        public_id,
        lambda report, key: holds.hold(
            db.session(),
            report,
            account_id=current_user.id,
            private_key=key,
            reason=form.reason.data or "",
            until=form.until_day(),
            today=datetime.now(UTC).date(),
        ),
        _("The case is held."),
    )


@bp.post("/<public_id>/hold/release")
def release(public_id: str) -> ResponseReturnValue:
    """End the case's hold (coordinators)."""
    checked_post(ReleaseForm())
    return _change(
        public_id,
        lambda report, key: holds.release(
            db.session(), report, account_id=current_user.id, private_key=key
        ),
        _("The hold is ended."),
    )
