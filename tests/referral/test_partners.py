"""Partners: the administrators' page, the command line, and which age recipients parse."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from babel.dates import format_date
from click.testing import CliRunner
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st
from pyrage import x25519
from sqlalchemy import select

from registry import db
from registry.cli import main
from registry.models import AuditEvent, Partner, Role
from registry.packing.recipients import BadRecipient, is_recipient, parse_recipients
from tests.helpers import StaffActions, english_client, post_form
from tests.referral.support import age_keygen, events


def _partners(app: Flask) -> list[Partner]:
    with app.app_context():
        return list(db.session().scalars(select(Partner)))


def test_an_administrator_adds_and_removes_a_partner(
    app: Flask, staff: StaffActions, tmp_path: Path
) -> None:
    admin = staff.create("admin@example.org", Role.ADMIN)
    client = english_client(app)
    staff.login(client, admin)
    one, two = age_keygen(tmp_path, "one").recipient, age_keygen(tmp_path, "two").recipient
    added = post_form(
        client,
        "/staff/partners",
        {"name": "Viasna lawyers", "contact": "via Signal", "recipients": f"{one}\n\n{two}\n"},
    )
    assert added.status_code == 303
    (partner,) = _partners(app)
    assert partner.recipients == f"{one}\n{two}"
    page = client.get("/staff/partners").get_data(as_text=True)
    assert "Viasna lawyers" in page
    assert one in page
    removed = post_form(
        client, f"/staff/partners/{partner.id}/remove", {}, form_page="/staff/partners"
    )
    assert removed.status_code == 303
    (partner,) = _partners(app)
    assert partner.removed_on is not None
    # Days in the page's language, as on every staff page; ISO only for machines.
    client.get("/lang/be?next=/staff/partners")
    page = client.get("/staff/partners").get_data(as_text=True)
    day = format_date(partner.removed_on, "medium", locale="be")
    assert f">{day}</time>" in page
    assert f"Выдалены {day}" in page
    assert f">{partner.removed_on.isoformat()}" not in page
    detail = f"partner:{partner.id}"
    assert events(app, "partner.added") == [(None, detail)]
    assert events(app, "partner.removed") == [(None, detail)]
    with app.app_context():
        actors = set(
            db.session().scalars(
                select(AuditEvent.actor).where(AuditEvent.action.like("partner.%"))
            )
        )
    assert actors == {f"account:{admin.account_id}"}


def test_a_bad_recipient_is_refused_naming_its_line(
    app: Flask, staff: StaffActions, tmp_path: Path
) -> None:
    admin = staff.create("admin@example.org", Role.ADMIN)
    client = english_client(app)
    staff.login(client, admin)
    good = age_keygen(tmp_path).recipient
    response = post_form(
        client,
        "/staff/partners",
        {"name": "Partner", "recipients": f"{good}\nssh-ed25519 AAAAC3Nz partner@example\n"},
    )
    assert response.status_code == 422
    assert "Line 2 is not an age public key." in response.get_data(as_text=True)
    assert _partners(app) == []
    assert events(app, "partner.added") == []


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.COORDINATOR])
def test_only_administrators_see_the_partners_page(
    app: Flask, staff: StaffActions, role: Role
) -> None:
    person = staff.create("someone@example.org", role)
    client = english_client(app)
    staff.login(client, person)
    assert client.get("/staff/partners").status_code == 404


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A deployment in a temporary directory, configured through the environment."""
    monkeypatch.setenv("REGISTRY_INSTANCE_DIR", str(tmp_path / "instance"))
    monkeypatch.setenv("REGISTRY_KEYS_DIR", str(tmp_path / "keys"))
    monkeypatch.setenv("REGISTRY_BASE_URL", "http://registry.test")
    return tmp_path


def test_partner_commands_add_list_and_remove(env: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["init"]).exit_code == 0
    # init (any start of the app) publishes the signing key.
    assert (env / "keys" / "signing.pub").read_text().startswith("-----BEGIN PUBLIC KEY-----")
    key = age_keygen(env)
    keys_file = env / "keys.txt"
    keys_file.write_text(key.recipient + "\n")
    added = runner.invoke(
        main, ["partner", "add", "Human rights centre", "--recipients-file", str(keys_file)]
    )
    assert added.exit_code == 0, added.output
    assert "Human rights centre (1 keys)" in added.output
    listed = runner.invoke(main, ["partner", "list"])
    assert listed.exit_code == 0
    assert "Human rights centre\t1 keys" in listed.output
    bad = runner.invoke(main, ["partner", "add", "Other", "--recipient", "age1notakey"])
    assert bad.exit_code == 1
    assert "Recipient line 1 is not an age public key" in bad.output
    removed = runner.invoke(main, ["partner", "remove", "Human rights centre"])
    assert removed.exit_code == 0, removed.output
    assert runner.invoke(main, ["partner", "list"]).output == ""
    assert "removed" in runner.invoke(main, ["partner", "list", "--all"]).output
    again = runner.invoke(main, ["partner", "remove", "Human rights centre"])
    assert again.exit_code == 1
    assert "already removed" in again.output
    assert runner.invoke(main, ["partner", "remove", "Nobody"]).exit_code == 1


# -- Which recipients parse -------------------------------------------------

_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _polymod(values: list[int]) -> int:
    generator = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    check = 1
    for value in values:
        top = check >> 25
        check = (check & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            check ^= generator[i] if (top >> i) & 1 else 0
    return check


def _bech32(hrp: str, data: bytes) -> str:
    """BIP 173 Bech32, written from the specification for this test."""
    bits, acc, words = 0, 0, []
    for byte in data:
        acc, bits = acc << 8 | byte, bits + 8
        while bits >= 5:
            bits -= 5
            words.append(acc >> bits & 31)
    if bits:
        words.append(acc << (5 - bits) & 31)
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    polymod = _polymod(expanded + words + [0] * 6) ^ 1
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_CHARSET[w] for w in words + checksum)


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=32, max_size=32))
def test_every_age_x25519_key_parses(public: bytes) -> None:
    recipient = _bech32("age", public)
    assert is_recipient(recipient)
    assert str(x25519.Recipient.from_str(recipient)) == recipient
    assert parse_recipients(f"  {recipient}  \n\n{recipient}\n") == [recipient]


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=32, max_size=32), st.integers(min_value=4, max_value=61), st.data())
def test_a_key_with_one_character_changed_does_not_parse(
    public: bytes, position: int, data: st.DataObject
) -> None:
    recipient = _bech32("age", public)
    other = data.draw(st.sampled_from([c for c in _CHARSET if c != recipient[position]]))
    changed = recipient[:position] + other + recipient[position + 1 :]
    # Bech32's checksum catches every change of one character.
    assert not is_recipient(changed)
    with pytest.raises(BadRecipient) as refused:
        parse_recipients(f"{recipient}\n{changed}")
    assert refused.value.line == 2


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=string.printable + "аё1", max_size=80))
def test_other_text_does_not_parse(text: str) -> None:
    assert not is_recipient(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "AGE1" + _bech32("age", bytes(32))[4:].upper(),  # upper case: not how age prints keys
        _bech32("age", bytes(31)),  # wrong length
        _bech32("agf", bytes(32)),  # another prefix
        "age1yubikey1" + "q" * 50,  # a plugin recipient
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
    ],
)
def test_what_stock_age_would_not_take_here_is_refused(text: str) -> None:
    assert not is_recipient(text)
