"""A partner's ``age`` recipients: the ``age1…`` X25519 public keys of stock ``age``.

Parsed by pyrage (the Rust ``age`` implementation), never by hand: a key
accepted here is exactly a key ``age -r`` accepts.  Only the X25519 form:
SSH keys and plugin recipients (``age1yubikey1…``) would need tools a
partner may not have, and a pack sealed to a key nobody can use is lost.
"""

from __future__ import annotations

from pyrage import RecipientError, x25519

PREFIX = "age1"
# A generous bound (a real key has 62 characters): a pasted document must
# not reach the parser.
MAX_LENGTH = 100
MAX_RECIPIENTS = 20


class BadRecipient(ValueError):
    """A line that is not an ``age1…`` X25519 recipient (``line`` counts from 1).

    ``line`` is 0 when there is no recipient at all, or too many.
    """

    def __init__(self, line: int) -> None:
        super().__init__(f"line {line}")
        self.line = line


def is_recipient(text: str) -> bool:
    """Whether ``text`` is one valid ``age1…`` X25519 recipient, exactly."""
    # WHY lower-case "age1" only: Bech32 also allows the upper-case form,
    # which stock age prints nowhere; a key must look the way partners copy it.
    if not text.startswith(PREFIX) or len(text) > MAX_LENGTH:
        return False
    try:
        x25519.Recipient.from_str(text)
    except (RecipientError, ValueError):
        return False
    return True


def parse_recipients(text: str) -> list[str]:
    """The recipients of ``text``, one per line (blank lines ignored, duplicates once).

    Raises :class:`BadRecipient` naming the first line that is not one.
    """
    found: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        candidate = line.strip()
        if not candidate:
            continue
        if not is_recipient(candidate):
            raise BadRecipient(number)
        if candidate not in found:
            found.append(candidate)
    if not found or len(found) > MAX_RECIPIENTS:
        raise BadRecipient(0)
    return found


def age_recipients(stored: str) -> list[x25519.Recipient]:
    """The pyrage recipients of a partner's stored ``recipients`` column."""
    return [x25519.Recipient.from_str(line) for line in parse_recipients(stored)]
