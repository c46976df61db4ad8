"""The case page writes the strength choices out itself, to the markup WTForms writes."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict

from registry.review.forms import MappingForm
from tests.helpers import StaffActions, submit_and_locate


def _wtforms_radios(app: Flask, chosen: str | None) -> list[str]:
    """Each option as WTForms draws it: input, a space, label (what the template did before)."""
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        data = MultiDict({} if chosen is None else {"strength": chosen})
        form = MappingForm(formdata=data if chosen else None, meta={"csrf": False})
        return [
            f"{option(aria_describedby=option.id + '-hint')} {option.label()}"
            for option in form.strength
        ]


@pytest.mark.parametrize("chosen", [None, "strong"])
def test_strength_radios_are_the_ones_wtforms_writes(
    app: Flask, client: FlaskClient, staff: StaffActions, chosen: str | None
) -> None:
    reviewer = staff.create("radios@example.org")
    public_id = submit_and_locate(app, app.test_client(), narrative="Radios.")
    staff.login(client, reviewer)
    client.set_cookie("lang", "en")
    if chosen is None:
        page = client.get(f"/review/case/{public_id}").get_data(as_text=True)
    else:
        # A refused mapping (no proposal) draws the page again with the posted choice.
        page = client.post(
            f"/review/case/{public_id}/mappings",
            data={"strength": chosen, "rationale": "", "csrf_token": _token(client, public_id)},
        ).get_data(as_text=True)
    drawn = re.findall(
        r'<li>(<input aria-describedby="strength-\d-hint"[^>]*> <label[^>]*>[^<]*</label>)', page
    )
    assert drawn == _wtforms_radios(app, chosen)
    assert ("checked" in drawn[1]) == (chosen == "strong")


def _token(client: FlaskClient, public_id: str) -> str:
    page = client.get(f"/review/case/{public_id}").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
