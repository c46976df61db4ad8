"""The registry's layers hold: no import cycle, nothing imports upward (docs/architecture.md).

From the bottom: ``registry.crypto`` (pure functions on bytes), then
``registry.models`` (tables), then the shared core every feature stands on
(``records``: the vocabulary of sealed data, access, texts, messages;
``taxonomy``; ``keyring``; the audit chain ``registry.audit``), then the
feature services, and on top the web: views, forms, the app factory.

The graph is read from the source (every ``import``, including those inside
functions), so a lazy import cannot hide a cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import registry.crypto

ROOT = Path(__file__).resolve().parent.parent / "registry"

# registry.packing: tar and age streams shared by referral (a feature) and
# offline recovery (registry.keyring), so it sits in the core with them.
CORE_PACKAGES = ("registry.records", "registry.taxonomy", "registry.keyring", "registry.packing")
# The audit chain (its page, registry.auditlog, is a feature on top).
CORE_MODULES = ("registry.audit",)

# Web modules: they may use Flask.  Every other module (services, core,
# tables, crypto) takes explicit sessions and values and imports no web
# framework, so it can run from the CLI, a bot or a test without a request.
WEB_NAMES = ("views", "casework", "forms", "loader")
# The Telegram bot is a front door like the web: it talks to people (in
# their language, through the app's translations) and calls the intake
# service; it holds no rule of its own.
WEB_PACKAGES = ("registry.web", "registry.telegram")
WEB_MODULES = (
    "registry",
    "registry.cli",
    "registry.wsgi",
    "registry.errors",
    "registry.db",
    # Reads the queue's filters from the query string, for the queue views.
    "registry.review.queue_args",
    # The escrow commands beside registry.cli (recover, status, rotate, the
    # offline rewrap): the server-side ones create the app like registry.cli.
    "registry.escrow_cli",
)
# Modules outside the web layer that still touch Flask, each for a reason.
FLASK_EXCEPTIONS = {
    # Reads the request body as it arrives and seals it chunk by chunk
    # (sealed on arrival): it has to sit on the request stream.
    "registry.attachments.upload": "seals the request stream as it arrives",
    # Turns a refusal into the visitor's words (current request's language).
    "registry.attachments.explain": "words a refusal in the request's language",
    # Decorators that guard views by role.
    "registry.auth.roles": "view decorators",
    # Accessors for the running app's configuration and keyring.
    "registry.runtime": "the running app's configuration",
}
# Lazy translatable labels need no request; they may sit in any layer.
WEB_FRAMEWORKS = ("flask", "flask_login", "flask_wtf", "flask_limiter", "werkzeug")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in ROOT.rglob("*.py")}


def _imports(name: str) -> Iterator[str]:
    """Every module ``name`` imports (absolute names), including ``from pkg import mod``."""
    path = _modules()[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            submodules = [f"{module}.{alias.name}" for alias in node.names]
            found = [sub for sub in submodules if sub in _modules()]
            # ``from registry import audit`` imports the module registry.audit
            # (its package's __init__ runs first, but that is no dependency).
            yield from found
            if len(found) < len(submodules):
                yield module


@cache
def _graph() -> dict[str, frozenset[str]]:
    return {
        name: frozenset(target for target in _imports(name) if target in _modules())
        for name in _modules()
    }


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def _is_web(name: str) -> bool:
    last = name.rpartition(".")[2]
    return (
        name in WEB_MODULES
        or _within(name, WEB_PACKAGES)
        or last in WEB_NAMES
        or last.endswith("_views")
    )


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def _package(name: str) -> str:
    return ".".join(name.split(".")[:2])


def test_no_cycle_between_modules() -> None:
    edges = {name: set(targets) for name, targets in _graph().items()}
    assert _cycles(edges) == []


def test_no_cycle_between_packages() -> None:
    # The root module is the app factory: it imports every blueprint and
    # nothing imports it for code (``from registry import x`` names a module).
    edges: dict[str, set[str]] = {}
    for name, targets in _graph().items():
        if name == "registry":
            continue
        for target in targets:
            if target != "registry" and _package(target) != _package(name):
                edges.setdefault(_package(name), set()).add(_package(target))
    assert _cycles(edges) == []


def _allowed_below(name: str) -> tuple[str, ...] | None:
    """What a bottom- or core-layer module may import; None above the core."""
    if _within(name, ("registry.crypto",)):
        return ("registry.crypto",)
    if _within(name, ("registry.models",)):
        return ("registry.crypto", "registry.models")
    if _within(name, CORE_PACKAGES) or name in CORE_MODULES:
        # registry.serving.slots: a semaphore with a wait (no registry import),
        # the bound on memory-hard KDF work that sealing keys carry.
        return (
            "registry.crypto",
            "registry.models",
            "registry.serving.slots",
            *CORE_PACKAGES,
            *CORE_MODULES,
        )
    return None


def test_lower_layers_import_nothing_above_them() -> None:
    wrong = []
    for name, targets in _graph().items():
        allowed = _allowed_below(name)
        if allowed is None:
            continue
        for target in targets:
            if not _within(target, allowed) and target != "registry":
                wrong.append(f"{name} -> {target}")
    assert wrong == []


def test_only_the_web_layer_uses_flask() -> None:
    wrong = []
    for name in _modules():
        if _is_web(name) or name in FLASK_EXCEPTIONS:
            continue
        for target in _imports(name):
            if target.split(".")[0] in WEB_FRAMEWORKS:
                wrong.append(f"{name} imports {target}")
    assert wrong == []


def test_nothing_below_the_web_imports_a_view() -> None:
    wrong = [
        f"{name} -> {target}"
        for name, targets in _graph().items()
        if not _is_web(name)
        for target in targets
        if _is_web(target)
        and target not in ("registry.db", "registry")
        # registry.db hands out the request's session; services never use
        # it (they take a session argument), but the runtime accessors do.
        and name not in FLASK_EXCEPTIONS
    ]
    assert wrong == []


def test_callers_use_only_the_crypto_package_exports() -> None:
    wrong = [
        f"{name} -> {target}"
        for name, targets in _graph().items()
        if not _within(name, ("registry.crypto",))
        for target in targets
        if _within(target, ("registry.crypto",)) and target != "registry.crypto"
    ]
    assert wrong == []


def test_the_crypto_package_exports_only_what_callers_need() -> None:
    """Every export is used outside the package, or is the type of one that is."""
    used: set[str] = set()
    for name in _modules():
        if _within(name, ("registry.crypto",)):
            continue
        for node in ast.walk(ast.parse(_modules()[name].read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "registry.crypto":
                used |= {alias.name for alias in node.names}
    # Types returned by used functions: callers annotate with them or read
    # their attributes without importing the name.
    returned_types = {"KeyPair", "ReceiptKeys"}
    assert set(registry.crypto.__all__) - used - returned_types == set()
    assert used <= set(registry.crypto.__all__)


def test_the_checks_see_a_known_edge() -> None:
    """The graph reader itself works: a known import and a known lazy import are found."""
    assert "registry.records.vocabulary" in _graph()["registry.records.texts"]
    assert "registry.audit" in _graph()["registry.records.messages"]
    assert _cycles({"a": {"b"}, "b": {"a"}}) == [["a", "b"]]
