"""The submitter's pages can never pick up staff markup by accident.

One loader, rooted at ``templates/``, holds three sides: ``public/`` (every
page a submitter or any other visitor sees, the error pages included),
``staff/`` (the staff pages and their partials) and ``shared/`` (the page
skeleton and the macros both sides use).  Through ``extends``, ``include``
and ``import`` a public template may reach only public/ and shared/, a
shared one only shared/, a staff one only staff/ and shared/.

Checked twice: on the tree itself (every template and the views'
``render_template`` calls, read without running anything), and by walking
the pages with the test client and recording, through Flask's
``template_rendered`` signal, every template a response was rendered from.
"""

from __future__ import annotations

import ast
import base64
import io
import re
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, Response, request, request_finished, template_rendered
from flask.testing import FlaskClient
from jinja2 import Environment, Template, meta, nodes
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from registry import db
from registry.auth import service as auth
from registry.evidence.exports import POPULATIONS
from registry.models import Attachment, ReformProposal, Role, VocabularyTerm
from registry.web.security import SUBMITTER_BLUEPRINTS
from tests.evidence import published
from tests.evidence.plain import add_case
from tests.helpers import (
    StaffActions,
    csrf_token,
    english_client,
    post_form,
    submit_and_locate,
    totp_code,
)

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "templates"
# The sides each side's templates may reach.
REACH = {"public": {"public", "shared"}, "shared": {"shared"}, "staff": {"staff", "shared"}}
# The error pages answer every URL, a staff one too: they never load the
# visitor's account (registry.errors) and so show the public skeleton.
ERROR_PAGES = "public/errors/"
# Blueprints whose pages any visitor sees: the submitter's, and the published
# evidence (read by anyone, a submitter too, so it must not pick up staff
# markup either).
PUBLIC_BLUEPRINTS = SUBMITTER_BLUEPRINTS | {"evidence"}
# The skeleton every public page of the evidence extends.
PUBLIC_BASE = "public/base.html"
# Endpoints a public or shared template may link to, besides the public
# blueprints' own.
PUBLIC_HELPERS = frozenset({"static", "lang.set_language"})
NOT_A_RECEIPT = "0000-0000-0000-0000-0001"


def _side(name: str) -> str:
    return name.split("/", 1)[0] if "/" in name else ""


def _templates(env: Environment) -> list[str]:
    return sorted(name for name in env.list_templates() if name.endswith(".html"))


def _parse(env: Environment, name: str) -> nodes.Template:
    assert env.loader is not None
    source, _filename, _uptodate = env.loader.get_source(env, name)
    return env.parse(source, name)


def _references(env: Environment, name: str) -> list[str | None]:
    """The templates ``name`` extends, includes or imports (None: not a literal name)."""
    return list(meta.find_referenced_templates(_parse(env, name)))


def _closure_problems(env: Environment, name: str) -> list[str]:
    """Every reference reachable from ``name`` that leaves the sides it may reach."""
    allowed = REACH.get(_side(name), set())
    problems, seen, todo = [], {name}, [(name, (name,))]
    while todo:
        current, path = todo.pop()
        for ref in _references(env, current):
            via = " -> ".join(path)
            if ref is None:
                problems.append(f"{via}: a reference that is not a literal name")
                continue
            if _side(ref) not in allowed:
                problems.append(f"{via} -> {ref}")
            if ref not in seen:
                seen.add(ref)
                todo.append((ref, (*path, ref)))
    return problems


def _ancestors(env: Environment, name: str) -> list[str]:
    """The templates ``name`` extends, nearest first (a computed name ends the chain)."""
    found: list[str] = []
    current = name
    while True:
        parent = next(iter(_parse(env, current).find_all(nodes.Extends)), None)
        if parent is None or not isinstance(parent.template, nodes.Const):
            return found
        current = parent.template.value
        if current in found:
            return found
        found.append(current)


def _public_endpoints(app: Flask) -> frozenset[str]:
    public = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint.partition(".")[0] in PUBLIC_BLUEPRINTS
    }
    return frozenset(public | PUBLIC_HELPERS)


def _public_views(app: Flask) -> set[str]:
    return set(_public_endpoints(app) - PUBLIC_HELPERS)


def _pages(env: Environment, side: str) -> set[str]:
    """The templates of ``side`` that are whole pages (not a base or a partial)."""
    return {
        name
        for name in _templates(env)
        if _side(name) == side
        and name != f"{side}/base.html"
        and not name.rsplit("/", 1)[-1].startswith("_")
    }


# --- The tree, read without running anything --------------------------------


def test_one_loader_rooted_at_templates(app: Flask) -> None:
    assert app.template_folder is not None
    assert Path(app.root_path, app.template_folder).resolve() == TEMPLATES
    # No blueprint brings a template folder of its own that could answer
    # a public name with some other file.
    assert [bp.name for bp in app.blueprints.values() if bp.template_folder] == []


def test_every_template_is_on_one_side(app: Flask) -> None:
    names = _templates(app.jinja_env)
    assert names
    assert [name for name in names if _side(name) not in REACH] == []


def test_references_stay_on_their_side(app: Flask) -> None:
    env = app.jinja_env
    known = set(_templates(env))
    problems = []
    for name in _templates(env):
        problems += _closure_problems(env, name)
        problems += [
            f"{name} -> {ref}: no such template"
            for ref in _references(env, name)
            if ref is not None and ref not in known
        ]
    assert problems == []


def test_public_and_shared_templates_hold_no_staff_markup(app: Flask) -> None:
    """No link to a staff page, and nothing that depends on a staff login."""
    env, allowed = app.jinja_env, _public_endpoints(app)
    staff_prefixes = {
        rule.rule.split("/")[1] for rule in app.url_map.iter_rules() if rule.endpoint not in allowed
    }
    assert staff_prefixes  # e.g. staff, review, proposals
    alternatives = "|".join(re.escape(prefix) for prefix in sorted(staff_prefixes))
    staff_path = re.compile(r"""["'(=\s]/(""" + alternatives + r")\b")
    problems = []
    for name in _templates(env):
        if _side(name) not in {"public", "shared"}:
            continue
        tree = _parse(env, name)
        for call in tree.find_all(nodes.Call):
            if not (isinstance(call.node, nodes.Name) and call.node.name == "url_for"):
                continue
            first = call.args[0] if call.args else None
            if not isinstance(first, nodes.Const):
                problems.append(f"{name}: url_for with a computed endpoint")
            elif first.value not in allowed:
                problems.append(f"{name}: links to {first.value}")
        if "current_user" in meta.find_undeclared_variables(tree):
            problems.append(f"{name}: uses current_user")
        assert env.loader is not None
        source = env.loader.get_source(env, name)[0]
        problems += [f"{name}: a literal link to /{hit}" for hit in staff_path.findall(source)]
    assert problems == []


def _render_calls(path: Path) -> Iterator[tuple[int, ast.expr | None]]:
    """Each ``render_template``/``stream_template`` call in ``path``: line, first argument."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if called in {"render_template", "stream_template"}:
            yield node.lineno, node.args[0] if node.args else None


def test_views_render_only_their_sides_templates(app: Flask) -> None:
    """Modules of public views render public/ only, of staff views staff/ only.

    A module without views (registry.errors) renders the error pages, which
    answer every URL: public/ too.
    """
    sides: dict[Path, set[str]] = {}
    for endpoint, view in app.view_functions.items():
        module = sys.modules[view.__module__]
        if module.__file__ is None or not view.__module__.startswith("registry."):
            continue
        blueprint = endpoint.partition(".")[0]
        side = "public" if blueprint in PUBLIC_BLUEPRINTS else "staff"
        sides.setdefault(Path(module.__file__).resolve(), set()).add(side)
    known, problems = set(_templates(app.jinja_env)), []
    for path in sorted((ROOT / "registry").rglob("*.py")):
        where = path.relative_to(ROOT)
        expected = sides.get(path.resolve(), {"public"})
        if len(expected) > 1:
            problems.append(f"{where}: submitter and staff views in one module")
        for line, first in _render_calls(path):
            if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                problems.append(f"{where}:{line}: template name is not a literal")
                continue
            name = first.value
            if name not in known:
                problems.append(f"{where}:{line}: {name}: no such template")
            if _side(name) not in expected:
                problems.append(f"{where}:{line}: {name} rendered by {'/'.join(expected)} views")
    assert problems == []


# --- The pages, rendered ---------------------------------------------------


@dataclass
class Visit:
    """One answered request and the templates its response was rendered from."""

    method: str
    path: str
    endpoint: str | None
    status: int
    templates: list[str]


@dataclass
class Recorder:
    """Every request the app answers, with what ``template_rendered`` reported."""

    visits: list[Visit] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)

    def rendered(self, _sender: Flask, template: Template, **_extra: Any) -> None:
        assert template.name is not None
        self.pending.append(template.name)

    def finished(self, _sender: Flask, response: Response, **_extra: Any) -> None:
        visit = Visit(
            request.method, request.path, request.endpoint, response.status_code, self.pending
        )
        self.visits.append(visit)
        self.pending = []

    def templates(self) -> set[str]:
        return {name for visit in self.visits for name in visit.templates}


@contextmanager
def _recording(app: Flask) -> Iterator[Recorder]:
    recorder = Recorder()
    with ExitStack() as stack:
        stack.enter_context(template_rendered.connected_to(recorder.rendered, app))
        stack.enter_context(request_finished.connected_to(recorder.finished, app))
        yield recorder


@dataclass
class Outage:
    """Switch: while ``down``, every request fails as if the database were gone."""

    down: bool = False


@pytest.fixture
def outage(app: Flask) -> Outage:
    """An outage to switch on (installed before the app's first request)."""
    state = Outage()

    def _database_gone() -> None:
        if state.down:
            raise OperationalError("SELECT 1", None, ConnectionRefusedError("database is down"))

    app.before_request(_database_gone)
    return state


def _expect(response: Any, status: int) -> None:
    assert response.status_code == status, response.get_data(as_text=True)[:2000]


def _outside(visits: list[Visit], allowed: tuple[str, ...]) -> list[str]:
    """Each rendered template outside ``allowed``; the error pages pass on an error status."""
    return [
        f"{visit.method} {visit.path} ({visit.status}): {name}"
        for visit in visits
        for name in visit.templates
        if not name.startswith(allowed)
        and not (visit.status >= 400 and name.startswith(ERROR_PAGES))
    ]


def _walk_evidence(app: Flask, client: FlaskClient) -> None:
    """The published evidence: before the first snapshot, then from one, and its downloads."""
    with app.app_context():
        session = db.session()
        proposal = session.scalars(select(ReformProposal.code)).first()
        unit = session.scalars(
            select(VocabularyTerm.code).where(VocabularyTerm.kind == "units")
        ).first()
    assert proposal is not None
    assert unit is not None
    _expect(client.get("/evidence"), 200)
    _expect(client.get(f"/evidence/proposal/{proposal}"), 200)
    _expect(client.get(f"/evidence/unit/{unit}"), 200)
    _expect(client.get("/evidence/proposal/no-such-proposal"), 404)
    _expect(client.get("/evidence/1/data.json"), 404)
    with app.app_context():
        session = db.session()
        number = published.store(session, published.payload(session)).number
    _expect(client.get("/evidence"), 200)
    _expect(client.get(f"/evidence/proposal/{proposal}"), 200)
    _expect(client.get(f"/evidence/unit/{unit}"), 200)
    _expect(client.get("/evidence/unit/no-such-unit"), 404)
    _expect(client.get(f"/evidence/{number}/data.json"), 200)
    _expect(client.get(f"/evidence/{number}/datapackage.json"), 200)
    _expect(client.get(f"/evidence/{number}/{POPULATIONS}.csv"), 200)
    _expect(client.get(f"/evidence/{number + 1}/data.json"), 404)


def test_submitter_pages_render_only_public_templates(
    app: Flask, client: FlaskClient, outage: Outage
) -> None:
    with _recording(app) as recorder:
        _expect(client.get("/"), 200)
        _expect(client.get("/report"), 200)
        _expect(post_form(client, "/report", {}), 422)
        form = csrf_token(client.get("/report").get_data(as_text=True))
        sent = client.post(
            "/report",
            data={
                "csrf_token": form,
                "narrative": "They beat us in the bus.",
                "region": "minsk-city",
                "year": "2020",
                "month": "08",
                "violations": ["torture"],
            },
        )
        _expect(sent, 200)
        match = re.search(r'id="receipt"><code>([A-Z0-9-]+)</code>', sent.get_data(as_text=True))
        assert match
        receipt = match.group(1)
        saved = {"csrf_token": form, "receipt": receipt}
        _expect(client.post("/report/saved", data=saved), 200)  # not yet confirmed
        _expect(client.post("/report/saved", data={**saved, "saved": "y"}), 303)
        _expect(client.get("/report/done"), 200)
        _expect(client.get("/blank"), 200)
        _expect(client.get("/lang/en?next=/"), 303)
        _walk_evidence(app, client)

        _expect(client.get("/followup/"), 200)
        _expect(post_form(client, "/followup/", {"receipt": NOT_A_RECEIPT}), 422)
        _expect(post_form(client, "/followup/", {"receipt": receipt}), 303)
        _expect(client.get("/followup/case"), 200)
        case = "/followup/case"
        _expect(post_form(client, "/followup/message", {"text": "More."}, form_page=case), 303)
        _expect(post_form(client, "/followup/message", {}, form_page=case), 422)
        _expect(post_form(client, "/followup/files", {}, form_page=case), 422)
        _expect(post_form(client, "/followup/consents", {}, form_page=case), 422)
        _expect(client.get("/followup/withdraw"), 200)
        wrong = {"confirm": "y", "receipt": NOT_A_RECEIPT}
        _expect(post_form(client, "/followup/withdraw", wrong), 422)

        # Error pages for public addresses.
        _expect(client.get("/no-such-page"), 404)
        _expect(client.get("/followup/no-such-page"), 404)
        _expect(client.get("/report/saved"), 405)
        _expect(client.post("/report", data={"narrative": "no token"}), 400)
        unreadable = client.post(
            "/report", data=b"narrative=%FF", content_type="application/x-www-form-urlencoded"
        )
        _expect(unreadable, 400)

        # An outage: the outage page, and the pages that keep what was sent.
        token = csrf_token(client.get(case).get_data(as_text=True))
        outage.down = True
        _expect(client.get("/report"), 503)
        _expect(client.post("/report", data={"csrf_token": token, "narrative": "kept"}), 503)
        _expect(client.post("/followup/message", data={"csrf_token": token, "text": "kept"}), 503)
        _expect(client.post("/followup/files", data={"csrf_token": token}), 503)
        outage.down = False

        done = {"confirm": "y", "receipt": receipt}
        _expect(post_form(client, "/followup/withdraw", done), 200)
        _expect(client.get("/leave"), 303)

    visits = recorder.visits
    assert _outside(visits, ("public/", "shared/")) == []
    # Every public view was walked, and every public page was rendered.
    assert _public_views(app) - {visit.endpoint for visit in visits} == set()
    # Every evidence page, an error included, is a page of the public site:
    # its skeleton, with "Leave now" and the language links.
    evidence_pages = [
        (visit.path, visit.templates[0])
        for visit in visits
        if visit.endpoint is not None and visit.endpoint.startswith("evidence.") and visit.templates
    ]
    assert len(evidence_pages) >= 8
    assert [
        page for page in evidence_pages if PUBLIC_BASE not in _ancestors(app.jinja_env, page[1])
    ] == []
    assert _pages(app.jinja_env, "public") - recorder.templates() == set()
    for name in recorder.templates():
        assert _closure_problems(app.jinja_env, name) == []


def _enrol(app: Flask, client: FlaskClient) -> None:
    """Walk the invite, password, second factor and recovery code pages."""
    with app.app_context():
        session = db.session()
        token = auth.create_invite(
            session, email="new@example.org", role=Role.REVIEWER, valid_for=timedelta(hours=1)
        )
        session.commit()
    _expect(client.get("/staff/invite/not-a-token"), 404)
    page = client.get(f"/staff/invite/{token}").get_data(as_text=True)
    password = StaffActions.PASSWORD
    chosen = client.post(
        f"/staff/invite/{token}",
        data={
            "csrf_token": csrf_token(page),
            "email": "",
            "password": password,
            "confirm": password,
        },
    )
    _expect(chosen, 303)
    page = client.get("/staff/enrol").get_data(as_text=True)
    shown = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', page)
    assert shown
    secret = base64.b32decode(shown.group(1) + "=" * (-len(shown.group(1)) % 8))
    code = totp_code(secret, int(time.time() // 30) - 1)
    _expect(client.post("/staff/enrol", data={"csrf_token": csrf_token(page), "code": code}), 200)


def test_staff_pages_render_only_staff_templates(app: Flask, staff: StaffActions) -> None:
    reviewer = staff.create("reviewer@example.org")
    admin = staff.create("admin@example.org", role=Role.ADMIN)
    coordinator = staff.create("coord@example.org", role=Role.COORDINATOR)
    public_id = submit_and_locate(
        app, english_client(app), files=[(io.BytesIO(b"a witness list\n"), "list.txt")]
    )
    with app.app_context():
        blob = db.session().scalars(select(Attachment.blob)).one()
        proposal = db.session().scalars(select(ReformProposal.code)).first()
    storage = Path(app.extensions["registry.config"].storage_dir)

    with _recording(app) as recorder:
        anonymous = english_client(app)
        _expect(anonymous.get("/staff/login"), 200)
        _expect(post_form(anonymous, "/staff/login", {"email": "nobody@example.org"}), 200)
        _enrol(app, english_client(app))

        client = english_client(app)
        staff.login(client, reviewer)
        case = f"/review/case/{public_id}"
        _expect(client.get("/review/"), 200)
        page = client.get(case).get_data(as_text=True)
        file_id = re.search(rf'href="{case}/files/([A-Z0-9]+)">list\.txt<', page)
        assert file_id
        _expect(client.get(f"{case}/codes"), 200)
        _expect(client.get(f"{case}/linked"), 200)
        _expect(client.get(f"{case}/history"), 200)
        _expect(post_form(client, f"{case}/reply", {}, form_page=case), 200)
        (storage / "blobs" / blob).unlink()
        _expect(client.get(f"{case}/files/{file_id.group(1)}"), 409)
        _expect(client.get("/review/case/NOSUCHCASE"), 404)
        _expect(client.get("/proposals/"), 200)
        _expect(client.get(f"/proposals/{proposal}"), 200)
        _expect(client.get("/staff/account"), 200)
        _expect(client.get("/review/stats"), 200)
        _expect(client.get("/review/stats?status=new"), 200)
        # No consent to publish: the case page again, with the reason.
        _expect(post_form(client, f"{case}/summary", {"text": "x"}, form_page=case), 422)

        boss = english_client(app)
        staff.login(boss, admin)
        _expect(boss.get("/staff/audit"), 200)
        _expect(boss.get("/staff/people"), 200)
        invite = {"email": "invited@example.org", "role": "reviewer"}
        _expect(post_form(boss, "/staff/people/invite", invite, form_page="/staff/people"), 200)
        _expect(boss.get(f"/staff/people/{reviewer.account_id}/remove"), 200)
        _expect(boss.get("/staff/partners"), 200)
        coord = english_client(app)
        staff.login(coord, coordinator)
        _expect(coord.get(f"/review/refer?case={public_id}"), 200)
        with app.app_context():
            session = db.session()
            gone = add_case(session, status="closed", disposition="duplicate")
            gone.closed_on = gone.purged_on = date(2026, 1, 1)
            gone_id = gone.public_id
            session.commit()
        _expect(coord.get(f"/review/case/{gone_id}"), 200)

    staff_visits = [
        visit
        for visit in recorder.visits
        if visit.endpoint is not None
        and visit.endpoint.partition(".")[0] not in PUBLIC_BLUEPRINTS
        and visit.endpoint not in PUBLIC_HELPERS
    ]
    assert _outside(staff_visits, ("staff/", "shared/")) == []
    # The error pages are the one exception, and only on an error status.
    errors = [visit for visit in staff_visits if visit.status >= 400]
    assert any(f"{ERROR_PAGES}error.html" in visit.templates for visit in errors)
    assert _pages(app.jinja_env, "staff") - recorder.templates() == set()
    for name in recorder.templates():
        assert _closure_problems(app.jinja_env, name) == []
