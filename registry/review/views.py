"""Reviewer pages: the queue and the case page."""

from __future__ import annotations

from collections.abc import Callable, Container, Generator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from functools import lru_cache, partial
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import format_date
from flask_login import current_user
from jinja2.runtime import Context
from jinja2.utils import pass_context
from markupsafe import Markup
from sqlalchemy.orm import Session
from wtforms.fields.choices import SelectChoice

from registry import audit, db, runtime
from registry.attachments.downloads import (
    PREVIEW_CSP,
    content_disposition,
    open_for_staff,
    open_preview,
)
from registry.attachments.service import AttachmentRejected, AttachmentView, FileDamaged
from registry.attachments.storage import BlobStore
from registry.attachments.upload import blob_store
from registry.auditlog import page as log_page
from registry.auditlog.labels import ACTOR_LABELS, action_label
from registry.auth import loader
from registry.models import Report, Role
from registry.records import messages as case_messages
from registry.records.access import NoAccess, data_key_for, find_report
from registry.records.integrity import Damage, record_damage
from registry.records.vocabulary import QUESTIONS
from registry.reforms import service as reforms
from registry.retention import status as retention_status
from registry.retention.forms import HoldForm
from registry.retention.rules import Rules
from registry.review import attention, links, queue_args, search
from registry.review.case_page import open_case_page
from registry.review.forms import CodingForm, MappingForm, ReplyForm
from registry.review.queue import PAGE_SIZE, count_matching, queue_page
from registry.review.queue_rows import QueueRow, RowWords, options_html, rows_html
from registry.review.stats_views import _stats_index
from registry.taxonomy.service import choices, titles
from registry.web.forms import options
from registry.web.i18n import current_language
from registry.web.i18n import gettext as _

bp = Blueprint("review", __name__, url_prefix="/review")


@lru_cache(maxsize=4096)
def _day(day: date, locale: str) -> str:
    return str(format_date(day, "medium"))


@lru_cache(maxsize=4096)
def _month(month: str, locale: str) -> str:
    try:
        first = date.fromisoformat(f"{month}-01")
    except ValueError:
        return month  # not "YYYY-MM": shown as stored
    return str(format_date(first, "LLLL y"))


# WHY these may be kept per worker: a day or a month and its words in one
# language, nothing about a case or a person; the queue shows 50 of each
# per page, which Babel would otherwise format afresh every time.
# The language comes from the render's context (one lookup per page, not
# one Babel context lookup per row).
@bp.app_template_filter("staff_day")
@pass_context
def staff_day(context: Context, day: date) -> str:
    """A day in the page's language ("4 Mar 2025"), for staff pages."""
    return _day(day, _page_language(context))


@bp.app_template_filter("staff_month")
@pass_context
def staff_month(context: Context, month: str | None) -> str:
    """A month of incident ("YYYY-MM") in the page's language ("August 2020"); "—" if none."""
    return _month_or_dash(month, _page_language(context))


def _page_language(context: Context) -> str:
    return context.get("current_language") or current_language()


def _month_or_dash(month: str | None, lang: str) -> str:
    return _month(month, lang) if month else "—"


@bp.app_template_global("queue_rows")
@pass_context
def queue_rows(
    context: Context,
    reports: Sequence[QueueRow],
    waiting: Container[int],
    fresh: Container[int],
    case_prefix: str,
    statuses: Mapping[str, str],
    regions: Mapping[str, str],
    urgent_tag: str,
    waiting_tag: str,
    fresh_tag: str,
) -> Markup:
    """The queue table's rows (registry.review.queue_rows), in the page's language."""
    lang = _page_language(context)
    words = RowWords(
        case_prefix=case_prefix,
        statuses=statuses,
        regions=regions,
        urgent_tag=urgent_tag,
        waiting_tag=waiting_tag,
        fresh_tag=fresh_tag,
        day=lambda day: _day(day, lang),
        month=lambda month: _month_or_dash(month, lang),
    )
    return rows_html(reports, words, waiting, fresh)


# The filters' options (queue and statistics pages), see registry.review.queue_rows.
bp.add_app_template_global(options_html, "filter_options")


def month_title(month: str) -> str:
    """A "YYYY-MM" month in the request's language, outside a template."""
    return _month(month, current_language())


# open_for_staff or open_preview: (db, report, data key, file id, store).
FileOpener = Callable[
    [Session, Report, bytes, str, BlobStore], tuple[AttachmentView, Generator[bytes, None, None]]
]


@bp.get("/")
def queue() -> str:
    """The queue: filters, counts and order on plain columns; search in sealed texts."""
    dbs, lang = db.session(), current_language()
    known = queue_args.filter_choices(dbs, lang, current_user.id)
    wanted = queue_args.parse(request.args, known)
    # The statistics page's snapshot (registry.review.stats): the queue's
    # facet bitsets plus the cases waiting on their submitter, from one
    # scan per worker for both pages.
    stats = _stats_index().snapshot(db.engine())
    snapshot = stats.reports
    counts = snapshot.counts(replace(wanted.filters, fresh_for=None))
    # "News since I last opened it" is the viewer's own, so no shared
    # snapshot holds it: one query lists the viewer's cases with news (few),
    # which then serve the marks, the count, the filter and the order.
    fresh = attention.fresh_ids(dbs, current_user.id)
    total = counts.total
    if wanted.filters.fresh_for is not None:
        total = count_matching(
            dbs, wanted.filters, waiting_among=stats.waiting_ids, fresh_among=fresh
        )
    found = None
    if wanted.words:
        found = search.search(
            dbs,
            wanted.filters,
            wanted.words,
            account_id=current_user.id,
            private_key=loader.private_key(),
            after=wanted.after,
        )
        dbs.commit()  # the audit event: cases were opened to search them
    reports: Sequence[Any]  # Report objects (search) or plain rows (queue)
    if found:
        reports = found.matches
        waiting = attention.waiting_marks(dbs, [report.id for report in found.matches])
    else:
        frequent = snapshot.frequent(wanted.filters, wanted.page * PAGE_SIZE)
        reports = queue_page(
            dbs,
            wanted.filters,
            wanted.sort,
            wanted.page,
            frequent=frequent,
            waiting_among=stats.waiting_ids,
            fresh_among=fresh,
        )
        # The rows carry their own mark, tested afresh (queue.queue_page).
        waiting = frozenset(row.id for row in reports if row.waiting)
    return render_template(
        "staff/review/queue.html",
        wanted=wanted,
        known=known,
        counts=counts,
        # The facet counts leave "new since my last visit" out (see above).
        counts_apply=wanted.filters.fresh_for is None,
        total=total,
        fresh=fresh,
        waiting=waiting,
        found=found,
        reports=reports,
        link=partial(queue_args.link_args, wanted),
        plain=queue_args.link_args(queue_args.without_search(wanted)),
        page_size=PAGE_SIZE,
        region_titles=titles(dbs, "regions", lang),
    )


def _active_proposals() -> list[reforms.ActiveProposal]:
    """Proposals a case can be mapped to (kept per worker by the service)."""
    return reforms.active_proposals(db.session())


def _mapping_form() -> MappingForm:
    form = MappingForm()
    form.proposal.choices = _proposal_choices(current_language())
    return form


# The proposal choices per language, made once per list of active proposals
# (kept per worker by the service): the same list object on every page
# lets the select reuse its rendering (forms.RememberingSelect).
_PROPOSAL_CHOICES: dict[str, tuple[object, list[SelectChoice]]] = {}


def _proposal_choices(lang: str) -> list[SelectChoice]:
    proposals = _active_proposals()
    kept = _PROPOSAL_CHOICES.get(lang)
    if kept is None or kept[0] is not proposals:
        # Titles in the page's language, grouped by reform block (issue 13):
        # the catalogue's order, so a block's proposals sit together.
        choices = [
            SelectChoice(p.code, p.title(lang), optgroup=p.block_title(lang)) for p in proposals
        ]
        kept = (proposals, choices)
        _PROPOSAL_CHOICES[lang] = kept
    return kept[1]


def _coding_form(report: Report) -> CodingForm:
    """The codes form, filled with the case's current codes."""
    dbs, lang = db.session(), current_language()
    form = CodingForm(
        formdata=None,
        violations=[v.code for v in report.violations],
        place=report.place or "",
        unit=report.unit or "",
        region=report.region,
        incident_month=report.incident_month or "",
    )
    form.violations.choices = options(choices(dbs, "violation_types", lang))
    form.place.choices = options([("", "—"), *choices(dbs, "places", lang)])
    form.unit.choices = options([("", "—"), *choices(dbs, "units", lang)])
    form.region.choices = options(choices(dbs, "regions", lang))
    return form


def _render_case(public_id: str, form: MappingForm, reply: ReplyForm | None = None) -> str:
    dbs, lang = db.session(), current_language()
    try:
        page = open_case_page(dbs, public_id, current_user.id, loader.private_key())
    except NoAccess:
        return _purged_or_404(public_id)
    dbs.commit()  # the opening's event, before anything opened leaves (promise 7)
    case = page.case
    today = datetime.now(UTC).date()
    return render_template(
        "staff/review/case.html",
        case=case,
        form=form,
        reply=reply or ReplyForm(formdata=None),
        region_titles=titles(dbs, "regions", lang),
        violation_titles=titles(dbs, "violation_types", lang),
        vocab={
            kind: titles(dbs, kind, lang) for kind in ("places", "units", "flags", "reporter_roles")
        },
        questions=QUESTIONS,
        holders=page.holders,
        others=page.others,
        dispositions=choices(dbs, "dispositions", lang),
        proposal_titles={p.code: p.title(lang) for p in _active_proposals()},
        links=page.links,
        retention=retention_status.state_of(case.report, _retention_rules(), today),
        # Only coordinators see the hold form (templates/staff/retention/_case.html).
        hold_form=HoldForm(formdata=None) if current_user.role == Role.COORDINATOR else None,
        today=today,
    )


def _retention_rules() -> Rules:
    return Rules.from_config(runtime.config())


def _purged_or_404(public_id: str) -> str:
    """The page of a case whose sealed content retention deleted; else 404.

    WHY any staff member may see it: it shows the plain row the queue shows
    everyone anyway (no key opens anything any more); a case that is not
    purged and cannot be opened stays a 404, as before.
    """
    dbs, lang = db.session(), current_language()
    report = retention_status.purged_report(dbs, public_id)
    if report is None:
        abort(404)
    return render_template(
        "staff/retention/purged.html",
        report=report,
        region_titles=titles(dbs, "regions", lang),
        violation_titles=titles(dbs, "violation_types", lang),
        disposition_titles=titles(dbs, "dispositions", lang),
    )


@bp.get("/case/<public_id>/codes")
def coding(public_id: str) -> str:
    """The form that corrects a case's plain codes (posted to casework.code).

    A page of its own rather than part of the case page: rendering every
    vocabulary as choices cost the case page about a third of its time.
    """
    dbs = db.session()
    try:
        report = find_report(dbs, public_id)
        # Only those who hold the key may change the codes: ask the same here.
        data_key_for(dbs, report, current_user.id, loader.private_key())
    except NoAccess:
        abort(404)
    form = _coding_form(report)
    # A month picker where the browser has one (type="month" sends YYYY-MM);
    # elsewhere a text box, so the hint shows the form with a month named in
    # the page's language rather than the letters "YYYY-MM".
    form.incident_month.description = _(
        "Year and month, for example %(digits)s for %(month)s. "
        "Leave it empty when it is not known.",
        digits="2020-08",
        month=month_title("2020-08"),
    )
    return render_template("staff/review/coding.html", report=report, coding=form)


@bp.get("/case/<public_id>/history")
def history(public_id: str) -> str:
    """The audit events of one case, for those who hold its key (the whole log is admin-only).

    A page of its own, linked from the case page: the case page stays one
    read of the case, and the history is read (and audited) when wanted.
    """
    dbs = db.session()
    try:
        report = find_report(dbs, public_id)
        # The same test as opening the case: a key wrap that opens with this
        # person's key, checked cryptographically, not a role (promise 6).
        data_key_for(dbs, report, current_user.id, loader.private_key())
    except NoAccess:
        abort(404)
    page = log_page.clamp_page(request.args.get("page", 1, type=int))
    listing = log_page.case_history(dbs, report.public_id, current_user.id, page)
    dbs.commit()
    return render_template(
        "staff/review/history.html",
        public_id=report.public_id,
        listing=listing,
        action_label=action_label,
        actor_labels=ACTOR_LABELS,
        submitter=audit.SUBMITTER,
    )


@bp.get("/case/<public_id>")
def case(public_id: str) -> str:
    """The case page: every sealed field opened for this request."""
    return _render_case(public_id, _mapping_form())


@bp.post("/case/<public_id>/mappings")
def map_case(public_id: str) -> ResponseReturnValue:
    """Map the case to a reform proposal."""
    dbs, form = db.session(), _mapping_form()
    if not form.validate_on_submit():
        return _render_case(public_id, form)
    try:
        report = find_report(dbs, public_id)
        reforms.map_case(
            dbs,
            report,
            account_id=current_user.id,
            private_key=loader.private_key(),
            proposal_code=form.proposal.data or "",
            strength=form.strength.data or "",
            rationale=form.rationale.data or "",
        )
    except NoAccess:
        abort(404)
    except reforms.InvalidMapping:
        form.rationale.errors = [_("Please check this answer.")]
        return _render_case(public_id, form)
    dbs.commit()
    flash(_("The case is mapped to the proposal."))
    return redirect(url_for("review.case", public_id=public_id), code=303)


def _opened_file(
    public_id: str, file_id: str, opener: FileOpener, action: str
) -> tuple[AttachmentView, Generator[bytes, None, None]]:
    """Open one attachment with the reviewer's key (404 without it); audit it.

    The opener has checked the whole file before this returns, so the
    event says that a verified file was opened; a file that failed is
    audited as damage instead, and FileDamaged answers the page below.
    """
    dbs = db.session()
    try:
        report = find_report(dbs, public_id)
        dek = data_key_for(dbs, report, current_user.id, loader.private_key())
        view, chunks = opener(dbs, report, dek, file_id, blob_store())
    except (NoAccess, AttachmentRejected):
        abort(404)
    except FileDamaged:
        damage = Damage()
        damage.note("file")
        record_damage(dbs, public_id, current_user.id, damage)
        dbs.commit()
        raise
    audit.record(
        dbs,
        actor=audit.account_actor(current_user.id),
        action=action,
        report_ref=public_id,
        detail=file_id,
    )
    dbs.commit()
    return view, chunks


@bp.get("/case/<public_id>/files/<file_id>")
def download(public_id: str, file_id: str) -> ResponseReturnValue:
    """Stream an attachment, decrypted chunk by chunk, as a download."""
    view, chunks = _opened_file(public_id, file_id, open_for_staff, "case.file-opened")
    # Always a download, never rendered here: a hostile file cannot run in
    # the registry's origin (nosniff is set on every response too).
    response = Response(stream_with_context(chunks), mimetype="application/octet-stream")
    response.headers["Content-Disposition"] = content_disposition(view.name)
    # The verified size: should the blob change on disk mid-download (the
    # only way the second pass can fail), the browser sees a short file.
    response.content_length = view.size
    return response


@bp.get("/case/<public_id>/files/<file_id>/preview")
def preview(public_id: str, file_id: str) -> ResponseReturnValue:
    """Show a photo the registry cleaned, inline (the case page's thumbnails)."""
    view, chunks = _opened_file(public_id, file_id, open_preview, "case.file-previewed")
    # Only a re-encoded JPEG, PNG or WebP reaches this point, typed by its
    # sniffed bytes; nosniff (set on every response) keeps it an image.
    response = Response(stream_with_context(chunks), mimetype=view.media_type)
    response.headers["Content-Disposition"] = "inline"
    response.headers["Content-Security-Policy"] = PREVIEW_CSP
    response.content_length = view.size
    return response


@bp.errorhandler(FileDamaged)
def file_damaged(_error: FileDamaged) -> tuple[str, int]:
    """The page for a file that failed its integrity check: 409, nothing of it sent."""
    public_id = (request.view_args or {}).get("public_id", "")
    return render_template("staff/review/file_damaged.html", public_id=public_id), 409


@bp.get("/case/<public_id>/linked")
def linked(public_id: str) -> str:
    """This case and its linked cases one after another, each opening audited."""
    dbs, lang = db.session(), current_language()
    try:
        case, others = links.open_linked(dbs, public_id, current_user.id, loader.private_key())
    except NoAccess:
        abort(404)
    dbs.commit()
    return render_template(
        "staff/review/linked.html",
        case=case,
        others=others,
        questions=QUESTIONS,
        region_titles=titles(dbs, "regions", lang),
        violation_titles=titles(dbs, "violation_types", lang),
        vocab={kind: titles(dbs, kind, lang) for kind in ("places", "units")},
    )


@bp.post("/case/<public_id>/reply")
def reply(public_id: str) -> ResponseReturnValue:
    """Reply to the submitter; sealed to them and under the case key."""
    dbs, form = db.session(), ReplyForm()
    if not form.validate_on_submit():
        return _render_case(public_id, _mapping_form(), form)
    try:
        report = find_report(dbs, public_id)
        dek = data_key_for(dbs, report, current_user.id, loader.private_key())
    except NoAccess:
        abort(404)
    case_messages.post_reply(
        dbs,
        report,
        form.text.data or "",
        dek=dek,
        author_id=current_user.id,
        today=datetime.now(UTC).date(),
    )
    dbs.commit()
    flash(_("The reply is stored. The submitter reads it with their receipt."))
    return redirect(url_for("review.case", public_id=public_id), code=303)
