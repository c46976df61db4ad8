"""Password policy for staff accounts."""

from __future__ import annotations

from zxcvbn import zxcvbn

MIN_LENGTH = 12
MAX_LENGTH = 256
# zxcvbn score 3 = "safely unguessable: moderate protection from offline
# slow-hash scenario" — the threat here is a seized database.
MIN_SCORE = 3


def password_problem(password: str, *, email: str | None = None) -> str | None:
    """Return a reason code when ``password`` is too weak, else ``None``.

    Codes: ``too-short``, ``too-long``, ``too-common``.  The view turns the
    code into a message in the person's language.
    """
    if len(password) < MIN_LENGTH:
        return "too-short"
    if len(password) > MAX_LENGTH:
        return "too-long"
    hints = [email, *(email or "").split("@")] if email else []
    # zxcvbn only needs a prefix to judge; bounding the input bounds its time.
    if zxcvbn(password[:100], user_inputs=[h for h in hints if h])["score"] < MIN_SCORE:
        return "too-common"
    return None
