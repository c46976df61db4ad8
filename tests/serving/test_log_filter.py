"""WithholdRequestData: what any log record may still say after the filter."""

from __future__ import annotations

import logging

from registry.serving.logs import WITHHELD, WithholdRequestData, traceback_shape

CANARY = "CANARYsecretword"


def _record(msg: str, args: tuple[object, ...] = (), exc: BaseException | None = None) -> str:
    exc_info = (type(exc), exc, exc.__traceback__) if exc else None
    record = logging.LogRecord("gunicorn.error", logging.ERROR, __file__, 1, msg, args, exc_info)
    assert WithholdRequestData().filter(record)
    handler = logging.StreamHandler()
    return handler.format(record)


def _raised() -> BaseException:
    try:
        try:
            raise KeyError(f"/review/?q={CANARY}")
        except KeyError as inner:
            raise RuntimeError(f"while serving {CANARY}") from inner
    except RuntimeError as error:
        return error


def test_a_request_line_argument_is_withheld() -> None:
    text = _record("Error handling request %s %s", ("GET", f"/review/?q={CANARY}"))
    assert CANARY not in text
    assert WITHHELD in text


def test_word_like_arguments_in_messages_about_requests_are_withheld_too() -> None:
    assert CANARY not in _record("Invalid request from ip=%s: %s", ("10.0.0.1", CANARY))


def test_numbers_and_type_names_stay() -> None:
    exited = _record("Worker (pid:%s) exited with code %s", (123, 1))
    assert exited == "Worker (pid:123) exited with code 1"
    typed = _record("unexpected error: %s", ("OperationalError",))
    assert typed == "unexpected error: OperationalError"


def test_a_traceback_keeps_its_shape_but_no_message() -> None:
    error = _raised()
    text = _record("failed", (), error)
    assert CANARY not in text
    assert "builtins.RuntimeError" in text
    assert "builtins.KeyError" in text
    assert "in _raised" in text
    assert traceback_shape((type(error), error, error.__traceback__)) in text


def test_a_template_that_does_not_match_its_arguments_is_kept_bare() -> None:
    assert _record("%s and %s", (CANARY,)) == "%s and %s"
