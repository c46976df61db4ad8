"""An upload that is still arriving holds no database connection.

Over Tor a report with a video streams in for half an hour.  If its request
held a pooled connection meanwhile, fifteen slow uploads would take every
connection and every other page would wait for the pool and fail.
"""

from __future__ import annotations

import io

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from registry import db
from tests.e2e.support import multipart_body
from tests.helpers import csrf_token


class WatchedBody(io.RawIOBase):
    """A request body that notes how many connections are checked out at each read."""

    def __init__(self, data: bytes, engine: Engine) -> None:
        self._data = io.BytesIO(data)
        self._engine = engine
        self.checked_out: list[int] = []

    def readable(self) -> bool:
        """A readable stream."""
        return True

    def seekable(self) -> bool:
        """Werkzeug's test client asks where the stream starts."""
        return True

    def tell(self) -> int:
        """Position in the body."""
        return self._data.tell()

    def seek(self, offset: int, whence: int = 0) -> int:
        """Move in the body (the test client rewinds once, before the request)."""
        return self._data.seek(offset, whence)

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        """Read the next piece, noting the pool's state first."""
        self.checked_out.append(self._engine.pool.checkedout())  # type: ignore[attr-defined]
        piece = self._data.read(min(len(buffer), 4096))
        buffer[: len(piece)] = piece
        return len(piece)


def test_a_streaming_upload_holds_no_connection(app: Flask, client: FlaskClient) -> None:
    token = csrf_token(client.get("/report").get_data(as_text=True))
    body, content_type = multipart_body(
        [("csrf_token", token), ("narrative", "They beat me."), ("region", "brest")],
        [("files", "scan.pdf", b"%PDF-1.7\n" + bytes(200_000))],
    )
    with app.app_context():
        engine = db.engine()
    watched = WatchedBody(body, engine)
    response = client.post(
        "/report",
        input_stream=watched,
        content_type=content_type,
        content_length=len(body),
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    assert len(watched.checked_out) > 10  # the body really was read in pieces
    assert max(watched.checked_out) == 0
