"""A change racing a purge that keeps nothing gets a clear answer, and stores nothing.

With ``REGISTRY_RETENTION_KEEP=nothing`` a purge deletes the case's row
itself.  A change whose view found the case just before the purge
committed then writes a row naming a case that is gone (a note, a
submitter's message: the database refuses a foreign key) or updates the
case's own row (its status: the UPDATE matches nothing).  The person must
get a plain page in their language, never a 500 (promise 9), with nothing
of the change stored and nothing of it logged; a link to a case purged
meanwhile is refused like a link to an id nobody can open, not as
"already linked".  The purge runs in its own session at the moment the
race needs it, between the view's checks and its write; everything else
(the view, the service, the database's refusal, the error page) is real.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from config import Config
from registry import db
from registry.attachments.storage import BlobStore
from registry.followup import service as followup
from registry.models import Message, Note, Report, ReportLink
from registry.retention.purge import purge_due
from registry.review import links, triage
from tests.helpers import StaffActions, csrf_token, english_client, post_form, submit_located
from tests.retention.cases import close

TODAY = date(2026, 12, 4)


def _closed_long_ago(app: Flask, client: FlaskClient) -> tuple[str, str]:
    """A submitted case, closed years ago: due for deletion today; its public id and receipt."""
    public_id, receipt = submit_located(app, client)
    with app.app_context():
        session = db.session()
        close(session, public_id, on=date(2020, 1, 1), disposition="substantiated")
        session.commit()
    return public_id, receipt


def _purge(app: Flask) -> None:
    """Run a purge that keeps nothing in a session of its own, and commit it."""
    cfg: Config = replace(
        app.extensions["registry.config"], retention_keep="nothing", retention_by_disposition=""
    )
    store: BlobStore = app.extensions["registry.blobs"]
    with Session(db.engine()) as other:
        assert len(purge_due(other, cfg, store, today=TODAY).purged) == 1


def _race(
    app: Flask, monkeypatch: pytest.MonkeyPatch, owner: object, name: str, *, purge_first: bool
) -> None:
    """Make ``owner.name`` run a purge that keeps nothing before or after its real work."""
    real = getattr(owner, name)

    def racing(*args: Any, **kwargs: Any) -> Any:
        if purge_first:
            _purge(app)
        result = real(*args, **kwargs)
        if not purge_first:
            _purge(app)
        return result

    monkeypatch.setattr(owner, name, racing)


def _rows(app: Flask, model: type[Note] | type[Message] | type[Report] | type[ReportLink]) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(model)) or 0


@pytest.mark.parametrize(
    ("path", "form", "refusal"),
    [
        ("notes", {"text": "Seen again."}, "IntegrityError"),
        ("status", {"status": "in-review"}, "StaleDataError"),
    ],
    ids=["note", "reopening"],
)
def test_a_reviewers_change_racing_the_purge_gets_a_plain_answer(
    app: Flask,
    client: FlaskClient,
    staff: StaffActions,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    path: str,
    form: dict[str, str],
    refusal: str,
) -> None:
    reviewer = staff.create("racer@example.org")
    public_id, _receipt = _closed_long_ago(app, client)
    reader = english_client(app)
    staff.login(reader, reviewer)
    token = csrf_token(reader.get(f"/review/case/{public_id}").get_data(as_text=True))
    # The change's service has checked the key; the purge commits before the change is written.
    _race(app, monkeypatch, triage, "data_key_for", purge_first=False)
    caplog.clear()
    answer = reader.post(f"/review/case/{public_id}/{path}", data={"csrf_token": token, **form})
    assert answer.status_code == 409
    page = answer.get_data(as_text=True)
    assert "Deleted meanwhile" in page
    assert "Nothing was stored." in page
    assert (_rows(app, Note), _rows(app, Report)) == (0, 0)
    # One line with the error's type: no SQL, no values, not even the case's id.
    logged = [record.getMessage() for record in caplog.records]
    assert f"a change met a row deleted meanwhile: {refusal}" in logged
    assert not [line for line in logged if public_id in line or "INSERT" in line]
    assert "UPDATE" not in caplog.text


def test_a_submitters_message_racing_the_purge_gets_a_plain_answer_in_their_language(
    app: Flask,
    client: FlaskClient,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _public_id, receipt = _closed_long_ago(app, client)
    submitter = app.test_client()
    submitter.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ru"
    assert post_form(submitter, "/followup/", {"receipt": receipt}).status_code == 303
    token = csrf_token(submitter.get("/followup/case").get_data(as_text=True))
    # The follow-up session found the case; the purge commits before the message is stored.
    _race(app, monkeypatch, followup, "post_from_submitter", purge_first=True)
    caplog.clear()
    answer = submitter.post("/followup/message", data={"csrf_token": token, "text": "Ещё одно."})
    assert answer.status_code == 409
    page = answer.get_data(as_text=True)
    assert '<html lang="ru">' in page
    assert "Тем временем удалено" in page
    assert "Ничего не сохранено." in page
    assert (_rows(app, Message), _rows(app, Report)) == (0, 0)
    logged = [record.getMessage() for record in caplog.records]
    assert logged == ["a change met a row deleted meanwhile: IntegrityError"]


def test_a_link_to_a_case_purged_meanwhile_is_refused_like_an_unknown_id(
    app: Flask, client: FlaskClient, staff: StaffActions, monkeypatch: pytest.MonkeyPatch
) -> None:
    reviewer = staff.create("linker@example.org")
    open_case, _receipt = submit_located(app, client)
    other, _receipt = _closed_long_ago(app, client)
    reader = english_client(app)
    staff.login(reader, reviewer)
    token = csrf_token(reader.get(f"/review/case/{open_case}").get_data(as_text=True))
    # Both keys checked; the other case goes before the link is stored.
    _race(app, monkeypatch, links, "_openable", purge_first=False)
    answer = reader.post(
        f"/review/case/{open_case}/links",
        data={"csrf_token": token, "other": other, "kind": "same-incident"},
    )
    assert answer.status_code == 303
    page = reader.get(answer.headers["Location"]).get_data(as_text=True)
    # Not "already linked": the same words as for an id nobody can open.
    assert "There is no case with this id that you can open." in page
    assert "already linked" not in page
    assert (_rows(app, ReportLink), _rows(app, Report)) == (0, 1)
