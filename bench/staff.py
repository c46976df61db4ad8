"""Reviewers for the HTTP benchmarks: invited in the database, enrolled over HTTP."""

from __future__ import annotations

import base64
import re
import secrets
import time
from datetime import timedelta

from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP
from flask import Flask
from sqlalchemy.orm import Session

from bench.client import Client, csrf_token
from registry import db, runtime
from registry.auth import service as auth
from registry.auth.service import create_invite
from registry.db import make_engine
from registry.models import Role

PASSWORD = "correct horse battery staple 42"  # noqa: S105  (a throwaway bench account)
SECRET = re.compile(r'<code id="totp-secret">([A-Z2-7]+)</code>')


def _code(secret: bytes, step: int) -> str:
    return TOTP(secret, 6, SHA1(), 30).generate(step * 30).decode()  # noqa: S303  (RFC 6238)


def _invite(database_url: str, email: str) -> str:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            token = create_invite(
                session, email=email, role=Role.REVIEWER, valid_for=timedelta(hours=1)
            )
            session.commit()
    finally:
        engine.dispose()
    return token


def _expect(answer_status: int, wanted: int, what: str) -> None:
    if answer_status != wanted:
        raise RuntimeError(f"{what}: HTTP {answer_status}, expected {wanted}")


def enrol_reviewer(database_url: str, port: int) -> Client:
    """A reviewer who chose a password, enrolled TOTP and is logged in."""
    email = f"reviewer-{secrets.token_hex(4)}@example.org"
    client = Client(port, {"Accept-Language": "en"})
    invite = f"/staff/invite/{_invite(database_url, email)}"
    chosen = client.submit(invite, [("password", PASSWORD), ("confirm", PASSWORD)])
    _expect(chosen.status, 303, "choose password")
    page = client.get("/staff/enrol")
    found = SECRET.search(page.body)
    if found is None:
        raise RuntimeError("no TOTP secret on the enrolment page")
    text = found.group(1)
    secret = base64.b32decode(text + "=" * (-len(text) % 8))
    step = int(time.time() // 30)
    done = client.post(
        "/staff/enrol", [("csrf_token", csrf_token(page.body)), ("code", _code(secret, step))]
    )
    # Enrolment now ends on the page of recovery codes (200; it used to
    # redirect, 303).  Either way the account is active and may log in.
    _expect(done.status if done.status != 200 else 303, 303, "enrol TOTP")
    # A later step than the enrolment's: a used step is refused.
    login_step = max(int(time.time() // 30), step + 1)
    login = client.submit(
        "/staff/login",
        [("email", email), ("password", PASSWORD), ("code", _code(secret, login_step))],
    )
    _expect(login.status, 303, "log in")
    return client


def enrol_in_process(app: Flask, email: str, role: Role) -> bytes:
    """Enrol ``email`` as ``role`` through the invite's services, in process; its TOTP secret.

    The same steps the invite pages take (real password cost), without HTTP:
    for the in-process benches (page_profile, team_stats).
    """
    with app.app_context():
        session, cfg = db.session(), runtime.config()
        token = auth.create_invite(session, email=email, role=role, valid_for=timedelta(hours=1))
        invite = auth.find_invite(session, token)
        enrolment = auth.choose_password(
            session,
            invite,
            email=email,
            password=PASSWORD,
            params=runtime.password_params(cfg),
            browser_secret=None,
        )
        secret = auth.enrolment_totp_secret(enrolment.account, enrolment.browser_secret)
        step = int(time.time() // 30) - 1
        auth.confirm_totp(
            session,
            invite,
            enrolment.account,
            _code(secret, step),
            browser_secret=enrolment.browser_secret,
        )
        session.commit()
    return secret
