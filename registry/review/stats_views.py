"""The team's statistics page (/review/stats) and the coordinators' "publish a snapshot".

The page reads only plain columns (registry.review.stats), under the
queue's filters; every chart stands beside a table with the same numbers.
Publishing freezes the protected figures of verified cases into a public
snapshot (registry.evidence.snapshots), which the public pages then show.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_date, format_decimal
from flask_login import current_user
from markupsafe import Markup

from registry import db, runtime
from registry.evidence import pages, snapshots
from registry.evidence.charts import bar_chart
from registry.models import Role
from registry.review import queue_args
from registry.review.stats import BREAKDOWNS, StatsIndex, TeamStats, team_stats
from registry.web.forms import PostedForm, checked_post
from registry.web.i18n import current_language, ngettext
from registry.web.i18n import gettext as _
from registry.web.labels import STATUS_LABELS

bp = Blueprint("team_stats", __name__, url_prefix="/review")

# One table (and chart) of the page: its heading and (label, count) rows.
Table = tuple[str, list[tuple[str, int]]]


def _stats_index() -> StatsIndex:
    """This worker's index of the statistics (plain columns only, see registry.review.stats)."""
    kept = current_app.extensions
    if "registry.team-stats" not in kept:
        kept["registry.team-stats"] = StatsIndex(runtime.config().queue_counts_seconds)
    index: StatsIndex = kept["registry.team-stats"]
    return index


def _today() -> date:
    return datetime.now(UTC).date()


def _age_labels() -> dict[str, str]:
    return {
        "0-7": _("Up to a week"),
        "8-30": _("8 to 30 days"),
        "31-90": _("1 to 3 months"),
        "91-365": _("3 to 12 months"),
        "366+": _("Over a year"),
    }


def _reply_labels() -> dict[str, str]:
    return {
        "0": _("The same day"),
        "1-2": _("1 to 2 days"),
        "3-7": _("3 to 7 days"),
        "8-30": _("8 to 30 days"),
        "31+": _("Over 30 days"),
    }


def _tables(figures: TeamStats, known: queue_args.Choices) -> dict[str, Table]:
    """Every table of the page, labelled in the page's language, in page order."""
    weeks = [
        (_("Week of %(day)s", day=format_date(monday, "medium")), count)
        for monday, count in figures.weeks
    ]
    months = [
        (format_date(date.fromisoformat(f"{month}-01"), "LLLL y"), count)
        for month, count in figures.months
    ]
    ages, replies = _age_labels(), _reply_labels()
    tables: dict[str, Table] = {
        "weeks": (_("Reports received per week"), weeks),
        "months": (_("Reports received per month"), months),
        "statuses": (
            _("Cases by status"),
            [(str(STATUS_LABELS[code]), count) for code, count in figures.statuses],
        ),
        "ages": (
            _("Open cases by time since they were received"),
            [(ages[code], count) for code, count in figures.ages],
        ),
        "replies": (
            _("Time from receipt to the first reply"),
            [(replies[code], count) for code, count in figures.replies.buckets],
        ),
    }
    headings = {
        "region": _("Cases by region"),
        "violation": _("Cases by violation"),
        "place": _("Cases by type of place"),
        "unit": _("Cases by service or unit"),
        "proposal": _("Cases by reform proposal"),
    }
    for facet in BREAKDOWNS:
        counts = figures.breakdowns[facet]
        # Vocabulary order; values no filtered case has are left out (the
        # lists of violations and proposals are long).
        rows = [(label, counts[code]) for code, label in known.options[facet] if code in counts]
        tables[facet] = (headings[facet], rows)
    return tables


def _charts(tables: dict[str, Table]) -> dict[str, Markup]:
    """A bar chart of every table, titled like it (the table carries the same numbers)."""
    described = _("A bar chart of the table below.")
    return {
        name: bar_chart(heading, described, rows, unavailable="", chart_id=f"chart-{name}")
        for name, (heading, rows) in tables.items()
        if rows
    }


@bp.get("/stats")
def stats() -> str:
    """Every staff role: live statistics of the cases under the queue's filters."""
    dbs, lang = db.session(), current_language()
    known = queue_args.filter_choices(dbs, lang, current_user.id)
    wanted = queue_args.without_search(queue_args.parse(request.args, known))
    snapshot = _stats_index().snapshot(db.engine())
    figures = team_stats(snapshot, wanted.filters, _today())
    tables = _tables(figures, known)
    median = figures.replies.median_days
    return render_template(
        "staff/review/stats.html",
        wanted=wanted,
        known=known,
        current=queue_args.link_args(wanted, sort=None),
        figures=figures,
        tables=tables,
        charts=_charts(tables),
        median=None if median is None else format_decimal(median, "#,##0.#"),
        # Number and day only: the payload is several hundred kilobytes.
        latest=next(iter(pages.history(dbs)), None),
        coordinator=current_user.role == Role.COORDINATOR.value,
    )


@bp.post("/stats/publish")
def publish() -> ResponseReturnValue:
    """Coordinators: publish a new snapshot of the protected figures of verified cases."""
    # 403, not the 404 of require_role: every staff member sees the page
    # and its rule ("coordinators publish"), so nothing is hidden by 404.
    if current_user.role != Role.COORDINATOR.value:
        abort(403)
    checked_post(PostedForm())
    dbs = db.session()
    k = runtime.config().evidence_k
    try:
        # publish() records the audit event in the same transaction.
        published = snapshots.publish(dbs, account_id=current_user.id, k=k, today=_today())
    except snapshots.TooFewNewCases as refused:
        dbs.rollback()
        flash(
            ngettext(
                "Not published: since snapshot %(number)d the number of verified cases has "
                "changed by fewer than %(num)d. Publish again when at least %(num)d more case "
                "is verified, so that the change cannot be tied to a few people.",
                "Not published: since snapshot %(number)d the number of verified cases has "
                "changed by fewer than %(num)d. Publish again when at least %(num)d more cases "
                "are verified, so that the change cannot be tied to a few people.",
                k,
                number=refused.since,
            )
        )
        return redirect(url_for("team_stats.stats"), code=303)
    dbs.commit()
    flash(_("Snapshot %(number)d is published.", number=published.number))
    return redirect(url_for("team_stats.stats"), code=303)
