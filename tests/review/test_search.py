"""Search in sealed texts: only with a key wrap, folded matching, bounded, no trace of the query."""

from __future__ import annotations

import logging
import re
import secrets
from datetime import date, timedelta
from html import unescape
from pathlib import Path
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from registry import db
from registry.crypto import KeyPair, generate_keypair
from registry.models import Account, AuditEvent, Base, Role
from registry.review.queue import PAGE_SIZE, QueueFilters
from registry.review.search import SCAN_LIMIT, fold, matches, query_words, search
from tests.helpers import StaffActions, english_client, submit_report
from tests.review.queue_data import sealed_report

DAY = date(2025, 6, 30)


def _listed(page: str) -> list[str]:
    return re.findall(r'<a href="/review/case/([A-Z0-9]+)">', page)


def _get(client: FlaskClient, query: str) -> str:
    response = client.get(f"/review/?{query}")
    assert response.status_code == 200
    return unescape(response.get_data(as_text=True))


def _keyholder(session: Session, email: str = "holder@example.org") -> tuple[int, KeyPair]:
    pair = generate_keypair()
    account = Account(email=email, role=Role.REVIEWER.value, active=True, public_key=pair.public)
    session.add(account)
    session.flush()
    return account.id, pair


def _searches(session: Session) -> list[AuditEvent]:
    return list(
        session.scalars(
            select(AuditEvent).where(AuditEvent.action == "queue.searched").order_by(AuditEvent.id)
        )
    )


# --- folding and matching ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "query", "found"),
    [
        ("Нас трымалі на АКРЭСЦІНА тры дні", "акрэсціна", True),
        ("Нас трымалі на Акрэсціна", "АКРЭСЦІНА", True),
        ("Нас трымалі на Акрэсціна", "акрэсц", True),  # part of a word
        ("Нас трымалі на Акрэсціна", "трымалі акрэсціна", True),  # every word, any order
        ("Нас трымалі на Акрэсціна", "трымалі жодзіна", False),  # one word missing
        ("Нас трымалі на Акрэсціна", "акрэсцина", False),  # і and и are different letters
        ("Всё отобрали", "все", True),  # ё read as е, both ways
        ("Все отобрали", "ВСЁ", True),
        ("Окре́стина", "окрестина", True),  # a stress mark
        ("Мая сям’я", "сям'я", True),  # typographic apostrophe
        ("Мая сям'я", "СЯМ’Я", True),
        ("Beaten in the BUS", "bus beaten", True),
        ("Straße", "STRASSE", True),  # full case folding
        ("ﬁeld", "field", True),  # NFKC
    ],
)
def test_matching_folds_case_and_letters(text: str, query: str, found: bool) -> None:
    assert matches(text, query_words(query)) is found


def test_query_words() -> None:
    assert query_words("  «Акрэсціна», Жодзіна! акрэсціна ") == ("акрэсціна", "жодзіна")
    assert query_words("...  --  ") == ()
    assert len(query_words(" ".join(f"w{i}" for i in range(30)))) == 10
    assert fold("ЁЛКА") == "елка"


# --- access: a wrap is needed ----------------------------------------------


def test_only_a_reviewer_with_a_key_finds_the_case(
    app: Flask, client: FlaskClient, staff: StaffActions
) -> None:
    holder = staff.create("holder@example.org")
    submit_report(english_client(app), narrative="They drove us to Zhodzina at night.")
    late = staff.create("late@example.org")  # joined after the report: holds no key
    staff.login(client, holder)
    page = _get(client, "q=zhodzina")
    assert len(_listed(page)) == 1
    assert "Found: 1." in page
    other = english_client(app)
    staff.login(other, late)
    page = _get(other, "q=zhodzina")
    assert _listed(page) == []
    assert "No case that you can open matches the filters, so nothing was searched." in page
    with app.app_context():
        # The late reviewer's search opened nothing, and the log says so.
        details = [e.detail for e in _searches(db.session())]
    assert details == ["opened=1", "opened=0"]


def test_cyrillic_search_over_http(app: Flask, client: FlaskClient, staff: StaffActions) -> None:
    holder = staff.create("holder@example.org")
    submit_report(english_client(app), narrative="Усё адабралі ў РУУС, потым — Акрэсціна.")
    staff.login(client, holder)
    for query in ("акрэсціна", "АКРЭСЦ", "усе руус", "УСЁ"):
        page = _get(client, f"q={quote(query)}")
        assert "Found: 1." in page, query
    for query in ("акрэсцина", "ўсё", "усё жодзіна"):
        assert "Found: 0." in _get(client, f"q={quote(query)}"), query


def test_a_query_without_words_is_no_search(
    app: Flask, client: FlaskClient, staff: StaffActions
) -> None:
    holder = staff.create("holder@example.org")
    submit_report(english_client(app), narrative="words")
    staff.login(client, holder)
    page = _get(client, "q=+...+%E2%80%94+")
    assert "Search results" not in page
    assert "Cases: 1." in page
    many = _get(client, "q=" + "+".join(f"w{i}" for i in range(12)))
    assert "Only the first 10 words are searched." in many
    with app.app_context():
        assert [e.detail for e in _searches(db.session())] == ["opened=1"]


def test_a_wrap_that_does_not_open_is_no_hit(app: Flask) -> None:
    with app.app_context():
        session = db.session()
        me, pair = _keyholder(session)
        # A wrap addressed to this account but made for another key.
        sealed_report(session, "needle", [(me, generate_keypair().public)], received_on=DAY)
        session.commit()
        found = search(
            session, QueueFilters(), ("needle",), account_id=me, private_key=pair.private
        )
        assert (found.matches, found.opened, found.unreadable) == ([], 0, 1)


def test_a_malformed_key_opens_nothing(app: Flask) -> None:
    with app.app_context():
        session = db.session()
        me, pair = _keyholder(session)
        sealed_report(session, "needle", [(me, pair.public)])
        session.commit()
        found = search(session, QueueFilters(), ("needle",), account_id=me, private_key=b"short")
        assert (found.matches, found.opened, found.unreadable) == ([], 0, 1)


def test_plain_filters_narrow_the_search(app: Flask) -> None:
    with app.app_context():
        session = db.session()
        me, pair = _keyholder(session)
        brest = sealed_report(session, "needle", [(me, pair.public)], region="brest")
        sealed_report(session, "needle", [(me, pair.public)], region="gomel")
        sealed_report(session, "haystack", [(me, pair.public)], region="brest")
        session.commit()
        found = search(
            session,
            QueueFilters(region="brest"),
            ("needle",),
            account_id=me,
            private_key=pair.private,
        )
        assert [r.public_id for r in found.matches] == [brest.public_id]
        assert (found.total, found.opened) == (2, 2)


@pytest.mark.parametrize("per_text_rows", [False, True], ids=["record", "older-rows"])
def test_answers_are_searched_but_not_the_contact(app: Flask, per_text_rows: bool) -> None:
    """In a new report's one record as in the row per text of older ones."""
    with app.app_context():
        session = db.session()
        me, pair = _keyholder(session)
        holders = [(me, pair.public)]
        in_answer = sealed_report(
            session,
            "narrative",
            holders,
            answers={"where_exact": "Okrestina yard"},
            per_text_rows=per_text_rows,
        )
        sealed_report(
            session,
            "narrative",
            holders,
            answers={"contact": "+375 29 1"},
            per_text_rows=per_text_rows,
        )
        in_narrative = sealed_report(
            session, "at Akrestsina gate", holders, per_text_rows=per_text_rows
        )
        session.commit()

        def hits(word: str) -> list[str]:
            found = search(
                session, QueueFilters(), (word,), account_id=me, private_key=pair.private
            )
            return [r.public_id for r in found.matches]

        assert hits("okrestina") == [in_answer.public_id]
        assert hits("akrestsina") == [in_narrative.public_id]
        assert hits("+375") == []


# --- nothing of the query is kept --------------------------------------------


def _everything_stored(app: Flask) -> list[object]:
    with app.app_context():
        session = db.session()
        return [
            value
            for table in Base.metadata.sorted_tables
            for row in session.execute(table.select())
            for value in row
        ]


def test_the_query_is_stored_nowhere(
    app: Flask, client: FlaskClient, staff: StaffActions, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    canary = f"Kanareyka{secrets.token_hex(4)}"
    holder = staff.create("holder@example.org")
    submit_report(english_client(app), narrative=f"The officer called himself {canary}.")
    staff.login(client, holder)
    page = _get(client, f"q={canary.upper()}+officer")
    assert "Found: 1." in page
    assert f'value="{canary.upper()} officer"' in page  # shown back to the person only
    needles = {canary.lower(), canary.upper(), canary}
    for value in _everything_stored(app):
        text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
        assert not any(needle in text for needle in needles)
    with app.app_context():
        events = _searches(db.session())
    assert [(e.detail, e.report_ref) for e in events] == [("opened=1", None)]
    assert canary.lower() not in caplog.text.lower()
    url = app.extensions["registry.config"].database_url
    if url.startswith("sqlite:///"):
        # The file itself, with its write-ahead log: no page ever held the query.
        path = Path(url.removeprefix("sqlite:///"))
        with app.app_context():
            db.engine().dispose()
        for part in (path, path.with_name(path.name + "-wal")):
            if part.exists():
                raw = part.read_bytes()
                assert not any(needle.encode() in raw for needle in needles), part


# --- bounds, cursor, audit -----------------------------------------------------


def test_scan_bound_and_cursor(app: Flask) -> None:
    with app.app_context():
        session = db.session()
        me, pair = _keyholder(session)
        # Seven cases, newest first: needles at positions 1, 4, 5 and 7.
        texts = ["needle", "hay", "hay", "needle", "needle", "hay", "needle"]
        reports = [
            sealed_report(session, text, [(me, pair.public)], received_on=DAY - timedelta(days=i))
            for i, text in enumerate(texts)
        ]
        session.commit()
        seen: list[str] = []
        after = None
        for first, last, more in ((1, 3, True), (4, 6, True), (7, 7, False)):
            found = search(
                session,
                QueueFilters(),
                ("needle",),
                account_id=me,
                private_key=pair.private,
                after=after,
                scan_limit=3,
            )
            session.commit()
            assert (found.first, found.last, found.total) == (first, last, 7)
            assert (found.next_after is not None) is more
            seen += [r.public_id for r in found.matches]
            after = found.next_after
        expected = [r.public_id for r, text in zip(reports, texts, strict=True) if text == "needle"]
        assert seen == expected
        assert [e.detail for e in _searches(session)] == ["opened=3", "opened=3", "opened=1"]


def test_a_page_of_matches_ends_the_request(app: Flask) -> None:
    with app.app_context():
        session = db.session()
        me, pair = _keyholder(session)
        for i in range(PAGE_SIZE + 5):
            sealed_report(session, "needle", [(me, pair.public)], received_on=DAY - timedelta(i))
        session.commit()
        kwargs = {"account_id": me, "private_key": pair.private}
        found = search(session, QueueFilters(), ("needle",), **kwargs)  # type: ignore[arg-type]
        assert (len(found.matches), found.opened, found.last) == (PAGE_SIZE, PAGE_SIZE, PAGE_SIZE)
        rest = search(
            session,
            QueueFilters(),
            ("needle",),
            after=found.next_after,
            **kwargs,  # type: ignore[arg-type]
        )
        assert (len(rest.matches), rest.first, rest.next_after) == (5, PAGE_SIZE + 1, None)


def test_an_unknown_cursor_starts_again(app: Flask) -> None:
    with app.app_context():
        session = db.session()
        me, pair = _keyholder(session)
        sealed_report(session, "needle", [(me, pair.public)])
        session.commit()
        found = search(
            session,
            QueueFilters(),
            ("needle",),
            account_id=me,
            private_key=pair.private,
            after="NOSUCHCASE",
        )
        assert (found.restarted, found.first, len(found.matches)) == (True, 1, 1)


def test_search_further_over_http(app: Flask, client: FlaskClient, staff: StaffActions) -> None:
    holder = staff.create("holder@example.org")
    with app.app_context():
        session = db.session()
        public_key = session.get(Account, holder.account_id).public_key  # type: ignore[union-attr]
        assert public_key is not None
        oldest = sealed_report(
            session, "the needle", [(holder.account_id, public_key)], received_on=date(2020, 1, 1)
        )
        for i in range(SCAN_LIMIT):
            sealed_report(
                session,
                "hay",
                [(holder.account_id, public_key)],
                received_on=DAY - timedelta(i % 9),
            )
        session.commit()
    staff.login(client, holder)
    first = _get(client, "q=needle&region=minsk-city")
    assert "Searched cases 1–1,000 of 1,001 that you can open" in first
    assert "Found: 0." in first
    further = re.search(r'<a href="([^"]+)" id="search-further">', first)
    assert further
    assert "region=minsk-city" in further.group(1)
    assert "q=needle" in further.group(1)
    second = _get(client, further.group(1).removeprefix("/review/?"))
    assert "Searched cases 1,001–1,001 of 1,001" in second
    assert _listed(second) == [oldest.public_id]
    assert 'id="search-further"' not in second
    with app.app_context():
        assert [e.detail for e in _searches(db.session())] == ["opened=1000", "opened=1"]
