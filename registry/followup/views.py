"""Public pages for coming back with the receipt."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, g, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from registry import db, runtime
from registry.attachments.explain import busy_cleaning, files_hint, prepared_files, rejection
from registry.attachments.service import AttachmentRejected, add_report_files
from registry.attachments.upload import blob_store
from registry.errors import keeps_text_on_expired_token, keeps_text_on_outage, same_site_post
from registry.followup import cookie, service
from registry.followup.forms import ConsentForm, FilesForm, MessageForm, ReceiptForm, WithdrawForm
from registry.models import Direction, Report
from registry.records import messages as case_messages
from registry.serving.slots import Busy
from registry.web.extensions import rate_limit
from registry.web.forms import refused_status
from registry.web.i18n import gettext as _

bp = Blueprint("followup", __name__, url_prefix="/followup")


def _set_cookie(response: Response, session: cookie.FollowupSession) -> Response:
    value = cookie.encode(runtime.keyring().local_key, session)
    response.set_cookie(
        cookie.COOKIE,
        value,
        httponly=True,
        samesite="Strict",
        path="/followup",
        secure=runtime.config().secure_cookies,
    )
    return response


def _current() -> tuple[cookie.FollowupSession, Report] | None:
    session = cookie.decode(runtime.keyring().local_key, request.cookies.get(cookie.COOKIE))
    if session is None:
        return None
    report = service.report_for_session(db.session(), session.public_id)
    if report is None:
        return None
    g.followup_session = session
    return session, report


@bp.after_app_request
def _slide(response: Response) -> Response:
    """Every follow-up page view pushes the idle expiry forward."""
    session = g.get("followup_session")
    if session is not None and not response.headers.get("Clear-Site-Data"):
        _set_cookie(response, session)
    return response


# No rate limit on entering a receipt: without a client address to key
# on, any limit here would be one shared counter that a single visitor can
# fill to lock every submitter out.  Guessing is hopeless anyway (100-bit
# receipts), and the CPU is bounded by the KDF slots (503, nothing lost).
@bp.route("/", methods=["GET", "POST"])
def start() -> ResponseReturnValue:
    """Enter the receipt."""
    form = ReceiptForm()
    if form.validate_on_submit():
        ring, cfg = runtime.keyring(), runtime.config()
        try:
            found = service.find_by_receipt(
                db.session(),
                form.receipt.data or "",
                salt=ring.receipt_salt,
                params=runtime.receipt_params(cfg),
                slots=runtime.kdf_slots(),
            )
        except service.ReceiptNotFound:
            form.receipt.errors = [_("No report matches this receipt. Check it and try again.")]
        else:
            session = cookie.FollowupSession(
                found.report.public_id,
                found.private_key,
                int(datetime.now(UTC).timestamp()),
                signing_seed=found.signing_seed,
            )
            kept = (form.message.data or "").strip()
            if kept:
                # A message written while the follow-up session ran out comes
                # back in the message box, still unsent, for one more press.
                g.followup_session = session
                message = MessageForm(formdata=None, text=form.message.data)
                message.form_errors.append(_not_sent_yet())
                return _render_case(session, found.report, message, None)
            return _set_cookie(redirect(url_for("followup.case"), code=303), session)
    return render_template("public/followup/start.html", form=form), refused_status()


def _receipt_again(text: str | None, status: int) -> ResponseReturnValue:
    """The receipt form, holding a message that could not be sent yet.

    The follow-up session ended (15 minutes idle, two hours at most) while
    the message was being written: the text must not be lost with it.
    """
    form = ReceiptForm(formdata=None, message=text or "")
    return render_template("public/followup/start.html", form=form), status


def _not_sent_yet() -> str:
    message: str = _("Your message is not sent yet. Please check it and press “Send”.")
    return message


def _expired_token() -> str:
    message: str = _(
        "This page had expired, so nothing was sent. What you wrote is kept below: "
        "please check it and send it once more."
    )
    return message


@bp.get("/case")
def case() -> ResponseReturnValue:
    """Status, messages, consents and the way to withdraw."""
    current = _current()
    if current is None:
        return redirect(url_for("followup.start"), code=303)
    return _render_case(*current, MessageForm(), None)


def _render_case(
    session: cookie.FollowupSession,
    report: Report,
    form: MessageForm,
    consents: ConsentForm | None,
    files: FilesForm | None = None,
) -> str:
    consents = consents or ConsentForm(
        formdata=None,
        contact=report.consent_contact,
        publish=report.consent_publish,
        refer=report.consent_refer,
    )
    messages = case_messages.read_as_submitter(db.session(), report, session.private_key)
    return render_template(
        "public/followup/case.html",
        report=report,
        form=form,
        consents=consents,
        files=files or FilesForm(formdata=None),
        files_hint=files_hint(runtime.config()),
        messages=messages,
        new=service.new_replies(messages),
        wrote_before=any(m.direction == Direction.TO_STAFF.value for m in messages),
    )


@bp.post("/message")
def message() -> ResponseReturnValue:
    """Add a message to the staff."""
    current = _current()
    if current is None:
        return _receipt_again(MessageForm().text.data, 422)
    form = MessageForm()
    if not form.validate_on_submit():
        return _render_case(*current, form, None), 422
    dbs = db.session()
    session, report = current
    service.post_message(
        dbs,
        report,
        form.text.data or "",
        today=datetime.now(UTC).date(),
        signing_seed=session.signing_seed,
    )
    dbs.commit()
    return redirect(url_for("followup.case", sent=1), code=303)


@keeps_text_on_outage("followup.message")
def _message_kept_during_outage() -> str | None:
    """The message again, typed text and all, when the database is down."""
    if not same_site_post():
        return None
    return render_template("public/followup/outage.html", form=MessageForm())


@keeps_text_on_expired_token("followup.message")
def _message_after_expired_token() -> ResponseReturnValue:
    """The message again, typed text and all, when the page's token was missing or stale."""
    form = MessageForm()
    current = _current()
    if current is None:
        # The browser session ended altogether (a new Tor identity, "Leave
        # now"): the receipt opens the report again, with the message kept.
        return _receipt_again(form.text.data, 400)
    form.form_errors.append(_expired_token())
    return _render_case(*current, form, None), 400


@bp.post("/files")
def add_files() -> ResponseReturnValue:
    """Add files to the report (sealed to its inbox key)."""
    current = _current()
    if current is None:
        return redirect(url_for("followup.start"), code=303)
    form, dbs, cfg = FilesForm(), db.session(), runtime.config()
    if form.validate_on_submit():
        try:
            files = prepared_files(
                "files", blob_store(), remove_metadata=bool(form.remove_metadata.data)
            )
        except AttachmentRejected as bad:
            form.files.errors = [rejection(bad, cfg)]
        except Busy:
            # Every photo-cleaning slot of this worker stayed taken: the case
            # page says so (503), not the bare error page.
            form.files.errors = [busy_cleaning()]
            return _render_case(*current, MessageForm(formdata=None), None, form), 503
        else:
            if files:
                today = datetime.now(UTC).date()
                add_report_files(
                    dbs,
                    current[1],
                    files,
                    blob_store(),
                    today=today,
                    signing_seed=current[0].signing_seed,
                )
                return redirect(url_for("followup.case", added=len(files)), code=303)
            form.files.errors = [_("Please choose at least one file.")]
    return _render_case(*current, MessageForm(formdata=None), None, form), 422


@keeps_text_on_outage("followup.add_files")
def _files_refused_during_outage() -> str:
    """Say that the files were not stored and must be chosen again.

    The sealed uploads cannot outlive the request (they are deleted at its
    end), so only the explanation can be kept.
    """
    return render_template("public/followup/outage.html", form=None)


@bp.post("/consents")
def consents() -> ResponseReturnValue:
    """Change what the submitter allows."""
    current = _current()
    if current is None:
        return redirect(url_for("followup.start"), code=303)
    form = ConsentForm()
    if not form.validate_on_submit():
        return _render_case(*current, MessageForm(formdata=None), form), 422
    if form.contact.data == "contact" and current[1].consent_contact != "contact":
        form.contact.errors = [_("No contact was given with the report.")]
        return _render_case(*current, MessageForm(formdata=None), form), 422
    service.update_consents(
        current[1],
        contact=form.contact.data or "receipt",
        publish=bool(form.publish.data),
        refer=bool(form.refer.data),
    )
    db.session().commit()
    return redirect(url_for("followup.case", saved=1), code=303)


@keeps_text_on_expired_token("followup.consents")
def _consents_after_expired_token() -> ResponseReturnValue | None:
    """The choices as they were ticked, when the page's token was missing or stale."""
    current = _current()
    if current is None:
        return None
    form = ConsentForm()
    form.form_errors.append(_expired_token())
    return _render_case(*current, MessageForm(formdata=None), form), 400


def _receipt_matches(report: Report, receipt: str) -> bool:
    ring, cfg = runtime.keyring(), runtime.config()
    return service.receipt_matches(
        report,
        receipt,
        salt=ring.receipt_salt,
        params=runtime.receipt_params(cfg),
        slots=runtime.kdf_slots(),
    )


def _withdrawn(report: Report) -> Response:
    dbs = db.session()
    blobs = service.withdraw(dbs, report)
    dbs.commit()
    service.purge_traces(dbs)
    blob_store().discard(blobs)
    g.followup_session = None
    response = make_response(render_template("public/followup/withdrawn.html"))
    response.delete_cookie(cookie.COOKIE, path="/followup")
    return response


def _withdraw_key() -> str:
    # Counted per report (from the sealed follow-up cookie), never for the
    # whole site: a stranger's requests cannot use up a submitter's tries.
    session = cookie.decode(runtime.keyring().local_key, request.cookies.get(cookie.COOKIE))
    return "withdraw:" + (session.public_id if session else "-")


@bp.route("/withdraw", methods=["GET", "POST"])
@rate_limit("10 per minute", key_func=_withdraw_key, methods=["POST"])
def withdraw() -> ResponseReturnValue:
    """Confirm with the receipt typed again, then delete the whole report."""
    current = _current()
    if current is None:
        return redirect(url_for("followup.start"), code=303)
    form = WithdrawForm()
    if form.validate_on_submit():
        # The cookie says which report; only its receipt may delete it.
        if _receipt_matches(current[1], form.receipt.data or ""):
            return _withdrawn(current[1])
        form.receipt.errors = [_("This is not the receipt of this report. Nothing was deleted.")]
    # The receipt is never shown back: the page may be seen over a shoulder.
    form.receipt.data = ""
    return render_template("public/followup/withdraw.html", form=form), refused_status()


@keeps_text_on_expired_token("followup.withdraw")
def _withdraw_after_expired_token() -> ResponseReturnValue:
    """The withdrawal page again, when its token was missing or stale; nothing deleted."""
    current = _current()
    if current is None:
        return redirect(url_for("followup.start"), code=303)
    form = WithdrawForm()
    # The receipt is never shown back, as after any refusal.
    form.receipt.data = ""
    form.form_errors.append(
        _(
            "This page had expired, so nothing was deleted. To delete your report, "
            "type your receipt again and confirm once more."
        )
    )
    return render_template("public/followup/withdraw.html", form=form), 400
