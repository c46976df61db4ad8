"""Every POST is read through a WTForms form: no module reads the body raw.

Issue "House in order", point 3.  A view that reads ``request.form`` beside
a form skips what the form gives: the CSRF check in one place, typed values,
one reading of a missing or repeated field.  The guard reads the source of
every module under ``registry/`` (so a lazy import or an alias cannot hide a
read) and fails on ``request.form``, ``request.values``, the raw body
(``get_data``, ``data``, ``stream``, ``input_stream``, ``get_json``,
``json``) and on any subclass of ``Request``, which decides how a body is
read.  ``request.args`` (GET query strings) and ``request.files`` are not
covered here.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "registry"

RAW = frozenset(
    {"form", "values", "get_data", "data", "stream", "input_stream", "get_json", "json"}
)
REQUEST_CLASS = "Request subclass"

# The one module that reads a posted body raw: the checks every form body
# passes before a view runs (undecodable percent-escapes, NUL characters) and
# PostedForm's source of fields.  Everything else reads a form.
FORMS_MODULE = "web/forms.py"
# Other modules that may, each with what it may read and why.  Keep it short.
EXCEPTIONS: dict[str, tuple[frozenset[str], str]] = {
    "attachments/upload.py": (
        frozenset({"stream", "get_data", REQUEST_CLASS}),
        "uploads are sealed on arrival: its Request subclass hands Werkzeug a sealing "
        "stream for each file part, so no plaintext byte of a file touches the disk",
    ),
}


def _request_names(tree: ast.AST) -> tuple[set[str], set[str]]:
    """Names that stand for the request, and names of the flask module."""
    requests, modules = {"request"}, set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in ("flask", "flask.globals"):
            requests |= {a.asname or a.name for a in node.names if a.name == "request"}
        elif isinstance(node, ast.Import):
            modules |= {a.asname or a.name for a in node.names if a.name == "flask"}
    return requests, modules


def _is_request(node: ast.expr, requests: set[str], modules: set[str]) -> bool:
    if isinstance(node, ast.Name):
        return node.id in requests
    # flask.request
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "request"
        and isinstance(node.value, ast.Name)
        and node.value.id in modules
    )


def raw_reads(source: str) -> list[tuple[int, str]]:
    """(line, what) for each raw read of the request body in ``source``."""
    tree = ast.parse(source)
    requests, modules = _request_names(tree)
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in RAW
            and _is_request(node.value, requests, modules)
        ):
            found.append((node.lineno, node.attr))
        elif (  # getattr(request, "form")
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "getattr"
            and len(node.args) >= 2
            and _is_request(node.args[0], requests, modules)
            and isinstance(node.args[1], ast.Constant)
            and node.args[1].value in RAW
        ):
            found.append((node.lineno, str(node.args[1].value)))
        elif isinstance(node, ast.ClassDef) and any(
            (isinstance(base, ast.Name) and base.id == "Request")
            or (isinstance(base, ast.Attribute) and base.attr == "Request")
            for base in node.bases
        ):
            found.append((node.lineno, REQUEST_CLASS))
    return sorted(found)


def _modules() -> dict[str, list[tuple[int, str]]]:
    return {
        path.relative_to(ROOT).as_posix(): raw_reads(path.read_text(encoding="utf-8"))
        for path in sorted(ROOT.rglob("*.py"))
    }


def test_no_module_reads_the_body_raw() -> None:
    wrong = []
    for name, reads in _modules().items():
        if name == FORMS_MODULE:
            continue
        allowed = EXCEPTIONS.get(name, (frozenset(), ""))[0]
        wrong += [f"registry/{name}:{line}: {what}" for line, what in reads if what not in allowed]
    assert wrong == [], "read a posted body through a form (registry/web/forms.py)"


def test_every_exception_is_still_needed() -> None:
    """An exception nobody uses any more is removed, not left open."""
    modules = _modules()
    assert modules[FORMS_MODULE], "the forms module reads the body: the guard must see it"
    for name, (allowed, reason) in EXCEPTIONS.items():
        assert reason
        assert {what for _, what in modules[name]} & allowed, name


def test_the_guard_sees_each_way_of_reading() -> None:
    """The reader itself works: aliases, the module path, getattr, a Request subclass."""
    assert raw_reads("from flask import request\nx = request.form.get('a')\n") == [(2, "form")]
    assert raw_reads("from flask import request as r\nr.values\n") == [(2, "values")]
    assert raw_reads("import flask\nflask.request.get_data()\n") == [(2, "get_data")]
    assert raw_reads("import flask as f\nf.request.stream.read()\n") == [(2, "stream")]
    assert raw_reads("from flask import request\ngetattr(request, 'form')\n") == [(2, "form")]
    assert raw_reads("def v():\n    from flask import request\n    request.json\n") == [(3, "json")]
    assert raw_reads("import flask\nclass R(flask.Request):\n    pass\n") == [(2, REQUEST_CLASS)]
    # Query strings, files, cookies and a form's own data are no raw reads.
    assert raw_reads("from flask import request\nrequest.args.get('p')\nrequest.files\n") == []
    assert raw_reads("form = F()\nform.data\nform.text.data\n") == []
