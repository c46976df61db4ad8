"""Telegram intake: a bot that takes reports and seals them like the web form.

* :mod:`registry.telegram.bot`: python-telegram-bot's application (long
  polling), the handlers, deleting the conversation's messages;
* :mod:`registry.telegram.flow`: the questions and what each answer leads to;
* :mod:`registry.telegram.state`: conversations and per-chat limits, in memory only;
* :mod:`registry.telegram.files`: files fetched into memory and sealed on arrival;
* :mod:`registry.telegram.submit`: the web form's intake service, called as is;
* :mod:`registry.telegram.texts`: every word the bot says (be, ru, en);
* :mod:`registry.telegram.quiet`: logs without text, ids or the token;
* :mod:`registry.telegram.cli`: ``registry telegram run``.

Like the website, the bot is a front door (layer 4 in docs/architecture.md):
it holds no rule of its own and calls the intake service.  README "Telegram"
says how to set it up and what Telegram sees; docs/threat-model.md, its risks.
"""
