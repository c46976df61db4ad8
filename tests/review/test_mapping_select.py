"""The proposal select writes its options itself, to the bytes WTForms writes."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict
from wtforms import Form, SelectField
from wtforms.validators import DataRequired

from registry.review.forms import PlainOptionsSelect, RememberingSelect
from registry.web.forms import options

# A title may hold anything the reforms admin typed: markup, quotes, Cyrillic.
CHOICES = options(
    [
        ("P-1", "P-1 — Plain"),
        ("P<2>", "Quote \" & ' <b>bold</b>"),
        ("P-3", ""),
        ("P-4", "P-4 — Катаванне і жорсткае абыходжанне"),
    ]
)


class Pair(Form):  # type: ignore[misc]
    """The same choices through WTForms' select and through ours."""

    theirs = SelectField("Proposal", validators=[DataRequired()], choices=CHOICES)
    ours = SelectField(
        "Proposal", validators=[DataRequired()], choices=CHOICES, widget=PlainOptionsSelect()
    )


@pytest.mark.parametrize("chosen", [None, "P-1", "P<2>", "P-4", "unknown"])
def test_options_match_wtforms(chosen: str | None) -> None:
    posted = MultiDict({} if chosen is None else {"theirs": chosen, "ours": chosen})
    form = Pair(posted)
    theirs = str(form.theirs(aria_describedby="hint"))
    ours = str(form.ours(aria_describedby="hint"))
    assert ours == theirs.replace('"theirs"', '"ours"')
    assert "<b>" not in ours
    if chosen in {"P-1", "P-4"}:
        assert f'<option selected value="{chosen}">' in ours


def test_an_option_with_attributes_is_left_to_wtforms() -> None:
    form = Pair()
    extra = options([("P-1", "P-1 — Plain")])
    extra[0].render_kw = {"disabled": True}
    form.theirs.choices = form.ours.choices = extra
    assert str(form.ours()) == str(form.theirs()).replace('"theirs"', '"ours"')
    assert "disabled" in str(form.ours())


class Kept(Form):  # type: ignore[misc]
    """The remembering select beside WTForms' own."""

    theirs = SelectField("Proposal", validators=[DataRequired()])
    ours = SelectField("Proposal", validators=[DataRequired()], widget=RememberingSelect())


@pytest.mark.parametrize("chosen", [None, "P-1", "P<2>", "unknown"])
def test_a_kept_rendering_is_the_one_wtforms_writes(chosen: str | None) -> None:
    for _ in range(2):  # the second rendering comes from the kept one
        posted = MultiDict({} if chosen is None else {"theirs": chosen, "ours": chosen})
        form = Kept(posted)
        form.theirs.choices = form.ours.choices = CHOICES
        theirs = str(form.theirs(aria_describedby="hint"))
        assert str(form.ours(aria_describedby="hint")) == theirs.replace('"theirs"', '"ours"')


def test_a_new_choices_list_is_written_afresh() -> None:
    form = Kept()
    form.ours.choices = options([("P-1", "Old title")])
    assert "Old title" in str(form.ours())
    form = Kept()
    form.ours.choices = options([("P-1", "New title")])
    written = str(form.ours())
    assert "New title" in written
    assert "Old title" not in written
