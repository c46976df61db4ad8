"""Public pages: landing, report form, receipt."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_decimal

from registry import db, runtime
from registry.attachments import held
from registry.attachments.explain import busy_cleaning, files_hint, prepared_files, rejection
from registry.attachments.service import AttachmentRejected, Prepared
from registry.attachments.upload import blob_store, track
from registry.auth.sessions import COOKIE as STAFF_COOKIE
from registry.errors import keeps_text_on_expired_token, keeps_text_on_outage, same_site_post
from registry.followup.cookie import COOKIE as FOLLOWUP_COOKIE
from registry.intake import service
from registry.intake.forms import ReceiptSavedForm, ReportForm, month_choices, year_choices
from registry.serving.slots import Busy
from registry.taxonomy.service import bundled_choices, choices
from registry.web.forms import options, refused_status
from registry.web.i18n import COOKIE as LANGUAGE_COOKIE
from registry.web.i18n import current_language
from registry.web.i18n import gettext as _

bp = Blueprint("intake", __name__)


@bp.get("/")
def index() -> str:
    """Landing page: what this is, how safe it is, where to start."""
    return render_template("public/intake/index.html")


# The (code, title) pairs of a vocabulary kind, in the person's language.
Terms = Callable[[str], list[tuple[str, str]]]


def _database_terms() -> Terms:
    lang, dbs = current_language(), db.session()
    return lambda kind: choices(dbs, kind, lang)


def _prepare(form: ReportForm, today: datetime, terms: Terms) -> None:
    form.region.choices = options([("", "—"), *terms("regions")])
    form.violations.choices = options(terms("violation_types"))
    form.flags.choices = options(terms("flags"))
    form.reporter_role.choices = options(terms("reporter_roles"))
    form.place.choices = options([("", "—"), *terms("places")])
    form.unit.choices = options([("", "—"), *terms("units")])
    # No script can show an upload's progress (promise 4): the hint says how
    # long sending may take over Tor, so nobody gives up halfway.
    form.files.description = f"{files_hint(runtime.config())} {slow_sending()}"
    form.year.choices = year_choices(today.date())
    form.month.choices = month_choices(current_language())


def slow_sending() -> str:
    """That sending files may take minutes, next to the file field and the button."""
    message: str = _("Sending can take several minutes on a slow connection; keep this page open.")
    return message


# No rate limit on sending a report: with no client address to key on, a
# limit would be one site-wide counter that a single visitor could fill to
# keep everyone from reporting.  The KDF slots bound the CPU instead, and a
# refusal for that keeps the text (503).  Flooding is for the onion
# service's own defences (proof-of-work), in front of the application.
@bp.route("/report", methods=["GET", "POST"])
def new_report() -> ResponseReturnValue:
    """The report form; on success, the receipt page (shown once)."""
    # The day of receipt is all the server records of "when" (promise 3).
    now = datetime.now(UTC)
    form = ReportForm()
    _prepare(form, now, _database_terms())
    form.keep_draft()
    files, lost = _claim_held(form) if form.is_submitted() else ([], False)
    # A held file that could not be found again stops the sending: the
    # person must not believe their evidence went with the report.
    if form.validate_on_submit() and not lost:
        data, keys = form.to_input(current_language()), runtime.sealing_keys()
        cfg = runtime.config()
        new_files_lost = True
        try:
            files = [
                *files,
                *prepared_files(
                    "files", blob_store(), remove_metadata=bool(form.remove_metadata.data)
                ),
            ]
            new_files_lost = False
            if len(files) > cfg.attachment_max_files:
                raise AttachmentRejected("count", "")
            done = service.submit_report(
                db.session(), data, keys, today=now.date(), files=files, store=blob_store()
            )
        except AttachmentRejected as bad:
            form.files.errors = [rejection(bad, cfg)]
            files = files[: cfg.attachment_max_files]
        except service.InvalidReport as bad:
            getattr(form, bad.field).errors = [_("Please check this answer.")]
        except service.AlreadySubmitted as again:
            return _receipt_page(again.receipt, already=True)
        except service.NoKeyHolder:
            # 503, not 4xx: nothing is wrong with what the person wrote.
            form.form_errors.append(_nobody_can_read_yet())
            return _form_page(form, files, 503, lost=lost)
        except Busy:
            # The receipt derivations of this worker are all taken (a flood,
            # or a rush), or its photo-cleaning slots: keep the text instead
            # of the generic error page, which would lose what the person wrote.
            return _kept_form(form, files, 503, lost=lost or new_files_lost)
        else:
            return _receipt_page(done.receipt, already=False)
    elif form.is_submitted():
        files = _with_new_files(form, files)
    # A refused submission answers 422 (with the form kept and explained),
    # so no client can mistake it for a stored report.
    return _form_page(form, files, refused_status(), lost=lost)


def _claim_held(form: ReportForm) -> tuple[list[Prepared], bool]:
    """The files kept from this form's earlier try, without those ticked "remove".

    Also whether any could not be found again (expired, swept, or a token
    that does not open).  A removed file is claimed too, and not used: the
    end of the request deletes it like any upload nobody kept.
    """
    store, local_key = blob_store(), runtime.keyring().local_key
    removed = set(form.remove_held.data or ())
    files: list[Prepared] = []
    lost = False
    # dict.fromkeys: one file once, even if its token came twice.
    for token in dict.fromkeys(form.held.data or ()):
        found = held.open_token(local_key, token)
        item = held.claim(store, found) if found is not None else None
        if item is None:
            lost = True
            continue
        track(item.upload)
        if token not in removed:
            files.append(item)
    return files, lost


def _with_new_files(form: ReportForm, files: list[Prepared]) -> list[Prepared]:
    """``files`` and the files of this request, checked, for a form that comes back.

    WHY check and clean them although the report is not stored now: they
    are held as they will be sent, so the next try stores them unchanged.
    """
    cfg = runtime.config()
    try:
        files = [
            *files,
            *prepared_files("files", blob_store(), remove_metadata=bool(form.remove_metadata.data)),
        ]
    except AttachmentRejected as bad:
        form.files.errors = [rejection(bad, cfg)]
    except Busy:
        form.files.errors = [busy_cleaning()]
    if len(files) > cfg.attachment_max_files:
        form.files.errors = [rejection(AttachmentRejected("count", ""), cfg)]
    return files[: cfg.attachment_max_files]


def _form_page(
    form: ReportForm, files: list[Prepared], status: int, *, lost: bool = False
) -> ResponseReturnValue:
    """The form again, with its sealed files held for the next try and listed."""
    store, local_key = blob_store(), runtime.keyring().local_key
    kept: list[tuple[str, str]] = []
    for item in files:
        try:
            token = held.hold(store, local_key, item)
        except OSError:
            lost = True
            continue
        kept.append((token, _described(len(kept) + 1, item)))
    if lost:
        form.form_errors.append(
            _("Some attached files could not be kept: please choose them again.")
        )
    return render_template("public/intake/report.html", form=form, kept_files=kept), status


def _described(number: int, item: Prepared) -> str:
    """What the page shows of a held file: "File 1: image/jpeg, 1.2 MB".

    WHY not its name: the type and size tell the person's files apart, and
    the list can be seen over a shoulder; the name stays sealed in the token.
    """
    mib = 1024 * 1024
    size = (
        _("%(size)s MB", size=format_decimal(item.size / mib, format="#,##0.#"))
        if item.size >= mib
        else _("%(size)s KB", size=format_decimal(max(item.size / 1024, 0.1), format="#,##0.#"))
    )
    described: str = _(
        "File %(number)s: %(type)s, %(size)s", number=number, type=item.media_type, size=size
    )
    return described


def _kept_form(
    form: ReportForm, files: list[Prepared], status: int, *, lost: bool
) -> ResponseReturnValue:
    """The form again with everything typed, when the site is too busy to take it."""
    if lost or not files:
        form.form_errors.append(
            _(
                "The site is very busy right now and could not store your report. "
                "Nothing was stored. Your text is kept below: please send it again "
                "in a minute (attached files must be chosen again)."
            )
        )
    else:
        form.form_errors.append(
            _(
                "The site is very busy right now and could not store your report. "
                "Nothing was stored. Your text and files are kept below: please send "
                "them again in a minute."
            )
        )
    return _form_page(form, files, status)


@keeps_text_on_outage("intake.new_report")
def _kept_during_outage() -> str | None:
    """The form again with everything typed, when the database is down.

    Built without the database: the lists come from the vocabulary file.
    The draft is kept too, so sending again later from this browser cannot
    store the report twice.
    """
    if not same_site_post():
        return None
    form, lang = ReportForm(), current_language()
    _prepare(form, datetime.now(UTC), lambda kind: bundled_choices(kind, lang))
    form.keep_draft()
    form.form_errors.append(
        _(
            "The site could not store your report because of a fault on our side. "
            "Nothing was stored. Your text is kept below: please send it again in a "
            "few minutes. Attached files could not be kept: please choose them again."
        )
    )
    return render_template("public/intake/report.html", form=form)


@keeps_text_on_expired_token("intake.new_report")
def _kept_after_expired_token() -> ResponseReturnValue:
    """The form again with everything typed, when its token was missing or stale.

    The browser session ended since the form page was given (a new Tor
    identity, "Leave now" in another tab, the browser closed): nothing is
    stored; the page gives a fresh token, so one more press sends it.
    """
    form = ReportForm()
    _prepare(form, datetime.now(UTC), _database_terms())
    form.keep_draft()
    files, lost = _claim_held(form)
    files = _with_new_files(form, files)
    form.form_errors.append(expired_token())
    # 400: nothing was stored; the answer is the form, never advice to reload.
    return _form_page(form, files, 400, lost=lost)


def expired_token() -> str:
    """What a form page says when it comes back because its token had expired."""
    message: str = _(
        "This page had expired, so nothing was stored. Everything you typed is kept "
        "below: please check it and send it once more."
    )
    return message


def _nobody_can_read_yet() -> str:
    message: str = _(
        "The registry cannot accept reports yet: nobody has been set up to read them. "
        "Nothing was stored. Your text is kept below; please save a copy and try again later."
    )
    return message


def _receipt_page(receipt: str, *, already: bool) -> str:
    saved = ReceiptSavedForm(formdata=None, receipt=receipt)
    return render_template(
        "public/intake/receipt.html", form=saved, receipt=receipt, already=already
    )


@bp.post("/report/saved")
def receipt_saved() -> ResponseReturnValue:
    """Leave the receipt page only once the person confirms they saved it."""
    form = ReceiptSavedForm()
    receipt = form.receipt.data or ""
    if not service.receipt_shape_ok(receipt):
        abort(400)
    if form.validate_on_submit():
        return redirect(url_for("intake.done"), code=303)
    return render_template("public/intake/receipt.html", form=form, receipt=receipt)


@bp.get("/report/done")
def done() -> str:
    """Thank-you page with what happens next."""
    return render_template("public/intake/done.html")


def _site_cookies() -> tuple[tuple[str, str], ...]:
    """Every cookie this site sets, with its path (a browser keys cookies on both)."""
    flask_session = current_app.session_interface
    return (
        # Even the language choice alone tells whoever looks at the browser
        # that it visited the registry.
        (LANGUAGE_COOKIE, "/"),
        # The CSRF token's signed cookie (Flask's session).
        (flask_session.get_cookie_name(current_app), flask_session.get_cookie_path(current_app)),
        (FOLLOWUP_COOKIE, "/followup"),
        # A staff member's session: without the cookie's secret the
        # server-side row can no longer open the private key, and it expires.
        (STAFF_COOKIE, "/"),
    )


@bp.get("/leave")
def leave() -> ResponseReturnValue:
    """ "Leave now": forget every cookie of the site and go to a neutral page.

    A plain link (no JavaScript, no form): one tap when someone looks over
    the person's shoulder.  Cookies are deleted explicitly as well, because
    browsers honour Clear-Site-Data only on secure origins.
    """
    response = redirect(url_for("intake.neutral"), code=303)
    for name, path in _site_cookies():
        # Secure only on an HTTPS request: a browser refuses a Secure cookie
        # (even an expired one) from a plain-HTTP origin, such as an onion.
        response.delete_cookie(
            name, path=path, secure=request.is_secure, httponly=True, samesite="Strict"
        )
    response.headers["Clear-Site-Data"] = '"cache", "cookies", "storage"'
    return response


@bp.get("/blank")
def neutral() -> str:
    """A page with nothing on it that names this site."""
    return render_template("public/intake/neutral.html")
