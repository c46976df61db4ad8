"""Rate limits: login per account name and overall, never per address."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from config import TestingConfig
from registry import create_app, db
from tests.helpers import csrf_token


def _limited_app(database_url: str, tmp_path: Path, storage: str) -> Flask:
    cfg = TestingConfig.for_paths(tmp_path / "instance", tmp_path / "keys", database_url)
    return create_app(cfg.with_overrides(ratelimit_enabled=True, ratelimit_storage_uri=storage))


def _redis_available() -> bool:
    import redis

    try:
        return bool(redis.Redis(host="127.0.0.1", port=6379, socket_timeout=1).ping())
    except redis.exceptions.RedisError:
        return False


@pytest.fixture(params=["memory", "redis"])
def limited(request: pytest.FixtureRequest, app: Flask, tmp_path: Path) -> Iterator[Flask]:
    """The app with rate limits on, in memory and in the Redis at 127.0.0.1:6379."""
    if request.param == "redis":
        if not _redis_available():
            pytest.skip("!!! no Redis at 127.0.0.1:6379: Redis-backed limits NOT TESTED !!!")
        # A fresh database number-free key prefix is not configurable, so the
        # test uses unique account names instead of flushing a shared Redis.
        storage = "redis://127.0.0.1:6379"
    else:
        storage = "memory://"
    limited_app = _limited_app(app.extensions["registry.config"].database_url, tmp_path, storage)
    yield limited_app
    with limited_app.app_context():
        db.engine().dispose()


def _attempt(client: object, email: str) -> int:
    page = client.get("/staff/login").get_data(as_text=True)  # type: ignore[attr-defined]
    response = client.post(  # type: ignore[attr-defined]
        "/staff/login",
        data={
            "csrf_token": csrf_token(page),
            "email": email,
            "password": "x" * 12,
            "code": "000000",
        },
    )
    return int(response.status_code)


def test_login_is_throttled_per_account_name(limited: Flask) -> None:
    """The database throttle (tests/auth/test_login_throttle.py) answers first.

    Its 5 free attempts come before the site-wide Flask-Limiter limit, which
    only bounds the Argon2id work of a flood.
    """
    client = limited.test_client()
    target = f"victim-{secrets.token_hex(4)}@example.org"
    statuses = [_attempt(client, target) for _ in range(6)]
    assert statuses[:5] == [200] * 5
    assert statuses[5] == 429
    # Another account name is not locked out by the attack on the first.
    assert _attempt(client, f"other-{secrets.token_hex(4)}@example.org") == 200


def test_throttle_page_is_in_the_visitors_language(limited: Flask) -> None:
    client = limited.test_client()
    client.get("/lang/ru")
    target = f"ru-{secrets.token_hex(4)}@example.org"
    for _ in range(5):
        _attempt(client, target)
    page = client.get("/staff/login").get_data(as_text=True)
    response = client.post(
        "/staff/login",
        data={
            "csrf_token": csrf_token(page),
            "email": target,
            "password": "y" * 12,
            "code": "123456",
        },
    )
    assert response.status_code == 429
    assert '<html lang="ru">' in response.get_data(as_text=True)
    assert "Попробуйте снова через 1 минуту." in response.get_data(as_text=True)


def _submitter_page(client: object, path: str) -> str:
    return str(client.get(path).get_data(as_text=True))  # type: ignore[attr-defined]


def test_strangers_cannot_use_up_a_submitters_withdrawal_or_receipt_tries(
    limited: Flask,
) -> None:
    """Submitter limits are never one site-wide counter (found by review).

    Without a client address, a shared counter lets one visitor lock every
    submitter out: a stranger's flood must leave the person's receipt entry
    and withdrawal working.
    """
    from tests.helpers import english_client, post_form, submit_report

    person = english_client(limited)
    receipt = submit_report(person, narrative="a report to withdraw later")
    stranger = english_client(limited)
    token = csrf_token(_submitter_page(stranger, "/followup/"))
    for _ in range(130):
        stranger.post("/followup/withdraw", data={"csrf_token": token, "confirm": "y"})
        stranger.post("/followup/", data={"csrf_token": token, "receipt": "0" * 20})
    opened = post_form(person, "/followup/", {"receipt": receipt})
    assert opened.status_code == 303
    done = post_form(person, "/followup/withdraw", {"confirm": "y", "receipt": receipt})
    assert done.status_code == 200
    assert "Your report is deleted" in done.get_data(as_text=True)


def test_one_reports_withdrawal_tries_are_limited(limited: Flask) -> None:
    from tests.helpers import english_client, post_form, submit_report

    person = english_client(limited)
    receipt = submit_report(person, narrative="someone copied my cookie")
    assert post_form(person, "/followup/", {"receipt": receipt}).status_code == 303
    wrong = "0000-0000-0000-0000-0001"
    statuses = [
        post_form(person, "/followup/withdraw", {"confirm": "y", "receipt": wrong}).status_code
        for _ in range(11)
    ]
    assert statuses[:10] == [422] * 10
    assert statuses[10] == 429


def _limiter_wrapped(view: object) -> bool:
    """Whether Flask-Limiter wrapped ``view`` or any function under it (``__wrapped__``)."""
    while view is not None:
        if getattr(view, "__wrapper-limiter-instance", None) is not None:
            return True
        view = getattr(view, "__wrapped__", None)
    return False


def test_every_limit_is_set_through_rate_limit(app: Flask) -> None:
    """Views without a limit skip the limiter (registry.web.extensions._unlimited).

    So a limit set any other way (``limiter.limit`` or ``shared_limit``
    directly) would never be checked: every view that Flask-Limiter wrapped,
    under any decorators, must be one the filter knows as limited, and the
    other way round.
    """
    from registry.web.extensions import _has_limit

    wrapped = sorted(name for name, view in app.view_functions.items() if _limiter_wrapped(view))
    known = sorted(name for name, view in app.view_functions.items() if _has_limit(view))
    assert wrapped == known
    assert known == [
        "account.password",
        "account.recovery_codes",
        "auth.login",
        "followup.withdraw",
    ]


def test_a_limit_under_another_decorator_is_still_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A decorator above ``@rate_limit`` (a role check, say) must not drop the limit."""
    import functools
    from collections.abc import Callable
    from typing import Any

    from registry.web import security
    from registry.web.extensions import rate_limit

    def outer(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            return view(*args, **kwargs)

        return checked

    @outer
    @rate_limit("2 per minute")
    def probe() -> str:
        return "ok"

    cfg = TestingConfig.for_paths(tmp_path / "instance", tmp_path / "keys", "sqlite://")
    limited_app = create_app(cfg.with_overrides(ratelimit_enabled=True))
    limited_app.add_url_rule("/__limited_probe", "limited_probe", probe)
    monkeypatch.setattr(security, "PUBLIC_ENDPOINTS", security.PUBLIC_ENDPOINTS | {"limited_probe"})
    client = limited_app.test_client()
    assert [client.get("/__limited_probe").status_code for _ in range(3)] == [200, 200, 429]


@pytest.mark.parametrize(
    "setting", ["RATELIMIT_DEFAULT", "RATELIMIT_APPLICATION", "RATELIMIT_META"]
)
def test_limits_on_every_view_refuse_to_start(setting: str) -> None:
    from registry.web import extensions

    app = Flask(__name__)
    app.config[setting] = "5 per minute"
    with pytest.raises(RuntimeError, match=setting):
        extensions.init_app(app)
