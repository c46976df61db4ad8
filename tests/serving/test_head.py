"""HeadGatherer: when a request's bytes suffice to spend a thread on it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.serving.head import HeadGatherer, Verdict

SMALL = 64


def _gatherer() -> HeadGatherer:
    return HeadGatherer(max_head=512, max_small_body=SMALL)


def test_a_get_is_quick_once_its_head_is_complete() -> None:
    gatherer = _gatherer()
    assert gatherer.feed(b"GET / HTTP/1.1\r\nHost: x\r\n") is Verdict.MORE
    assert gatherer.feed(b"\r\n") is Verdict.QUICK
    assert gatherer.take() == b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


def test_a_small_body_is_gathered_before_a_thread_is_used() -> None:
    gatherer = _gatherer()
    head = b"POST /x HTTP/1.1\r\nContent-Length: 10\r\n\r\n"
    assert gatherer.feed(head + b"12345") is Verdict.MORE
    assert gatherer.feed(b"67890") is Verdict.QUICK
    assert gatherer.take() == head + b"1234567890"


@pytest.mark.parametrize(
    "header",
    [
        b"Content-Length: 65",
        b"Transfer-Encoding: chunked",
        b"transfer-encoding: gzip, chunked",
        b"Expect: 100-continue",
    ],
)
def test_large_chunked_or_expecting_bodies_stream(header: bytes) -> None:
    data = b"POST /report HTTP/1.1\r\nHost: x\r\n" + header + b"\r\n\r\n"
    assert _gatherer().feed(data) is Verdict.STREAM


@pytest.mark.parametrize(
    "header",
    [b"Content-Length: 5\r\nContent-Length: 6", b"Content-Length: -1", b"Content-Length: x"],
)
def test_bad_lengths_go_straight_to_gunicorns_refusal(header: bytes) -> None:
    data = b"POST / HTTP/1.1\r\n" + header + b"\r\n\r\n"
    assert _gatherer().feed(data) is Verdict.QUICK


def test_an_endless_head_is_refused() -> None:
    gatherer = _gatherer()
    assert gatherer.feed(b"GET / HTTP/1.1\r\n") is Verdict.MORE
    assert gatherer.feed(b"X: " + b"a" * 600) is Verdict.REFUSE


def test_blank_lines_before_the_request_line_are_ignored() -> None:
    assert _gatherer().feed(b"\r\n\r\nGET / HTTP/1.1\r\n\r\n") is Verdict.QUICK


@settings(max_examples=300, deadline=None)
@given(
    body=st.binary(max_size=2 * SMALL),
    cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=12),
    chunked=st.booleans(),
)
def test_any_split_gives_one_verdict_and_keeps_every_byte(
    body: bytes, cuts: list[int], chunked: bool
) -> None:
    """However the bytes arrive, the verdict is the same and nothing is lost."""
    framing = b"Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(body)}".encode()
    data = b"POST /report HTTP/1.1\r\nHost: x\r\n" + framing + b"\r\n\r\n" + body
    gatherer = _gatherer()
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    verdict, fed = Verdict.MORE, 0
    for start, end in zip(points, points[1:], strict=False):
        verdict, fed = gatherer.feed(data[start:end]), end
        if verdict is not Verdict.MORE:
            break  # the worker stops reading here and hands the connection over
    expected = Verdict.STREAM if chunked or len(body) > SMALL else Verdict.QUICK
    assert verdict is expected
    # Everything read so far goes to the HTTP parser, in order.
    assert gatherer.take() == data[:fed]
