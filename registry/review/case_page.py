"""What the case page shows, read in one transaction, its opening recorded last.

The case's sealed parts (``service.read_case``), who holds its key and who
could be given one, and its links are all read first; then the opening is
appended to the audit chain (``service.record_opening``), whose lock every
other opening waits for, so it is held for the append and the commit only.
One transaction: a second one, after the commit, cost PostgreSQL three
more round trips per page (bench, issue 10).  The caller commits before
anything read here leaves the server (promise 7).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from registry.records.access import Person, holders_and_others
from registry.review.links import LinkView, links_of
from registry.review.service import CaseView, read_case, record_opening


@dataclass(frozen=True)
class CasePage:
    """An opened case and the people and links its page lists."""

    case: CaseView
    holders: list[Person]
    others: list[Person]
    links: list[LinkView]


def open_case_page(db: Session, public_id: str, account_id: int, private_key: bytes) -> CasePage:
    """Open the case for its page and append the opening's event; the caller commits.

    Raises :class:`registry.records.access.NoAccess` as ``service.open_case`` does.
    """
    case = read_case(db, public_id, account_id, private_key)
    holders, others = holders_and_others(db, case.report)
    # A case known to have no link (records.access.Present) asks for none.
    case_links = links_of(db, case.report, account_id) if case.linked else []
    record_opening(db, case, account_id)
    return CasePage(case, holders, others, case_links)
