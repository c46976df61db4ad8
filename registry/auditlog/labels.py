"""Human labels, in the reader's language, for the codes the audit log stores.

The log itself keeps codes only (hashed, never translated); these labels
exist for display.  An action without a label here is shown as its code.
"""

from __future__ import annotations

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from registry import audit
from registry.audit import Problem

ACTION_LABELS: dict[str, LazyString] = {
    "account.activated": _l("Account activated"),
    "account.invited": _l("Person invited"),
    "account.invite-cancelled": _l("Invitation cancelled"),
    "account.login": _l("Logged in"),
    "account.login-throttled": _l("Login paused after failed attempts"),
    "account.password-changed": _l("Password changed"),
    "account.recovery-code-used": _l("Recovery code used"),
    "account.recovery-codes-replaced": _l("Recovery codes replaced"),
    "account.removed": _l("Person removed"),
    "account.reset": _l("Account reset"),
    "account.sessions-ended": _l("Sessions ended"),
    "account.throttle-lifted": _l("Login pause lifted"),
    "audit.verified": _l("Audit chain checked"),
    "audit.viewed": _l("Audit log read"),
    "case.assigned": _l("Case assigned"),
    "case.coded": _l("Case codes corrected"),
    "case.escrow-rewrapped": _l("Case key restored from escrow"),
    "case.escrow-wrapped": _l("Case key wrapped to the current escrow key"),
    "case.file-opened": _l("File opened"),
    "case.file-previewed": _l("File previewed"),
    "case.granted": _l("Access granted"),
    "case.hold": _l("Case held past its deletion day"),
    "case.hold-released": _l("Hold on the case ended"),
    "case.linked": _l("Cases linked"),
    "case.mapped": _l("Case mapped to a proposal"),
    "case.noted": _l("Note added"),
    "case.opened": _l("Case opened"),
    "case.part-damaged": _l("Part of a case failed its integrity check"),
    "case.purged": _l("Sealed content deleted under the retention rules"),
    "case.referred": _l("Case referred to a partner"),
    "case.replied": _l("Reply sent to the submitter"),
    "case.revoked": _l("Access revoked"),
    "case.status": _l("Status changed"),
    "case.summary-approved": _l("Public summary approved"),
    "case.summary-deleted": _l("Public summary deleted"),
    "case.summary-written": _l("Public summary written"),
    "case.unlinked": _l("Case link removed"),
    "case.urgency": _l("Urgency changed"),
    "escrow.rotated": _l("Escrow key replaced"),
    "evidence.published": _l("Evidence snapshot published"),
    "partner.added": _l("Partner organisation added"),
    "partner.removed": _l("Partner organisation removed"),
    "queue.searched": _l("Queue searched"),
    "report.withdrawn": _l("Report withdrawn by the submitter"),
}

ACTOR_LABELS: dict[str, LazyString] = {
    audit.SUBMITTER: _l("Submitter"),
    audit.SYSTEM: _l("System"),
}

PROBLEM_LABELS: dict[str, LazyString] = {
    Problem.EDITED: _l("an event was edited"),
    Problem.DELETED: _l("events were deleted"),
    Problem.INSERTED: _l("an event was inserted"),
    Problem.REORDERED: _l("events were reordered"),
    Problem.REWRITTEN: _l("the log was rewritten"),
}


def action_label(code: str) -> str:
    """The label of an action code, or the code itself when it has none."""
    label = ACTION_LABELS.get(code)
    return str(label) if label is not None else code
