"""Row ids do not date a submitter's actions (promise 3: only the day is kept).

With counting ids, a report, its key wraps, a follow-up message or file
would get an id between those of rows staff made just before and after it
(a grant's key wrap, a reply), whose times the audit log keeps to the
second: a seized database would date the submitter's action to minutes.
Here submitter and staff actions alternate, and the ids of every table the
submitter writes must neither count up nor follow the order of the actions,
while the case still shows messages and files in the order they came.
"""

from __future__ import annotations

import io
import re
import threading
from dataclasses import dataclass, field
from datetime import date

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from registry import db
from registry.models import Attachment, KeyWrap, Message, Report, Role
from registry.models.base import random_row_id
from registry.records.messages import post_from_submitter
from tests.helpers import StaffActions, english_client, post_form, submit_and_locate, submit_report

# Rounds of alternating actions.  Each table below then holds rows from at
# least 10 actions: random ids put them in action order with a chance of at
# most 1/10! (3e-7), the only way the order assertion could fail by chance.
ROUNDS = 10
PDF = b"%PDF-1.7\n%row-ids\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n"
TABLES = (Report, KeyWrap, Message, Attachment)
CONVERSATION = re.compile(r"(?:Submitter note|Staff reply) \d\d")
FILE_NAME = re.compile(r"scan-\d\d\.pdf")


@dataclass
class Actions:
    """The ids each action added, per table, in the order of the actions."""

    app: Flask
    seen: dict[type, set[int]] = field(default_factory=lambda: {t: set() for t in TABLES})
    added: dict[type, list[set[int]]] = field(default_factory=lambda: {t: [] for t in TABLES})

    def done(self) -> None:
        """Note which rows the action just taken added."""
        with self.app.app_context():
            session = db.session()
            for table in TABLES:
                now = set(session.scalars(select(table.id)))
                if now - self.seen[table]:
                    self.added[table].append(now - self.seen[table])
                self.seen[table] = now


@dataclass
class Story:
    """A case whose rows were made by alternating submitter and staff actions."""

    public_id: str
    submitter: FlaskClient
    coordinator: FlaskClient
    actions: Actions
    said: list[str]
    files: list[str]


def _post(client: FlaskClient, path: str, page: str, data: dict[str, object]) -> None:
    response = post_form(client, path, data, form_page=page)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]


@pytest.fixture
def story(app: Flask, staff: StaffActions) -> Story:
    coordinator = staff.create("coordinator@example.org", Role.COORDINATOR)
    coordinator_client = english_client(app)
    staff.login(coordinator_client, coordinator)
    actions = Actions(app)
    submitter = english_client(app)
    receipt = submit_report(submitter)
    actions.done()
    with app.app_context():
        public_id = db.session().scalars(select(Report.public_id)).one()
    case = f"/review/case/{public_id}"
    for round_ in range(ROUNDS - 1):
        # Staff: someone who joined after the case arrived is given its key.
        newcomer = staff.create(f"newcomer{round_}@example.org")
        _post(coordinator_client, f"{case}/access", case, {"grantee": str(newcomer.account_id)})
        actions.done()
        # Submitter: another report (with key wraps to everyone, newcomers too).
        submit_report(english_client(app), narrative=f"Report {round_}")
        actions.done()
    _post(submitter, "/followup/", "/followup/", {"receipt": receipt})
    said, files = [], []
    for round_ in range(ROUNDS):
        said.append(f"Submitter note {round_:02}")
        _post(submitter, "/followup/message", "/followup/case", {"text": said[-1]})
        actions.done()
        said.append(f"Staff reply {round_:02}")
        _post(coordinator_client, f"{case}/reply", case, {"text": said[-1]})
        actions.done()
        files.append(f"scan-{round_:02}.pdf")
        upload: dict[str, object] = {"files": [(io.BytesIO(PDF), files[-1])]}
        _post(submitter, "/followup/files", "/followup/case", upload)
        actions.done()
    return Story(public_id, submitter, coordinator_client, actions, said, files)


def test_ids_do_not_follow_the_order_of_actions(story: Story) -> None:
    for table in TABLES:
        added = story.actions.added[table]
        assert len(added) >= ROUNDS, table
        ids = [row_id for rows in added for row_id in rows]
        # Random 62-bit ids: one at most 2**32 has a chance of 2**-30.
        assert all(row_id > 2**32 for row_id in ids), table
        # Counting ids would put every action's rows above the previous one's.
        in_action_order = all(max(a) < min(b) for a, b in zip(added, added[1:], strict=False))
        assert not in_action_order, table
    # The attack itself: a follow-up message written between two replies
    # (their times are in the audit log) must not have an id between theirs.
    messages = [row_id for rows in story.actions.added[Message] for row_id in rows]
    assert len(messages) == 2 * ROUNDS  # note, reply, note, reply, …
    replies, notes = messages[1::2], messages[0::2]
    framed = [
        before < note < after
        for before, note, after in zip(replies, notes[1:], replies[1:], strict=False)
    ]
    assert len(framed) == ROUNDS - 1
    # Counting ids frame every one; random ones each with a chance of 1/6.
    assert not all(framed)


def test_case_shows_messages_and_files_in_the_order_they_came(app: Flask, story: Story) -> None:
    followup = story.submitter.get("/followup/case").get_data(as_text=True)
    assert CONVERSATION.findall(followup) == story.said
    case = story.coordinator.get(f"/review/case/{story.public_id}").get_data(as_text=True)
    assert CONVERSATION.findall(case) == story.said
    assert FILE_NAME.findall(case) == story.files
    with app.app_context():
        session = db.session()
        report = session.scalars(select(Report).where(Report.public_id == story.public_id)).one()
        for model, count in ((Message, len(story.said)), (Attachment, len(story.files))):
            seqs = session.scalars(select(model.seq).where(model.report_id == report.id))
            assert sorted(seqs) == list(range(1, count + 1))
        # Another case's conversation starts at 1, whatever this one holds.
        other = session.scalars(select(Report).where(Report.id != report.id)).first()
        assert other is not None
        message = post_from_submitter(
            session, other, "A first word", today=date(2026, 1, 2), signing_seed=bytes(32)
        )
        assert message.seq == 1
        session.rollback()


def test_concurrent_messages_wait_for_each_other(app: Flask) -> None:
    """Two messages posted to one case at once both get stored, one after the other.

    Without a lock both would read the same last position and the second
    commit would break the unique (report_id, seq) constraint.
    """
    public_id = submit_and_locate(app, english_client(app))
    with app.app_context():
        engine = db.engine()
        first, second = Session(engine), Session(engine)
        query = select(Report).where(Report.public_id == public_id)
        got: list[int] = []

        def other_writer() -> None:
            message = post_from_submitter(
                second,
                second.scalars(query).one(),
                "second",
                today=date(2026, 1, 2),
                signing_seed=bytes(32),
            )
            got.append(message.seq)
            second.commit()

        post_from_submitter(
            first,
            first.scalars(query).one(),
            "first",
            today=date(2026, 1, 2),
            signing_seed=bytes(32),
        )
        writer = threading.Thread(target=other_writer)
        writer.start()
        # Give the other writer time to read a stale last position, were it able to.
        writer.join(timeout=0.5)
        assert got == []
        first.commit()
        writer.join(timeout=10)
        assert got == [2]
        seqs = first.scalars(select(Message.seq).order_by(Message.seq)).all()
        assert seqs == [1, 2]
        first.close()
        second.close()


def test_random_row_ids_are_positive_64_bit() -> None:
    ids = [random_row_id() for _ in range(1000)]
    assert all(1 <= row_id <= 2**62 for row_id in ids)
    assert len(set(ids)) == len(ids)
