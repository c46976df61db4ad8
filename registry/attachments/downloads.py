"""Safe download headers."""

from __future__ import annotations

from urllib.parse import quote

# WHY a policy of its own for an inline photo: the response is only an
# image, so nothing in it may load, run or style anything else, and
# ``sandbox`` gives it an origin of its own should a browser ever render it
# as a document.
PREVIEW_CSP = (
    "default-src 'none'; img-src 'self'; style-src 'none'; frame-ancestors 'none'; sandbox"
)


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII fallback and the RFC 5987 UTF-8 name.

    Control characters, quotes and path separators are dropped, so a file
    name chosen by anyone cannot inject a header or a path.
    """
    cleaned = "".join(c for c in name if c.isprintable() and c not in '"\\/;') or "file"
    ascii_name = cleaned.encode("ascii", "replace").decode().replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(cleaned)}"
