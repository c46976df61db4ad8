"""The case page's public summary: write, approve (four eyes), remove.

Each view is one small POST, like the other case actions (casework): read
the form (which checks CSRF), call one summaries service function with the
staff member's key, commit, and go back to the case page.  A refused
summary comes back on the case page itself (422) with the typed text kept
and the reason next to it: a 1,500-character text must not be lost to a
date written one way too precisely.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from flask import Blueprint, flash, g, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from registry import db
from registry.evidence import summaries
from registry.models import Account, CaseSummary, Report
from registry.review import views as review_views
from registry.review.casework import with_case_key
from registry.review.forms import SummaryApprovalForm, SummaryForm
from registry.web.forms import PostedForm, checked_post
from registry.web.i18n import gettext as _
from registry.web.i18n import ngettext

bp = Blueprint("summaries", __name__, url_prefix="/review/case")

# Refusals that concern the text itself: shown on the text field.
_TEXT_REASONS = frozenset({"empty", "long", "date"})


def _explain(refusal: summaries.SummaryError) -> str:
    """The refusal in the reviewer's language."""
    reason = refusal.reason
    if reason == "date":
        return str(
            _(
                "“%(fragment)s” reads as an exact date. Give the month or the year at most "
                "(for example “in August 2020”).",
                fragment=refusal.fragment,
            )
        )
    if reason == "long":
        return str(
            ngettext(
                "Please keep the summary to at most %(num)d character.",
                "Please keep the summary to at most %(num)d characters.",
                summaries.TEXT_MAX,
            )
        )
    messages = {
        "empty": lambda: _("Please write the summary."),
        "consent": lambda: _(
            "The submitter has not consented to publication: this case cannot have a public "
            "summary."
        ),
        "verified": lambda: _("Only a verified case can have a public summary."),
        "missing": lambda: _("This case has no public summary."),
        "writer": lambda: _(
            "The person who wrote this summary is no longer on the team. Save it again as its "
            "writer, then ask a colleague to approve it."
        ),
        "four-eyes": lambda: _(
            "A summary is approved by a second key holder, not by the person who wrote it."
        ),
        "changed": lambda: _(
            "The summary was changed since you read it. Read it again before approving it."
        ),
        "checklist": lambda: _("Please confirm both points of the checklist before approving."),
    }
    return str(messages[reason]())


@dataclass
class _Posted:
    """What a refused POST hands back to the case page it re-renders."""

    form: SummaryForm | None = None
    approval: SummaryApprovalForm | None = None
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SummaryPanel:
    """What the case page's summary section shows (templates/staff/review/_public_summary.html)."""

    summary: CaseSummary | None
    # Consent to publish and verified: a summary may be written.
    publishable: bool
    # The writing and approval forms, only where the page shows them
    # (publishable): most cases have no consent to publish, and building
    # both forms for every case page cost it more than the section's text.
    form: SummaryForm | None
    approval: SummaryApprovalForm | None
    # The current staff member wrote it: they may not approve it too.
    mine: bool
    writer: str | None
    approver: str | None
    problems: list[str]


def _email(account_id: int | None) -> str | None:
    account = db.session().get(Account, account_id) if account_id is not None else None
    return account.email if account is not None else None


def summary_panel(report: Report) -> SummaryPanel:
    """The summary section of ``report``'s case page, for the staff member viewing it.

    The case page is shown only to those who hold the case key, so this
    reads plain columns only and asks nothing of the key itself.
    """
    dbs = db.session()
    # Loaded with the report where the case page opens it (open_report).
    summary = report.summary
    posted: _Posted = g.get("summary_posted") or _Posted()
    publishable = summaries.is_publishable(dbs, report)
    form, approval = None, None
    if publishable:
        form = posted.form or SummaryForm(formdata=None, text=summary.text if summary else "")
        approval = posted.approval or SummaryApprovalForm(formdata=None)
        # Always the digest of the text shown on this page, never a posted one.
        approval.seen.data = summaries.text_digest(summary.text) if summary else ""
    return SummaryPanel(
        summary=summary,
        publishable=publishable,
        form=form,
        approval=approval,
        mine=summary is not None and summary.written_by == current_user.id,
        writer=_email(summary.written_by) if summary else None,
        approver=_email(summary.approved_by) if summary else None,
        problems=posted.problems,
    )


@bp.app_context_processor
def _panel_helper() -> dict[str, Callable[[Report], SummaryPanel]]:
    return {"summary_panel": summary_panel}


def _change(
    public_id: str,
    apply: Callable[[Report, bytes], object],
    done: str,
    posted: _Posted,
) -> ResponseReturnValue:
    """Run one change with the staff member's key; refused: the case page again, 422."""
    dbs = db.session()
    try:
        with_case_key(public_id, apply)
    except summaries.SummaryError as refused:
        dbs.rollback()
        message = _explain(refused)
        if refused.reason in _TEXT_REASONS and posted.form is not None:
            posted.form.text.errors = [message]
        else:
            posted.problems.append(message)
        g.summary_posted = posted
        return review_views.case(public_id), 422
    dbs.commit()
    flash(done)
    return redirect(url_for("review.case", public_id=public_id, _anchor="public-summary"), code=303)


def _today() -> datetime:
    return datetime.now(UTC)


@bp.post("/<public_id>/summary")
def write(public_id: str) -> ResponseReturnValue:
    """Write or edit the case's public summary (an edit clears its approval)."""
    form = checked_post(SummaryForm())
    return _change(
        public_id,
        lambda report, key: summaries.write(
            db.session(),
            report,
            account_id=current_user.id,
            private_key=key,
            text=form.text.data or "",
            today=_today().date(),
        ),
        _("The public summary is saved. A second key holder approves it before it is published."),
        _Posted(form=form),
    )


@bp.post("/<public_id>/summary/approve")
def approve(public_id: str) -> ResponseReturnValue:
    """Approve the summary as a second key holder, with the checklist ticked."""
    form = checked_post(SummaryApprovalForm())
    return _change(
        public_id,
        lambda report, key: summaries.approve(
            db.session(),
            report,
            account_id=current_user.id,
            private_key=key,
            seen=form.seen.data or "",
            no_identifying_details=bool(form.no_identifying_details.data),
            no_finer_place_or_date=bool(form.no_finer_place_or_date.data),
            today=_today().date(),
        ),
        _("The public summary is approved. The next snapshot publishes it."),
        _Posted(approval=form),
    )


@bp.post("/<public_id>/summary/remove")
def remove(public_id: str) -> ResponseReturnValue:
    """Delete the summary, here and from every published snapshot."""
    checked_post(PostedForm())
    return _change(
        public_id,
        lambda report, key: summaries.remove(
            db.session(), report, account_id=current_user.id, private_key=key
        ),
        _("The public summary is deleted, here and from every published snapshot."),
        _Posted(),
    )
