"""The design documents keep up with the code they describe.

- Every envelope kind of ``registry.crypto.envelope`` has its row in the
  kind table of ``docs/envelopes.md`` (number, name and exact label).
- Formats the frozen vectors do not pin are checked against the code here:
  the deployment sub-keys and the follow-up cookie, as documented.
- The independent reader (``test_independent_reader.py``) stays
  independent: it imports nothing from ``registry``.
- Every document the index lists exists, and every document is listed;
  links between the documents resolve.
- Every test ``docs/threat-model.md`` names as guarding a promise exists.
"""

from __future__ import annotations

import ast
import base64
import re
import struct
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from registry.crypto import generate_keypair
from registry.crypto.envelope import Kind, associated_data
from registry.followup.cookie import FollowupSession, encode
from registry.keyring import load_keyring

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
READER = Path(__file__).with_name("test_independent_reader.py")


def _label(kind: Kind) -> str:
    """The label, read back out of the code's own encoding (its first length-prefixed item)."""
    encoded = associated_data(kind)
    length = int.from_bytes(encoded[:4], "big")
    return encoded[4 : 4 + length].decode("ascii")


def test_every_envelope_kind_is_documented() -> None:
    text = (DOCS / "envelopes.md").read_text(encoding="utf-8")
    missing = [
        kind.name
        for kind in Kind
        if f"| {kind.value} | `{kind.name}` | `{_label(kind)}` |" not in text
    ]
    assert not missing, f"docs/envelopes.md has no kind-table row for {missing}"


def test_the_documented_kinds_are_exactly_the_codes() -> None:
    text = (DOCS / "envelopes.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\d+) \| `([A-Z_]+)` \| `sviedka/v1/", text, flags=re.MULTILINE)
    assert {(int(number), name) for number, name in rows} == {(k.value, k.name) for k in Kind}


def test_the_reader_imports_nothing_from_registry() -> None:
    tree = ast.parse(READER.read_text(encoding="utf-8"))
    imported: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            imported.append(node.module or "")
    assert imported
    offending = [name for name in imported if name.split(".")[0] in {"registry", "tests", "config"}]
    assert not offending, f"the independent reader imports {offending}"


def test_the_index_lists_every_document() -> None:
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    linked = set(re.findall(r"\]\(([a-z-]+\.md)\)", index))
    present = {path.name for path in DOCS.glob("*.md")} - {"README.md"}
    assert linked == present


def _anchors(text: str) -> set[str]:
    """Explicit ``<a id>`` anchors and GitHub-style heading slugs of a document."""
    anchors = set(re.findall(r'<a id="([^"]+)"></a>', text))
    for heading in re.findall(r"^#+ (.+)$", text, flags=re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        anchors.add(slug)
    return anchors


def test_links_between_documents_resolve() -> None:
    texts = {path.name: path.read_text(encoding="utf-8") for path in DOCS.glob("*.md")}
    broken = []
    for name, text in texts.items():
        for target, anchor in re.findall(r"\]\(([a-z-]*\.md)?(?:#([\w-]+))?\)", text):
            document = target or name
            if document not in texts or (anchor and anchor not in _anchors(texts[document])):
                broken.append(f"{name} -> {document}#{anchor}")
    assert not broken, f"broken links: {broken}"


def _hkdf(secret: bytes, info: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info.encode()).derive(secret)


def test_deployment_sub_keys_are_as_documented(tmp_path: Path) -> None:
    text = (DOCS / "envelopes.md").read_text(encoding="utf-8")
    section = text.split("### Deployment sub-keys", 1)[1].split("\n#", 1)[0]
    labels = re.findall(r"^\| `(sviedka/[a-z-]+)` \|", section, flags=re.MULTILINE)
    ring = load_keyring(tmp_path)
    secret = (tmp_path / "secret.key").read_bytes()
    expected = {
        "sviedka/flask-secret": ring.flask_secret,
        "sviedka/local-key": ring.local_key,
        "sviedka/receipt-salt": ring.receipt_salt,
        "sviedka/login-throttle": ring.throttle_key,
        "sviedka/draft-receipt": ring.draft_key,
    }
    assert sorted(labels) == sorted(expected)
    for label, key in expected.items():
        # The receipt salt is the first 16 bytes of its sub-key.
        assert _hkdf(secret, label)[: len(key)] == key, label


def test_the_followup_cookie_is_as_documented() -> None:
    """A LOCAL envelope, context followup-session/v2, in unpadded base64url."""
    local_key, pair = bytes(range(32)), generate_keypair()
    session = FollowupSession("R7Q2MKX4P9TB", pair.private, 1_700_000_000, bytes(32))
    value = encode(local_key, session, now=1_700_000_100)
    assert "=" not in value
    envelope = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    assert envelope[:2] == bytes((1, Kind.LOCAL))
    nonce, sealed = envelope[2:14], envelope[14:]
    ad = associated_data(Kind.LOCAL, b"", "followup-session/v2")
    payload = ChaCha20Poly1305(local_key).decrypt(nonce, sealed, ad)
    issued, expires = struct.unpack(">QQ", payload[:16])
    assert issued == 1_700_000_000
    assert expires > 1_700_000_100
    assert payload[16:112] == pair.private
    assert payload[112:144] == bytes(32)
    assert payload[144:] == b"R7Q2MKX4P9TB"


def _test_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    }


def test_every_test_the_threat_model_names_exists() -> None:
    """A promise that names a renamed or deleted test no longer says what guards it."""
    text = (DOCS / "threat-model.md").read_text(encoding="utf-8")
    references = re.findall(r"`(tests/[\w/]+\.py)(?:::(\w+))?`", text)
    assert len(references) > 50
    missing = []
    for file, function in references:
        path = ROOT / file
        if not path.exists() or (function and function not in _test_functions(path)):
            missing.append(f"{file}::{function}" if function else file)
    assert not missing, f"docs/threat-model.md names tests that do not exist: {missing}"
