"""Form pieces every blueprint shares: select options, checkbox lists, the refused status.

This is also the one module that reads a posted body raw (the checks every
form body passes before a view runs, and :class:`PostedForm`'s source);
views read what was posted only through a form (tests/test_no_raw_form.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar
from urllib.parse import unquote_to_bytes

from flask import abort, request
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from registry.web.routing import MAX_INTEGER_ID

# The methods Flask-WTF treats as a submission.
SUBMIT_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Bodies past this size are not checked here: the form parser refuses them (413).
CHECKED_BODY_BYTES = 2 * 1024 * 1024


def options(pairs: Iterable[tuple[str, object]]) -> list[SelectChoice]:
    """Options for a SelectField, RadioField or checkbox list."""
    # Labels stay lazy (translated when rendered, in the visitor's language):
    # these lists are often built once, when a module is imported.
    return [SelectChoice(value, label) for value, label in pairs]


class CheckboxesField(SelectMultipleField):
    """A list of checkboxes (a multi-select is hard to use on a phone)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


FormT = TypeVar("FormT", bound=FlaskForm)


def checked_post(form: FormT) -> FormT:
    """The posted form, read and checked: 400 unless its CSRF token is right.

    For forms whose fields never refuse a value (a choice the service
    checks, a text it judges), so only the token can fail here.
    """
    if not form.validate_on_submit():
        abort(400)
    return form


def refused_status() -> int:
    """200 for a form shown the first time; 422 when a submission was refused.

    A refused submission is re-shown with every answer kept and each problem
    explained; the 4xx status says to any client that nothing was stored.
    """
    return 422 if request.method == "POST" else 200


class PostedForm(FlaskForm):
    """A form filled from the posted fields alone: never from files or a JSON body.

    Flask-WTF otherwise fills fields from ``request.files`` too (a file part
    named like a text field) or from a JSON body, and a view would get an
    object where it reads text: a 500 instead of an answer.  Forms with file
    fields stay plain FlaskForms.  The CSRF token is checked as in every
    FlaskForm.
    """

    class Meta:
        def wrap_formdata(self, form: object, formdata: object) -> object:
            # Flask-WTF passes a marker class when the form is to read the
            # request itself; None or a MultiDict is used as given.
            if formdata is None or hasattr(formdata, "getlist"):
                return formdata
            return request.form if request.method in SUBMIT_METHODS else None


class TokenForm(PostedForm):
    """Only the CSRF token, read as a plain field for the caller to check.

    For :func:`registry.errors.same_site_post`, which checks the token itself
    with ``validate_csrf``: the form's own check would log each bad token.
    """

    class Meta:
        csrf = False

    csrf_token = StringField()


class RowIdField(StringField):
    """The id of a row picked from a list, as an int; rendered by the template.

    ``None`` when no id was sent ("nobody" in the list) or the value is not
    ASCII digits; ``-1`` (no row has it) when the number is past the id
    column's range: passed on, the database would fail on it (a 500)
    instead of finding no one.  Never a validation error: the service says
    whether the row may be chosen.
    """

    def process_formdata(self, valuelist: list[str]) -> None:
        value = valuelist[0] if valuelist else ""
        # isascii: "²".isdigit() is true, but int() refuses it.
        if not (isinstance(value, str) and value.isascii() and value.isdigit()):
            self.data = None
        # The length check comes first: int() refuses 4,300 digits.
        elif len(value) <= 10 and int(value) <= MAX_INTEGER_ID:
            self.data = int(value)
        else:
            self.data = -1


def refuse_undecodable_body() -> None:
    """Refuse a form body whose percent-escapes are not UTF-8 (400).

    Werkzeug keeps such escapes as literal text ("%FF"), so what the person
    wrote would be stored mangled without anyone noticing.  Browsers never
    send this; the clear 400 is for broken clients and tools.  Installed as
    the first hook (registry.web.security): once anything parses the form,
    the raw body is gone and cannot be checked any more.
    """
    if request.method != "POST" or request.mimetype != "application/x-www-form-urlencoded":
        return
    if (request.content_length or 0) > CHECKED_BODY_BYTES:
        return  # the form parser refuses a body this large with 413 anyway
    raw = request.get_data(cache=True)
    for pair in raw.split(b"&"):
        try:
            unquote_to_bytes(pair.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            abort(400, description="invalid-utf8")


def refuse_json_body() -> None:
    """Refuse a POST whose body is JSON (415): every form here is a browser form.

    Flask-WTF fills a form from a JSON body when one is sent, so a JSON
    string or list posted with a valid token reached the fields as a value
    no form expects, and a 500.  No page of this site sends JSON.
    """
    if request.method == "POST" and request.is_json:
        abort(415)


def posted_text_has_nul() -> bool:
    """Whether a field of the posted form holds a NUL character."""
    return any("\x00" in v for v in request.form.values())
