"""Raising the receipt cost later leaves every older receipt working (issue 12, point 5)."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, select, text

from registry import create_app, db
from registry.crypto import Argon2Params
from registry.followup.service import receipt_costs
from registry.models import Report
from registry.models.migrate import upgrade
from tests.helpers import english_client, post_form, submit_report

RECEIVED = "Received. Nobody has read it yet."
NOT_FOUND = "No report matches this receipt."


def _open(client: FlaskClient, receipt: str) -> str:
    response = post_form(client, "/followup/", {"receipt": receipt})
    if response.status_code == 303:
        return client.get(response.headers["Location"]).get_data(as_text=True)
    return response.get_data(as_text=True)


def _raised(app: Flask, cost: Argon2Params) -> Flask:
    """The same deployment (database, keys) restarted with a higher receipt cost."""
    cfg = app.extensions["registry.config"].with_overrides(
        receipt_memory_kib=cost.memory_kib, receipt_iterations=cost.iterations
    )
    return create_app(cfg)


def _stored_cost(app: Flask, receipt_report: str) -> Argon2Params:
    with app.app_context():
        value = db.session().scalar(
            select(Report.receipt_params).where(Report.public_id == receipt_report)
        )
    assert value is not None
    return Argon2Params.decode(value)


def test_an_old_receipt_opens_after_the_cost_is_raised(app: Flask, client: FlaskClient) -> None:
    cfg = app.extensions["registry.config"]
    old_cost = Argon2Params(memory_kib=cfg.receipt_memory_kib, iterations=cfg.receipt_iterations)
    new_cost = Argon2Params(memory_kib=old_cost.memory_kib * 2, iterations=old_cost.iterations + 1)
    old_receipt = submit_report(client, narrative="filed under the old cost")
    with app.app_context():
        (old_id,) = db.session().scalars(select(Report.public_id))
    assert _stored_cost(app, old_id) == old_cost

    raised = _raised(app, new_cost)
    try:
        _old_and_new_receipts(app, raised, old_receipt, old_id, old_cost, new_cost)
    finally:
        with raised.app_context():
            db.engine().dispose()


def _old_and_new_receipts(
    app: Flask,
    raised: Flask,
    old_receipt: str,
    old_id: str,
    old_cost: Argon2Params,
    new_cost: Argon2Params,
) -> None:
    assert RECEIVED in _open(english_client(raised), old_receipt)

    new_client = english_client(raised)
    new_receipt = submit_report(new_client, narrative="filed under the new cost")
    with raised.app_context():
        (new_id,) = set(db.session().scalars(select(Report.public_id))) - {old_id}
        assert receipt_costs(db.session(), new_cost) == [new_cost, old_cost]
    assert _stored_cost(raised, new_id) == new_cost
    assert RECEIVED in _open(english_client(raised), new_receipt)
    # A wrong receipt is still refused, under every cost.
    assert NOT_FOUND in _open(english_client(raised), "0000-0000-0000-0000-0001")
    # The receipt asked again before withdrawal is checked under the cost
    # the report was made with.
    withdrawing = english_client(raised)
    _open(withdrawing, old_receipt)
    done = post_form(withdrawing, "/followup/withdraw", {"confirm": "y", "receipt": old_receipt})
    assert done.status_code == 200
    with raised.app_context():
        assert list(db.session().scalars(select(Report.public_id))) == [new_id]


def test_a_report_that_names_no_cost_is_found_with_the_current_one(
    app: Flask, client: FlaskClient
) -> None:
    receipt = submit_report(client)
    with app.app_context():
        session = db.session()
        session.execute(text("UPDATE reports SET receipt_params = NULL"))
        session.commit()
    assert RECEIVED in _open(english_client(app), receipt)


def test_the_upgrade_records_the_configured_cost_on_older_reports(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    upgrade(url, "0012")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO reports (id, public_id, status, urgent, region, received_on,"
                " language, lookup_id, submitter_public_key, inbox_public_key,"
                " consent_contact, consent_publish, consent_refer) VALUES"
                " (7, 'R7', 'new', 0, 'minsk-city', '2026-01-01', 'be', :lookup, :key, :key,"
                " 'receipt', 0, 0)"
            ),
            {"lookup": b"\x01" * 32, "key": b"\x02" * 32},
        )
    cost = Argon2Params(memory_kib=19456, iterations=2)
    upgrade(url, receipt_params=cost.encode())
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT receipt_params FROM reports")).scalar_one()
    engine.dispose()
    assert Argon2Params.decode(stored) == cost
