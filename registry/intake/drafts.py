"""Draft receipts: how a resent report form is recognised without trusting the client.

A report form page carries a *draft*: a random id in a hidden field.  The
receipt a report gets is not sent by the browser at all; the server makes
it from the draft::

    receipt = HMAC-SHA256(draft key, label ‖ browser session ‖ draft id)
              written in the receipt alphabet (100 bits)

- The same form sent again from the same browser (a double click, a resend
  after a busy or outage page) gives the same receipt, so the report is
  recognised and stored once (``AlreadySubmitted``).
- A client cannot choose a receipt: without the server's key no draft id
  leads to a receipt of its choosing, and a receipt typed into the field is
  just an unusual draft id that yields another, unpredictable receipt.  So
  "already submitted" cannot be used to ask whether a receipt exists.
- A draft id lifted from one browser gives another receipt in any other
  browser: the browser session (the CSRF secret in Flask's signed session
  cookie, which the client cannot set) is part of the MAC.
- The page never holds the receipt before the report is stored, and
  nothing about a draft is stored on the server: the row keeps only the
  receipt's lookup id, as before.

Pure: bytes and strings in and out, no Flask, no database.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes, hmac

from registry.crypto import generate_receipt

# 16 random bytes in URL-safe base64, without padding.
DRAFT_ID_BYTES = 16
_DRAFT_ID = re.compile(r"[A-Za-z0-9_-]{22}")
# Domain separation (and a version) for the MAC input.
_LABEL = b"sviedka/draft-receipt/v1\x00"
# The browser-session value is the CSRF secret (40 hex digits); anything
# longer is not one.
_SESSION_MAX = 256


@dataclass(frozen=True)
class Draft:
    """A form page's draft id and the browser session it was sent from."""

    draft_id: str
    session: str


def new_draft_id() -> str:
    """A fresh random draft id for a new form page."""
    # WHY random and per page: two form pages opened in one browser must get
    # different receipts; only a resend of one page may collide with itself.
    return secrets.token_urlsafe(DRAFT_ID_BYTES)


def draft_id_ok(text: str) -> bool:
    """Whether ``text`` has the shape of a draft id (checked before echoing it back)."""
    return _DRAFT_ID.fullmatch(text) is not None


def receipt_for(key: bytes, draft: Draft) -> str | None:
    """The receipt of ``draft`` under ``key``, or None if the draft is unusable.

    Unusable means a malformed draft id or no browser session: the caller
    then gives the report a fresh random receipt.
    """
    session = draft.session.encode()
    if not draft_id_ok(draft.draft_id) or not session or len(session) > _SESSION_MAX:
        return None
    mac = hmac.HMAC(key, hashes.SHA256())
    # WHY a length prefix for the session and a fixed-length draft id: the
    # MAC input must split one way only, so no other (session, draft) pair
    # can be made to give the same input.
    mac.update(_LABEL + len(session).to_bytes(2, "big") + session + draft.draft_id.encode())
    digest = mac.finalize()
    # WHY the MAC stands in for the random source: HMAC-SHA256 under a key
    # the client does not know is indistinguishable from random bytes, so the
    # receipt keeps its full 100 bits and its one format (generate_receipt).
    return generate_receipt(rng=lambda count: digest[:count])
