"""Quiet e-mail notices: "there is new activity for you in Sviedka", nothing more.

- :mod:`registry.notices.activity`: intake, follow-up and triage mark that
  something happened for a person, in their own transaction, with one
  statement and no I/O (a dead mail server can never slow them).
- :mod:`registry.notices.sending`: ``send_due`` e-mails each person with
  activity once their quiet period has passed (``registry maintain`` and
  ``registry notices send`` call it).
- :mod:`registry.notices.mail` and :mod:`registry.notices.texts`: the one
  SMTP conversation and the words of the e-mail, in the person's language.
- :mod:`registry.notices.choice`: opting in and out (``/staff/account``).
"""
