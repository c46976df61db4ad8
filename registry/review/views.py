"""Reviewer pages: the queue and the case page."""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from datetime import UTC, datetime
from functools import partial

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import Session

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
from registry.auth import loader
from registry.models import Report
from registry.records import messages as case_messages
from registry.records.access import NoAccess, data_key_for, find_report, holders_and_others
from registry.records.integrity import Damage, record_damage
from registry.records.vocabulary import QUESTIONS
from registry.reforms import service as reforms
from registry.review import links, queue_args, search, service
from registry.review.facets import FacetIndex
from registry.review.forms import CodingForm, MappingForm, ReplyForm
from registry.review.queue import PAGE_SIZE, queue_page
from registry.taxonomy.service import choices, titles
from registry.web.forms import options
from registry.web.i18n import current_language

bp = Blueprint("review", __name__, url_prefix="/review")

# open_for_staff or open_preview: (db, report, data key, file id, store).
FileOpener = Callable[
    [Session, Report, bytes, str, BlobStore], tuple[AttachmentView, Generator[bytes, None, None]]
]


def _facet_index() -> FacetIndex:
    """This worker's index of facet counts (plain codes only, never search text)."""
    kept = current_app.extensions
    if "registry.queue-facets" not in kept:
        kept["registry.queue-facets"] = FacetIndex(runtime.config().queue_counts_seconds)
    index: FacetIndex = kept["registry.queue-facets"]
    return index


@bp.get("/")
def queue() -> str:
    """The queue: filters, counts and order on plain columns; search in sealed texts."""
    dbs, lang = db.session(), current_language()
    known = queue_args.filter_choices(dbs, lang, current_user.id)
    wanted = queue_args.parse(request.args, known)
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
    snapshot = _facet_index().snapshot(db.engine())
    reports: Sequence[object]  # Report objects (search) or plain rows (queue)
    if found:
        reports = found.matches
    else:
        frequent = snapshot.frequent(wanted.filters, wanted.page * PAGE_SIZE)
        reports = queue_page(dbs, wanted.filters, wanted.sort, wanted.page, frequent=frequent)
    return render_template(
        "staff/review/queue.html",
        wanted=wanted,
        known=known,
        counts=snapshot.counts(wanted.filters),
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
    lang = current_language()
    form.proposal.choices = options(
        (p.code, f"{p.code} — {p.title(lang)}") for p in _active_proposals()
    )
    return form


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
        case = service.open_case(dbs, public_id, current_user.id, loader.private_key())
    except NoAccess:
        abort(404)
    dbs.commit()
    holders, others = holders_and_others(dbs, case.report)
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
        holders=holders,
        others=others,
        dispositions=choices(dbs, "dispositions", lang),
        proposal_titles={p.code: p.title(lang) for p in _active_proposals()},
        links=links.links_of(dbs, case.report, current_user.id),
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
    return render_template("staff/review/coding.html", report=report, coding=_coding_form(report))


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
