"""Promise 8: a report nobody could ever open is refused, not silently stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from registry import create_app, db
from registry.models import KeyWrap, Report, Role, SealedField
from tests.helpers import StaffActions, english_client, post_form, submit_report

NOBODY = "The registry cannot accept reports yet: nobody has been set up to read them."
REPORT = {
    "narrative": "UNSTORED-5f1c они били нас в автобусе",
    "region": "minsk-city",
    "year": "2020",
    "month": "08",
    "violations": ["torture"],
}


@pytest.fixture
def bare(app: Flask, tmp_path: Path) -> Iterator[Flask]:
    """The same database served without an escrow key (a fresh ``make run``)."""
    cfg = app.extensions["registry.config"].with_overrides(keys_dir=tmp_path / "bare-keys")
    served = create_app(cfg)
    assert served.extensions["registry.keyring"].escrow_public is None
    yield served
    with served.app_context():
        db.engine().dispose()


def _stored(app: Flask) -> tuple[int, int, int]:
    with app.app_context():
        session = db.session()
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Report, SealedField, KeyWrap)
        )


@pytest.mark.parametrize("language", ["en", "ru"])
def test_no_escrow_and_no_reader_refuses_the_report(bare: Flask, language: str) -> None:
    # An administrator exists but receives no report keys (docs/threat-model.md#people).
    StaffActions(bare).create("admin@example.org", role=Role.ADMIN)
    client = english_client(bare)
    client.get(f"/lang/{language}")
    response = post_form(client, "/report", REPORT)
    assert response.status_code == 503
    html = response.get_data(as_text=True)
    assert f'<html lang="{language}">' in html
    if language == "en":
        assert NOBODY in html
        assert "Nothing was stored." in html
    assert 'class="error-summary"' in html
    assert REPORT["narrative"] in html  # the form is kept
    assert 'id="receipt"' not in html  # and no receipt promises anything
    assert _stored(bare) == (0, 0, 0)


def test_one_active_reviewer_is_enough(bare: Flask) -> None:
    reviewer = StaffActions(bare).create("reader@example.org")
    submit_report(english_client(bare))
    with bare.app_context():
        wraps = db.session().scalars(select(KeyWrap)).all()
        assert [(w.account_id, w.escrow) for w in wraps] == [(reviewer.account_id, False)]


def test_escrow_alone_is_enough(app: Flask) -> None:
    submit_report(english_client(app))  # conftest's deployment: escrow, no staff
    assert _stored(app)[0] == 1
