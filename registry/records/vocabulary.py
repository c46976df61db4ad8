"""The vocabulary of sealed data: every sealed-field name, purpose and question.

Every feature (intake, follow-up, attachments, messages, review, reforms)
seals or opens parts of a report under names that bind each ciphertext to
its place (the AEAD's associated data, ``docs/envelopes.md``).  The names
live here, below every feature, so that no feature reaches into another
for them and a name can never be spelled two ways.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from flask_babel import lazy_gettext as _l

# -- The texts a submitter writes -------------------------------------------

NARRATIVE = "narrative"
"""The account of the events (required)."""
CONTACT = "contact"
"""A contact the person gives, sealed like every answer."""
ANSWER_MAX = 10_000
"""Characters in one answer or in the contact."""
CONTACT_CHOICES = ("receipt", "contact", "none")
"""How the person agreed to be contacted."""
MONTH_PATTERN = re.compile(r"^(19[5-9]\d|20\d\d)-(0[1-9]|1[0-2])$")
"""An incident month, ``YYYY-MM`` (the only date the registry keeps in plain)."""


class Question(NamedTuple):
    """One free-text question after the narrative; its answer is sealed, never required."""

    name: str
    label: object
    hint: object


# Free-text questions that follow the Istanbul Protocol's topics, in the
# order the form and the case page show them.  Labels are lazy: translated
# when a page is drawn, in the reader's language.
QUESTIONS: tuple[Question, ...] = (
    Question(
        "when_exact",
        _l("Exact date and time"),
        _l("As precisely as you remember, e.g. “9 August 2020, about 23:00”."),
    ),
    Question(
        "where_exact",
        _l("Exact place"),
        _l("Street, building, police department, cell number, vehicle…"),
    ),
    Question(
        "perpetrators",
        _l("Who did it"),
        _l("Names, badge numbers, ranks, uniforms, masks, descriptions of the officers."),
    ),
    Question(
        "said",
        _l("What was said or demanded"),
        _l("Threats, insults, questions, what they wanted from you."),
    ),
    Question(
        "injuries",
        _l("Injuries and medical care"),
        _l("What injuries, whether a doctor saw them, whether there are medical papers."),
    ),
    Question("witnesses", _l("Witnesses"), _l("Who else saw it or went through the same.")),
)
SEALED_ANSWERS = tuple(question.name for question in QUESTIONS)
"""Names of the sealed answers besides the narrative, in display order."""

# -- Sealed-field rows of a report (``sealed_fields.name``) -----------------

ANSWERS = "answers"
"""The one sealed field of a new report that holds all of :data:`PER_TEXT_FIELDS`."""
PER_TEXT_FIELDS = (NARRATIVE, *SEALED_ANSWERS, CONTACT)
"""Names of the rows, one per text, of reports stored before :data:`ANSWERS`."""
TEXT_FIELDS = (ANSWERS, *PER_TEXT_FIELDS)
"""Every sealed-field name that holds texts of a report, in either layout."""
VERIFY_KEY = "submitter-verify-key"
"""Entry of the :data:`ANSWERS` record holding the submitter's verify key (hex)."""
INBOX_KEY = "inbox-key"
"""The report's inbox private key, sealed under its data key."""


def note_field(note_id: str) -> str:
    """Field name binding a reviewer's note to its id."""
    return f"note:{note_id}"


def rationale_field(proposal_code: str) -> str:
    """Field name binding a mapping's rationale to its proposal."""
    return f"rationale:{proposal_code}"


def message_field(message_id: str) -> str:
    """Field name binding a staff reply (sealed under the data key) to its id."""
    return f"message:{message_id}"


# -- Purposes of what is sealed to the inbox key or signed ------------------


def purpose(kind: str, part_id: str) -> str:
    """The purpose string binding a sealed or signed part to its kind and id.

    ``kind`` is one of :data:`PURPOSE_KINDS`; a ciphertext made for one
    purpose never opens (or verifies) for another.
    """
    if kind not in PURPOSE_KINDS:
        raise ValueError(f"unknown purpose kind {kind!r}")
    return f"{kind}:{part_id}"


PURPOSE_KINDS = frozenset({"inbox", "submitter", "attachment-key", "attachment-meta"})
"""Kinds of parts sealed to a report's inbox key or signed by its submitter."""
