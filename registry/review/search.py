"""Search in the sealed texts of the cases a reviewer can open.

The server cannot index sealed text: it holds no key at rest (promise 1).
So a search opens cases one by one, in the request, with the reviewer's
private key.  Only cases with a key wrap addressed to this reviewer are
candidates (promise 6: no wrap, no search hit, whatever the text says); the
plain filters narrow them in SQL first; at most :data:`SCAN_LIMIT` cases
are opened per request, newest first, and a cursor (the public id of the
last case opened) lets the person search further.  The page always says
how many of how many cases were searched.

What is searched: the narrative and the answers to the sealed questions,
in either layout (the one ``answers`` record of new reports, a row per text
of older ones; see :mod:`registry.records.texts`).  Not the contact details:
they exist to answer the submitter, and leaving them out means a stolen
session cannot look up who wrote a phone number.  A new report's record
holds the contact too, so it is opened, but its contact is never matched.

Matching: every word of the query must occur in the case's text, alone or
inside a longer word ("Акрэсц" finds "Акрэсціна", which suits languages
that inflect).  Query and text are folded alike (:func:`fold`): Unicode
NFKC, case folded (Cyrillic too), "ё" read as "е" (Russian is mostly typed
without "ё"), stress marks dropped, typographic apostrophes read as "'"
(Belarusian "сям’я" = "сям'я").  Belarusian and Russian letters are not
mapped to each other ("і" ≠ "и", "ў" ≠ "у"): those spell different words.

Nothing of the query or of the opened text is kept: no database row, no
log line, no cache.  The audit event (promise 7) records only that this
reviewer opened N cases to search.  The query travels in the GET query
string: the page is ``no-store`` and links leave with no referrer, but the
browser's history keeps it like any address.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TypeVarTuple

from sqlalchemy import Select, and_, func, select, tuple_
from sqlalchemy.orm import Session

from registry import audit
from registry.crypto import CannotOpen, DataKeyUnwrapper
from registry.models import KeyWrap, Report, SealedField
from registry.records.texts import open_texts
from registry.records.vocabulary import ANSWERS, NARRATIVE, SEALED_ANSWERS
from registry.review.queue import PAGE_SIZE, QueueFilters, conditions, reports_by_ids

# Cases opened per request at most: ~0.1 ms each to unwrap the key, plus
# reading the ciphertext; see bench/README.md for the measured cost.
SCAN_LIMIT = 1_000
QUERY_MAX = 200
MAX_WORDS = 10
SEARCHED_TEXTS = (NARRATIVE, *SEALED_ANSWERS)
# Stored rows read: the record (which also holds the contact, left out after
# opening) and the rows of the older layout that hold searched texts.
_READ_FIELDS = (ANSWERS, *SEARCHED_TEXTS)
# Cases whose sealed fields are read from the database at once.
_CHUNK = 100
_FOLD = str.maketrans({"ё": "е", "\u0301": None, "’": "'", "ʼ": "'"})
Ts = TypeVarTuple("Ts")
_PUNCTUATION = '.,;:!?"«»„“”()[]{}<>…—–-'


def fold(text: str) -> str:
    """``text`` in the form both the query and the cases are compared in."""
    return unicodedata.normalize("NFKC", text).casefold().translate(_FOLD)


def query_words(query: str) -> tuple[str, ...]:
    """The folded, distinct words of a query (at most :data:`MAX_WORDS`)."""
    words: list[str] = []
    for raw in fold(query[:QUERY_MAX]).split():
        word = raw.strip(_PUNCTUATION + "'")
        if word and word not in words:
            words.append(word)
    return tuple(words[:MAX_WORDS])


def matches(text: str, words: Sequence[str]) -> bool:
    """Whether every one of ``words`` (folded) occurs in ``text``."""
    folded = fold(text)
    return all(word in folded for word in words)


@dataclass(frozen=True)
class SearchPage:
    """What one search request found, and how far it got."""

    matches: list[Report]
    # Cases whose key this request unwrapped (and whose texts it opened).
    opened: int
    # Cases whose key wrap did not open with this reviewer's key.
    unreadable: int
    # Position (from 1) of the first case this request looked at, among all
    # candidates newest first; ``first + opened + unreadable - 1`` is the last.
    first: int
    # Candidates: cases this reviewer can open that match the plain filters.
    total: int
    # Public id to continue after, if candidates remain.
    next_after: str | None
    # The cursor named no case (any more): the search began at the newest.
    restarted: bool

    @property
    def last(self) -> int:
        """Position of the last case this request looked at (0 if none)."""
        return self.first + self.opened + self.unreadable - 1


def _mine(query: Select[*Ts], filters: QueueFilters, account_id: int) -> Select[*Ts]:
    """``query`` restricted to candidates: reports this reviewer holds a key wrap of."""
    # The join is the access rule: a case without this reviewer's wrap is
    # never a candidate, so its text is never opened or matched.
    return query.join(
        KeyWrap, and_(KeyWrap.report_id == Report.id, KeyWrap.account_id == account_id)
    ).where(*conditions(filters))


def _position(db: Session, after: str | None) -> tuple[date, int] | None:
    if after is None:
        return None
    found = db.execute(
        select(Report.received_on, Report.id).where(Report.public_id == after)
    ).first()
    return (found[0], found[1]) if found else None


def _sealed(db: Session, report_ids: list[int]) -> dict[int, list[tuple[str, bytes]]]:
    by_report: dict[int, list[tuple[str, bytes]]] = defaultdict(list)
    rows = db.execute(
        select(SealedField.report_id, SealedField.name, SealedField.ciphertext).where(
            SealedField.report_id.in_(report_ids), SealedField.name.in_(_READ_FIELDS)
        )
    )
    for report_id, name, ciphertext in rows:
        by_report[report_id].append((name, ciphertext))
    return by_report


def _opens_and_matches(
    public_id: str,
    wrapped: bytes,
    fields: list[tuple[str, bytes]],
    words: Sequence[str],
    unwrapper: DataKeyUnwrapper | None,
) -> bool | None:
    """Open one case's texts and match them; ``None`` when its key does not open."""
    if unwrapper is None:
        return None
    texts: dict[str, str] = {}
    try:
        dek = unwrapper.unwrap(wrapped, report_id=public_id)
        for name, ciphertext in fields:
            texts.update(open_texts(dek, name, ciphertext, report_id=public_id))
    except CannotOpen:
        return None
    # WHY pick by name after opening: the contact is in the record, and must
    # never make a case match (see the module's docstring).
    return matches("\n".join(texts[name] for name in SEARCHED_TEXTS if name in texts), words)


def search(
    db: Session,
    filters: QueueFilters,
    words: Sequence[str],
    *,
    account_id: int,
    private_key: bytes,
    after: str | None = None,
    scan_limit: int = SCAN_LIMIT,
) -> SearchPage:
    """Open up to ``scan_limit`` candidate cases after ``after`` and match ``words``.

    Stops early once a page of matches is found.  Records one audit event
    (``queue.searched``, the number of cases opened; never the words); the
    caller commits.
    """
    candidates = _mine(select(Report.id, Report.public_id, KeyWrap.wrapped), filters, account_id)
    counting = _mine(select(func.count()).select_from(Report), filters, account_id)
    total = db.scalar(counting) or 0
    position = _position(db, after)
    searched = 0
    if position is not None:
        cursor = tuple_(Report.received_on, Report.id)
        # Candidates up to the cursor (newest first) are what earlier pages searched.
        searched = db.scalar(counting.where(cursor >= tuple_(*position))) or 0
        candidates = candidates.where(cursor < tuple_(*position))
    rows = db.execute(
        candidates.order_by(Report.received_on.desc(), Report.id.desc()).limit(scan_limit + 1)
    ).all()
    # The private key is built once for all the cases.
    unwrapper: DataKeyUnwrapper | None
    try:
        unwrapper = DataKeyUnwrapper(private_key)
    except CannotOpen:
        unwrapper = None  # a malformed key opens nothing, like a wrong one
    found: list[int] = []
    opened = unreadable = looked = 0
    for start in range(0, min(len(rows), scan_limit), _CHUNK):
        chunk = rows[start : min(start + _CHUNK, scan_limit)]
        sealed = _sealed(db, [row[0] for row in chunk])
        for report_id, public_id, wrapped in chunk:
            looked += 1
            hit = _opens_and_matches(public_id, wrapped, sealed[report_id], words, unwrapper)
            if hit is None:
                unreadable += 1
                continue
            opened += 1
            if hit:
                found.append(report_id)
            if len(found) == PAGE_SIZE:
                break
        if len(found) == PAGE_SIZE:
            break
    # Every opening of sealed content is an event (promise 7); the words are
    # not in it: the detail is a count, and the log is stored unsealed.
    audit.record(
        db,
        actor=audit.account_actor(account_id),
        action="queue.searched",
        detail=f"opened={opened}",
    )
    return SearchPage(
        matches=reports_by_ids(db, found),
        opened=opened,
        unreadable=unreadable,
        first=searched + 1,
        total=total,
        next_after=rows[looked - 1][1] if 0 < looked < len(rows) else None,
        restarted=after is not None and position is None,
    )
