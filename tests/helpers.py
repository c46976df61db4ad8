"""Test helpers shared by the suites: forms, TOTP codes, staff accounts."""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, event, make_url, select, text
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from registry import db
from registry.auth import service as auth
from registry.models import Account, Report, Role

# The escrow key conftest installs for every test app: its locked private
# half is ``tmp_path / ESCROW_PRIVATE``, opened with this passphrase.
ESCROW_PRIVATE = "escrow.key"
ESCROW_PASSPHRASE = "a long escrow passphrase for the tests"


@contextmanager
def listening(target: Any, **handlers: Callable[..., None]) -> Iterator[None]:
    """SQLAlchemy event handlers on ``target`` while the body runs (event name = handler)."""
    for name, handler in handlers.items():
        event.listen(target, name, handler)
    try:
        yield
    finally:
        for name, handler in handlers.items():
            event.remove(target, name, handler)


def english_client(app: Flask) -> FlaskClient:
    """A new test client whose browser asks for English."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def csrf_token(html: str) -> str:
    """The CSRF token of the first form in ``html``."""
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "no CSRF token in page"
    return match.group(1)


def totp_code(secret: bytes, step: int) -> str:
    """The TOTP code of ``secret`` at time step ``step``."""
    totp = TOTP(secret, 6, SHA1(), 30)  # noqa: S303  (RFC 6238 uses SHA-1)
    return totp.generate(step * 30).decode()


def post_form(
    client: FlaskClient, path: str, data: dict[str, object], *, form_page: str = ""
) -> TestResponse:
    """GET ``form_page`` (default ``path``) for its CSRF token, then POST ``data`` to ``path``."""
    page = client.get(form_page or path).get_data(as_text=True)
    return client.post(path, data={"csrf_token": csrf_token(page), **data})


@dataclass
class Staff:
    """A staff member created for a test."""

    email: str
    password: str
    role: Role
    totp_secret: bytes
    account_id: int


class StaffActions:
    """Create staff accounts and log them in, like flaskr's AuthActions."""

    PASSWORD = "correct horse battery staple 42"

    def __init__(self, app: Flask) -> None:
        self.app = app

    def create(self, email: str, role: Role = Role.REVIEWER) -> Staff:
        """Create an active account through the real invite flow's services."""
        from datetime import timedelta

        from registry import runtime

        with self.app.app_context():
            session, cfg = db.session(), runtime.config()
            token = auth.create_invite(
                session, email=email, role=role, valid_for=timedelta(hours=1)
            )
            invite = auth.find_invite(session, token)
            enrolment = auth.choose_password(
                session,
                invite,
                email=email,
                password=self.PASSWORD,
                params=runtime.password_params(cfg),
                browser_secret=None,
            )
            account = enrolment.account
            secret = auth.enrolment_totp_secret(account, enrolment.browser_secret)
            auth.confirm_totp(
                session,
                invite,
                account,
                self.next_code(secret, None),
                browser_secret=enrolment.browser_secret,
            )
            session.commit()
            return Staff(email, self.PASSWORD, role, secret, account.id)

    def next_code(self, secret: bytes, last_step: int | None) -> str:
        """A code the server will accept: the earliest allowed, unused step."""
        # The earliest step (now - 1) leaves the server's window when the
        # clock crosses a 30 s boundary before the code is checked: on a busy
        # machine that happened between here and the check.  Near a
        # boundary, wait for it first.
        left = 30 - time.time() % 30
        if left < 3:
            time.sleep(left + 0.05)
        now = int(time.time() // 30)
        for step in (now - 1, now, now + 1):
            if last_step is None or step > last_step:
                return totp_code(secret, step)
        raise AssertionError("no unused TOTP step left in the window; wait 30 s")

    def last_step(self, staff: Staff) -> int | None:
        """The last TOTP step the server accepted for ``staff``."""
        with self.app.app_context():
            account = db.session().get(Account, staff.account_id)
            assert account is not None
            return account.totp_last_step

    def login(self, client: FlaskClient, staff: Staff) -> None:
        """Log ``staff`` in through the real login form."""
        page = client.get("/staff/login").get_data(as_text=True)
        response = client.post(
            "/staff/login",
            data={
                "csrf_token": csrf_token(page),
                "email": staff.email,
                "password": staff.password,
                "code": self.next_code(staff.totp_secret, self.last_step(staff)),
            },
        )
        assert response.status_code == 303, response.get_data(as_text=True)[:2000]


def private_key_of(app: Flask, person: Staff) -> bytes:
    """``person``'s private key, unlocked with their password (as a login does)."""
    from registry.crypto import unlock_private_key

    with app.app_context():
        account = db.session().get(Account, person.account_id)
        assert account is not None
        assert account.locked_private_key is not None
        return unlock_private_key(account.locked_private_key, person.password)


def factor_key_of(app: Flask, person: Staff) -> bytes:
    """``person``'s second-factor key (it keys their TOTP seed and recovery codes)."""
    from registry.crypto import second_factor_key

    return second_factor_key(private_key_of(app, person))


def submit_report(client: FlaskClient, **overrides: object) -> str:
    """Submit a report through the public form; return the receipt."""
    page = client.get("/report").get_data(as_text=True)
    data: dict[str, object] = {
        "csrf_token": csrf_token(page),
        "narrative": "They beat us in the bus.",
        "region": "minsk-city",
        "year": "2020",
        "month": "08",
        "violations": ["torture"],
    }
    data.update(overrides)
    response = client.post("/report", data=data)
    assert response.status_code == 200, response.get_data(as_text=True)[:3000]
    match = re.search(
        r'<p class="receipt" id="receipt"><code>([A-Z0-9-]+)</code>',
        response.get_data(as_text=True),
    )
    assert match, "no receipt on the page"
    return match.group(1)


def submit_and_locate(app: Flask, client: FlaskClient, **overrides: object) -> str:
    """Submit a report like :func:`submit_report`; return its public id."""
    return submit_located(app, client, **overrides)[0]


def submit_located(app: Flask, client: FlaskClient, **overrides: object) -> tuple[str, str]:
    """Submit a report like :func:`submit_report`; return its public id and receipt.

    Found as the one report not stored before: row ids are random, so the
    highest id is not the newest report.
    """
    with app.app_context():
        before = set(db.session().scalars(select(Report.public_id)))
    receipt = submit_report(client, **overrides)
    with app.app_context():
        (added,) = set(db.session().scalars(select(Report.public_id))) - before
    return added, receipt


@contextmanager
def triggers_bypassed(session: Session) -> Iterator[None]:
    """Switch off the append-only triggers, as the database owner can.

    Everything happens in one transaction, so a failure rolls the triggers
    back in.  SQLite cannot disable a trigger: drop it and re-create it.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        yield
        session.execute(text("ALTER TABLE audit_events ENABLE TRIGGER USER"))
        return
    if not session.connection().connection.driver_connection.in_transaction:
        session.execute(text("BEGIN IMMEDIATE"))
    saved = session.execute(
        text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"),
        {"t": "audit_events"},
    ).all()
    for name, _sql in saved:
        session.execute(text(f'DROP TRIGGER "{name}"'))
    yield
    for _name, sql in saved:
        session.execute(text(sql))


def texts_by_escrow(app: Flask, tmp_path: Path, public_id: str) -> dict[str, str]:
    """The sealed texts of a report, by text name, opened with the offline escrow key.

    As recovery would open them, whichever layout the report was stored in.
    """
    from registry.crypto import unlock_private_key, unwrap_data_key
    from registry.keyring.armor import PRIVATE_HEADER, dearmor
    from registry.models import KeyWrap, SealedField
    from registry.records.texts import open_texts
    from registry.records.vocabulary import TEXT_FIELDS

    locked = dearmor(PRIVATE_HEADER, (tmp_path / ESCROW_PRIVATE).read_text())
    private = unlock_private_key(locked, ESCROW_PASSPHRASE)
    with app.app_context():
        session = db.session()
        report = session.scalars(select(Report).where(Report.public_id == public_id)).one()
        wrapped = session.scalars(
            select(KeyWrap.wrapped).where(KeyWrap.report_id == report.id, KeyWrap.escrow)
        ).one()
        rows = session.execute(
            select(SealedField.name, SealedField.ciphertext).where(
                SealedField.report_id == report.id, SealedField.name.in_(TEXT_FIELDS)
            )
        ).all()
    dek = unwrap_data_key(wrapped, private, report_id=public_id)
    texts: dict[str, str] = {}
    for name, ciphertext in rows:
        texts.update(open_texts(dek, name, ciphertext, report_id=public_id))
    return texts


# The PostgreSQL server the suite creates its databases on.
PG_ADMIN_URL = os.environ.get(
    "REGISTRY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@contextmanager
def fresh_pg_database(prefix: str) -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database named ``<prefix>_<random>``, dropped after."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
