"""Referral pages: partners (administrators) and evidence packs (coordinators).

``/staff/partners``: administrators list, add and remove partner
organisations (everyone else gets 404, like the people pages).

``/review/refer``: a coordinator sees the chosen cases (``?case=…`` from a
case page, or the queue's filters from the queue), picks a partner and
downloads one age file.  Other staff get 403, not 404: the case page every
key holder sees says that coordinators refer, so nothing is hidden by 404.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from registry import db, runtime
from registry.attachments.upload import blob_store
from registry.auth import loader
from registry.auth.roles import require_role
from registry.keyring.signing import signing_key
from registry.models import Partner, Role
from registry.referral import packs, partners
from registry.referral.forms import PartnerForm, ReferForm
from registry.review import queue_args
from registry.web.forms import PostedForm, checked_post, refused_status
from registry.web.i18n import current_language, ngettext
from registry.web.i18n import gettext as _

bp = Blueprint("referral", __name__, url_prefix="/review/refer")
partners_bp = Blueprint("partners", __name__, url_prefix="/staff/partners")

CASE_REASONS = {
    "unknown": lambda case: _("There is no case %(case)s.", case=case),
    "consent": lambda case: _(
        "Case %(case)s cannot be referred: the submitter has not consented to referral.",
        case=case,
    ),
    "no-key": lambda case: _(
        "Case %(case)s cannot be referred: you hold no key for it.", case=case
    ),
}
PACK_REFUSALS = {
    "empty": lambda: _("Please choose at least one case."),
    "too-many": lambda: ngettext(
        "A pack holds at most %(num)d case. Narrow the filters.",
        "A pack holds at most %(num)d cases. Narrow the filters.",
        packs.MAX_CASES,
    ),
    "partner": lambda: _(
        "This partner has been removed or does not exist. Please choose another one."
    ),
}
PARTNER_REFUSALS = {
    "name": lambda line: _("Please give the organisation's name."),
    "name-taken": lambda line: _("A partner with this name already exists."),
    "contact": lambda line: _("The contact note is too long."),
    "recipient": lambda line: (
        _(
            "Line %(line)d is not an age public key. Each line must hold one key that "
            "starts with “age1”, as age-keygen prints it.",
            line=line,
        )
        if line
        else _("Please give between 1 and 20 age public keys, one per line.")
    ),
    "removed": lambda line: _("This partner is already removed."),
    "unknown": lambda line: _("There is no such partner."),
}


def _today() -> datetime:
    return datetime.now(UTC)


def _coordinator_only() -> None:
    # WHY: a pack takes cases out of the registry; only coordinators decide
    # that (registry/auth/roles.py), even among those who hold the keys.
    if current_user.role != Role.COORDINATOR.value:
        abort(403)


def _refer_page(
    case_ids: list[str] | None, form: ReferForm, problems: list[str], status: int
) -> ResponseReturnValue:
    """The refer page for ``case_ids``, or for the queue's filters when None."""
    dbs = db.session()
    selection = None
    if case_ids is None:
        known = queue_args.filter_choices(dbs, current_language(), current_user.id)
        wanted = queue_args.without_search(queue_args.parse(request.args, known))
        selection = packs.select_by_filters(dbs, wanted.filters, wanted.sort, current_user.id)
        checks = [packs.CaseCheck(public_id, None) for public_id in selection.referable]
        problems = [*wanted.problems, *problems]
    else:
        checks = packs.check_cases(dbs, case_ids, current_user.id, loader.private_key())
    ready = [check.public_id for check in checks if check.reason is None]
    if not form.is_submitted():
        form.cases.data = ready
    form.cases.choices = [(public_id, public_id) for public_id in ready]
    return render_template(
        "staff/referral/refer.html",
        form=form,
        checks=checks,
        reasons={c.public_id: CASE_REASONS[c.reason](c.public_id) for c in checks if c.reason},
        selection=selection,
        partners=partners.list_partners(dbs, include_removed=False),
        problems=problems,
    ), status


@bp.get("")
def refer() -> ResponseReturnValue:
    """Coordinators: the chosen cases, the partners, and the button that downloads the pack."""
    _coordinator_only()
    case_ids = request.args.getlist("case")
    return _refer_page(case_ids[: packs.MAX_CASES + 1] or None, ReferForm(formdata=None), [], 200)


@bp.post("")
def download() -> ResponseReturnValue:
    """Coordinators: check, audit and stream the pack; or say why nothing was exported."""
    _coordinator_only()
    form = checked_post(ReferForm())
    dbs, cfg = db.session(), runtime.config()
    case_ids = list(form.cases.data or [])
    today = _today().date()
    try:
        pack = packs.prepare_pack(
            dbs,
            public_ids=case_ids,
            partner_id=form.partner.data,
            account_id=current_user.id,
            private_key=loader.private_key(),
            include_notes=bool(form.include_notes.data),
            store=blob_store(),
            signer=signing_key(cfg.keys_dir),
            today=today,
            registry_url=cfg.base_url,
        )
    except packs.PackRefused as refused:
        dbs.rollback()
        if refused.case is not None:
            problem = CASE_REASONS[refused.reason](refused.case)
        else:
            problem = PACK_REFUSALS[refused.reason]()
        return _refer_page(case_ids or [], form, [problem], 422)
    # WHY commit before the first byte: the referral events must be stored
    # for any pack that leaves, even one whose download is then cut short.
    dbs.commit()
    response = Response(pack.stream(), mimetype="application/octet-stream")
    response.headers["Content-Disposition"] = f'attachment; filename="{pack.file_name}"'
    return response


def _partners_page(form: PartnerForm, status: int) -> ResponseReturnValue:
    return render_template(
        "staff/referral/partners.html",
        partners=partners.list_partners(db.session()),
        form=form,
    ), status


@partners_bp.get("")
@require_role(Role.ADMIN)
def index() -> ResponseReturnValue:
    """Every partner (removed ones marked) and the form that adds one."""
    return _partners_page(PartnerForm(formdata=None), 200)


@partners_bp.post("")
@require_role(Role.ADMIN)
def add() -> ResponseReturnValue:
    """Add a partner; a bad recipient line is named and nothing is stored."""
    form, dbs = PartnerForm(), db.session()
    if form.validate_on_submit():
        try:
            partners.add_partner(
                dbs,
                name=form.name.data or "",
                contact=form.contact.data or "",
                recipients=form.recipients.data or "",
                account_id=current_user.id,
                today=_today().date(),
            )
        except partners.PartnerRefused as refused:
            dbs.rollback()
            field = {"name": form.name, "name-taken": form.name, "contact": form.contact}.get(
                refused.reason, form.recipients
            )
            field.errors = [PARTNER_REFUSALS[refused.reason](refused.line)]
        else:
            dbs.commit()
            flash(_("The partner is added."))
            return redirect(url_for("partners.index"), code=303)
    return _partners_page(form, refused_status())


@partners_bp.post("/<int(max=9223372036854775807):partner_id>/remove")
@require_role(Role.ADMIN)
def remove(partner_id: int) -> ResponseReturnValue:
    """Remove a partner: no pack goes to it any more (its row stays for the audit log)."""
    checked_post(PostedForm())
    dbs = db.session()
    partner = dbs.get(Partner, partner_id)
    if partner is None:
        abort(404)
    try:
        partners.remove_partner(dbs, partner, account_id=current_user.id, today=_today().date())
    except partners.PartnerRefused as refused:
        dbs.rollback()
        flash(PARTNER_REFUSALS[refused.reason](0))
    else:
        dbs.commit()
        flash(_("The partner is removed. No pack can be made for it any more."))
    return redirect(url_for("partners.index"), code=303)
