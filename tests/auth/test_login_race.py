"""Two logins racing with one code: the row lock makes the second wait and fail."""

from __future__ import annotations

import threading
import time

import pytest
from flask import Flask
from sqlalchemy import select, update

from registry import db, runtime
from registry.auth import loader, recovery
from registry.auth import service as auth
from registry.models import Account, RecoveryCode
from registry.models.base import utcnow
from tests.helpers import Staff, StaffActions, factor_key_of, totp_code


def _race(app: Flask, person: Staff, code: str, first_login: object) -> bool | None:
    """Hold the account's lock in another transaction while a login with ``code`` runs.

    ``first_login(conn)`` stores what the first login would (the step, the
    used code) and the transaction commits.  Returns whether the second
    login was accepted; it must still be running while the lock is held.
    """
    outcome: dict[str, bool] = {}

    def second_login() -> None:
        with app.app_context():
            cfg = runtime.config()
            try:
                auth.authenticate(
                    db.session(),
                    email=person.email,
                    password=person.password,
                    code=code,
                    params=runtime.password_params(cfg),
                    local_key=runtime.keyring().local_key,
                    policy=loader.login_throttle(),
                )
                outcome["accepted"] = True
            except auth.LoginFailed:
                outcome["accepted"] = False
            db.session().rollback()

    with app.app_context():
        engine = db.engine()
        with engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            conn.execute(
                select(Account.id).where(Account.id == person.account_id).with_for_update()
            )
            thread = threading.Thread(target=second_login)
            thread.start()
            time.sleep(1.0)
            waited = thread.is_alive()
            first_login(conn)  # type: ignore[operator]
            conn.commit()
        thread.join(timeout=20)
    assert waited, "the second login did not wait for the row lock"
    return outcome.get("accepted")


@pytest.mark.parametrize("kind", ["totp", "recovery"])
def test_a_code_used_by_a_concurrent_login_is_refused(
    app: Flask, staff: StaffActions, kind: str
) -> None:
    person = staff.create(f"race-{kind}@example.org")
    if kind == "totp":
        step = (staff.last_step(person) or 0) + 1
        code = totp_code(person.totp_secret, step)

        def first_login(conn: object) -> None:
            conn.execute(  # type: ignore[attr-defined]
                update(Account).where(Account.id == person.account_id).values(totp_last_step=step)
            )
    else:
        key = factor_key_of(app, person)
        with app.app_context():
            code = recovery.issue_codes(db.session(), person.account_id, key)[0]
            db.session().commit()

        def first_login(conn: object) -> None:
            conn.execute(  # type: ignore[attr-defined]
                update(RecoveryCode)
                .where(RecoveryCode.account_id == person.account_id)
                .values(used_at=utcnow())
            )

    assert _race(app, person, code, first_login) is False
