"""Safe download headers."""

from __future__ import annotations

from urllib.parse import quote


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII fallback and the RFC 5987 UTF-8 name.

    Control characters, quotes and path separators are dropped, so a file
    name chosen by anyone cannot inject a header or a path.
    """
    cleaned = "".join(c for c in name if c.isprintable() and c not in '"\\/;') or "file"
    ascii_name = cleaned.encode("ascii", "replace").decode().replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(cleaned)}"
