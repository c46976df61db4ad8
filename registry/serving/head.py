"""Deciding, byte by byte, when a request's head has arrived.

The serving worker (``registry.serving.worker``) reads every connection's
first bytes in its event loop, without a thread, and hands the connection
to a thread only when :class:`HeadGatherer` says what kind of work it is.
Pure: bytes in, a verdict out; no sockets, no gunicorn.
"""

from __future__ import annotations

import enum

HEAD_END = b"\r\n\r\n"


class Verdict(enum.Enum):
    """What the worker does with a connection after the bytes seen so far."""

    MORE = "more"
    """The head (or the small body behind it) is not complete yet: keep waiting."""
    QUICK = "quick"
    """Everything the request needs is in memory: a thread answers it at once."""
    STREAM = "stream"
    """A large or chunked body follows: a thread of the upload pool reads it as it arrives."""
    REFUSE = "refuse"
    """The head is larger than any browser sends: close the connection."""


class HeadGatherer:
    """Collects one request's head and, if small, its body.

    ``max_head`` bounds the head (request line and header fields);
    ``max_small_body`` is the largest body gathered in memory before a
    thread is used.  Both bound what an idle or slow connection can make a
    worker hold: at most ``max_head + max_small_body`` bytes each.
    """

    def __init__(self, max_head: int, max_small_body: int) -> None:
        self.max_head = max_head
        self.max_small_body = max_small_body
        self._data = bytearray()
        self._need: int | None = None  # total bytes (head + small body) once known

    @property
    def size(self) -> int:
        """How many bytes are held."""
        return len(self._data)

    def feed(self, chunk: bytes) -> Verdict:
        """Add bytes that arrived; say whether the request can be answered now."""
        self._data += chunk
        if self._need is not None:
            return Verdict.QUICK if len(self._data) >= self._need else Verdict.MORE
        start = _skip_blank_lines(self._data)
        end = self._data.find(HEAD_END, start)
        if end < 0:
            return Verdict.REFUSE if len(self._data) - start > self.max_head else Verdict.MORE
        head_end = end + len(HEAD_END)
        if head_end - start > self.max_head:
            return Verdict.REFUSE
        verdict, body = _body_plan(bytes(self._data[start:end]), self.max_small_body)
        if verdict is not Verdict.MORE:
            return verdict
        self._need = head_end + body
        return Verdict.QUICK if len(self._data) >= self._need else Verdict.MORE

    def take(self) -> bytes:
        """The bytes gathered so far, handed to the HTTP parser (and forgotten here)."""
        data = bytes(self._data)
        self._data = bytearray()
        self._need = None
        return data


def _skip_blank_lines(data: bytearray) -> int:
    # RFC 9112 §2.2: a server should ignore empty lines before the request line.
    start = 0
    while data.startswith(b"\r\n", start):
        start += 2
    return start


def _body_plan(head: bytes, max_small_body: int) -> tuple[Verdict, int]:
    """From a complete head: answer now (QUICK), stream (STREAM), or gather N more bytes (MORE, N).

    Only what decides the plan is read here; gunicorn's own parser still
    parses and validates the whole request afterwards, so a malformed head
    is answered QUICK and gunicorn refuses it with a 400.
    """
    lengths: list[bytes] = []
    for line in head.split(b"\r\n")[1:]:
        name, sep, value = line.partition(b":")
        if not sep:
            continue
        name = name.strip().lower()
        if name in (b"transfer-encoding", b"expect"):
            # A chunked body has no length to wait for, and a client that
            # expects "100 Continue" sends nothing until it is answered.
            return Verdict.STREAM, 0
        if name == b"content-length":
            lengths.append(value.strip())
    if not lengths:
        return Verdict.QUICK, 0
    if len(lengths) > 1 or not lengths[0].isdigit():
        return Verdict.QUICK, 0  # gunicorn refuses it (400) without reading a body
    length = int(lengths[0])
    if length > max_small_body:
        return Verdict.STREAM, 0
    if length == 0:
        return Verdict.QUICK, 0
    return Verdict.MORE, length
