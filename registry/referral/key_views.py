"""The registry's public signing key at a stable address: ``/keys/signing.pub``.

Public and cacheable: it is the same for everyone, carries no case data and
sets no cookie, and a partner checking a pack must be able to fetch it
without an account (docs/packs.md).
"""

from __future__ import annotations

import hashlib

from flask import Blueprint, Response, current_app, request

from registry import runtime
from registry.keyring.signing import signing_key

bp = Blueprint("keys", __name__, url_prefix="/keys")

CACHE_SECONDS = 3600


def _public_pem() -> str:
    """The derived public key, once per worker (the secret does not change while it runs)."""
    kept = current_app.extensions
    if "registry.signing-public" not in kept:
        kept["registry.signing-public"] = signing_key(runtime.config().keys_dir).public_pem()
    pem: str = kept["registry.signing-public"]
    return pem


@bp.get("/signing.pub")
def signing_public() -> Response:
    """The Ed25519 public key that signs pack manifests, as PEM text."""
    pem = _public_pem()
    response = Response(pem, mimetype="text/plain")
    response.set_etag(hashlib.sha256(pem.encode("ascii")).hexdigest())
    response.cache_control.public = True
    response.cache_control.max_age = CACHE_SECONDS
    # A revalidation with the same ETag gets 304 and no body.
    response.make_conditional(request)
    return response
