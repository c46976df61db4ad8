"""Everything the bot says, as lazy strings in English (translated into be and ru).

WHY lazy strings rendered with ``force_locale``: the bot answers outside
any web request, each conversation in its own language (the person's
Telegram language until they switch).  :func:`render` evaluates a string
inside the bot's app context with that conversation's language forced, so
the bot uses the very catalogues the website uses (registry/translations),
and one extraction covers both.  Strings the form already has (questions,
consents, file refusals) are the same msgids, so they are translated once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask_babel import force_locale, ngettext
from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class Counted:
    """A message that counts something, drawn with ``ngettext`` and the ``num`` parameter.

    Its English forms are msgids the website's own code extracts (plural
    entries: be and ru have three forms), so both doors say it alike.
    """

    singular: str
    plural: str


# -- Opening: what Telegram sees, and the other doors -------------------------

INTRO = _l(
    "This bot takes reports of police abuse in Belarus for the Sviedka registry.\n\n"
    "Before you start: Telegram's servers can see everything written in a chat with a "
    "bot (bots cannot use secret chats). It is safer to report on our website: %(site)s"
)
INTRO_ONION = _l("In Tor Browser, the website is also at: %(onion)s")
INTRO_AFTER = _l(
    "If you go on here: your report is encrypted as soon as you confirm it, we keep "
    "nothing that identifies your Telegram account, and the bot deletes the messages of "
    "this chat when your report is stored. Continue here, or leave?"
)
CONTINUE = _l("Continue here")
LEAVE = _l("Leave")
ALREADY_WRITING = _l(
    "A report is already being written in this chat. Finish it, or press Cancel to start again."
)
LOST = _l(
    "This conversation is no longer known to the bot (it was restarted, or it was silent "
    "too long). Nothing was stored. Send /start to begin again."
)
EXPIRED = _l(
    "This conversation was silent for %(minutes)s minutes and was forgotten; nothing was "
    "stored. Send /start to begin again."
)
CANCELLED = _l(
    "Cancelled. Nothing was stored, and the messages of this conversation were deleted. "
    "Please delete this chat too."
)

# -- Buttons --------------------------------------------------------------------

BACK = _l("« Back")
CANCEL = _l("Cancel")
SKIP = _l("Skip")
NEXT = _l("Next »")
SEND = _l("Send the report")
YES_CLEAN = _l("Yes, remove it (recommended)")
NO_KEEP = _l("No, keep the files unchanged")
DONT_REMEMBER = _l("I don't remember")
EARLIER = _l("Earlier: type the year")

# -- Questions (the form's own words where it has them) ---------------------------

ROLE = _l("Who is reporting?")
NARRATIVE = _l("What happened?")
NARRATIVE_HINT = _l(
    "Write in any language, in one or more messages: what was done, by whom, where, what "
    "was said. Press Next when you have finished."
)
NARRATIVE_MORE = _l("Noted. Write more, or press Next.")
NARRATIVE_FIRST = _l("Please write what happened first.")
NARRATIVE_FULL = _l("The text is as long as a report can take: this part was not added.")
YEAR = _l("When did it happen? Choose the year.")
YEAR_TYPED_BAD = _l("Please type a year between %(first)s and %(last)s, e.g. 2015.")
MONTH = _l("Choose the month.")
REGION = _l("Where did it happen? Choose the region.")
PLACE = _l("Type of place")
UNIT = _l("Who did it: which service or unit")
VIOLATIONS = _l("What was done? Tick all that apply.")
INJURIES = _l("Injuries and medical care")
INJURIES_HINT = _l("What injuries, whether a doctor saw them, whether there are medical papers.")
FLAGS = _l("Tick what applies to the victim")
CONTACT = _l("May the staff contact you?")
CONTACT_RECEIPT = _l("Yes, by replies that I read on this site with my receipt")
CONTACT_OTHER = _l("Yes, also at the contact I give below")
CONTACT_NONE = _l("No, do not contact me")
CONTACT_DETAILS = _l("How to reach you safely")
CONTACT_DETAILS_HINT = _l(
    "For example a Signal number or an email that cannot be linked to you. "
    "It is encrypted like your report."
)
CONSENTS = _l("Tick what you agree to, then press Next.")
CONSENT_PUBLISH = _l("An anonymised summary of my case may be published.")
CONSENT_REFER = _l("My case may be passed to partner organisations or UN mechanisms.")
CLEANING = _l("Remove location and camera data from photos")
CLEANING_HINT = _l(
    "Recommended. Photos are saved again without the hidden data that can tell where "
    "and with which phone they were taken (GPS, camera model, time). The picture "
    "itself stays the same."
)
CLEANING_TELEGRAM = _l(
    "In Telegram, a picture sent as a photo is compressed by Telegram, which drops its "
    "location data but lowers its quality. A file sent as a document (file) arrives "
    "exactly as it is, with its location and camera data, unless you choose to remove it."
)
FILES = _l(
    "Now you can send photos, videos, recordings or documents, one or more per message. "
    "%(limits)s Press Next when you have finished, or at once to send none."
)
FILE_RECEIVED = _l("Received and encrypted: %(name)s")
FILES_NOT_NOW = _l("Files can be sent at the step for files, near the end.")

# -- File refusals (the form's words for the same reasons) ------------------------

TELEGRAM_LIMIT = _l(
    "“%(name)s” is larger than 20 MB: Telegram does not let bots download larger files. "
    "Please send a smaller copy, or add it later on the website with your receipt."
)
FILE_SIZE = _l("“%(name)s” is larger than %(size)s MB.")
FILE_COUNT = Counted(
    "Only %(num)d file can be sent at once.", "Only %(num)d files can be sent at once."
)
# The form's own hint under its file field (registry.attachments.explain).
FILE_LIMITS = Counted(
    "Up to %(num)d file, up to %(size)s MB: a photo, PDF, audio, video or plain "
    "text. Files are encrypted as they arrive.",
    "Up to %(num)d files, up to %(size)s MB each: photos, PDF, audio, video or plain "
    "text. Files are encrypted as they arrive.",
)
FILE_EMPTY = _l("“%(name)s” is empty.")
FILE_TYPE = _l("“%(name)s” is not a photo, PDF, audio, video or plain text file.")
FILE_IMAGE = _l("“%(name)s” could not be read as a picture.")
FILE_CLEAN = _l(
    "Location data cannot be removed from “%(name)s”. Send it as a photo or as a JPEG, "
    "or go back and choose to keep the files unchanged."
)
FILE_OTHER = _l("A file could not be accepted.")
BUSY_FILE = _l(
    "The registry is very busy right now and could not take this file. Please send it "
    "again in a minute."
)
UPLOAD_LIMIT = _l(
    "This chat has sent as many files as the bot takes in an hour. Please wait, or add "
    "files later on the website with your receipt."
)
REPORT_LIMIT = _l(
    "This chat has sent as many reports as the bot takes in an hour. Please try again "
    "later, or use the website: %(site)s"
)

# -- Summary and the end ------------------------------------------------------------

SUMMARY = _l("Please check your report. Nothing has been stored yet.")
SUMMARY_FILES = _l("Files: %(count)s")
NOT_GIVEN = _l("not given")
LABEL_WHEN = _l("When")
LABEL_REGION = _l("Region")
LABEL_VIOLATIONS = _l("What was done")
LABEL_FLAGS = _l("About the victim")
RECEIPT = _l(
    "Your report is stored and encrypted. Your receipt:\n\n%(receipt)s\n\n"
    "Write it down now, somewhere safe: it cannot be shown again. With it you can read "
    "replies and add to your report at %(followup)s. Replies are never sent through Telegram.\n\n"
    "Press the button when you have saved it: this message is then deleted too."
)
SAVED = _l("I have written down or saved my receipt.")
FAREWELL = _l(
    "The messages of this report were deleted from this chat. Please delete this chat "
    "with the bot in Telegram too."
)
BUSY = _l(
    "The registry is very busy right now and could not store your report. Nothing was "
    "stored. Please press Send again in a minute."
)
NOBODY_YET = _l(
    "The registry cannot accept reports yet: nobody has been set up to read them. "
    "Nothing was stored. Please try again later."
)
UNAVAILABLE = _l(
    "The registry cannot be reached right now. Nothing was stored. Please press Send again later."
)

LANGUAGE_NAMES = {"be": "Беларуская", "ru": "Русский", "en": "English"}


def render(app: Flask, language: str, text: Any, **params: Any) -> str:
    """``text`` (a lazy string) in ``language``, with ``params`` filled in."""
    with app.app_context(), force_locale(language):
        params = {
            name: _counted(value, params) if isinstance(value, Counted) else value
            for name, value in params.items()
        }
        if isinstance(text, Counted):
            return _counted(text, params)
        rendered = str(text)
        return rendered % params if params else rendered


def _counted(text: Counted, params: dict[str, Any]) -> str:
    # ngettext fills in ``num`` itself (the count it chose the form by).
    others = {name: value for name, value in params.items() if name != "num"}
    counted: str = ngettext(text.singular, text.plural, params["num"], **others)
    return counted
