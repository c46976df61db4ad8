"""One SMTP connection that delivers notices, and the e-mail each one is.

Every socket operation waits at most ``smtp_timeout_seconds``; a failure
is a :class:`DeliveryFailed` that says whether the server itself is gone
(then nobody else is tried in this run, so a hanging server costs one
timeout, not one per person) or only refused this one message.
"""

from __future__ import annotations

import ipaddress
import secrets
import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from types import TracebackType
from typing import Self

from config import Config
from registry.notices.texts import NoticeText

# Refusals of one message: the connection stays usable for the next person.
_REFUSED = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError)


class DeliveryFailed(Exception):
    """A notice was not delivered: ``kind`` is the error's class name, ``server_gone`` as above."""

    def __init__(self, kind: str, *, server_gone: bool) -> None:
        super().__init__(kind)
        self.kind = kind
        self.server_gone = server_gone


def compose(cfg: Config, to: str, text: NoticeText, *, now: datetime) -> EmailMessage:
    """The e-mail of one notice: From, To, Subject, Date, Message-ID and the text, nothing more.

    WHY these headers only: ``Date`` is the moment of sending (a boundary of
    the quiet period, registry.notices.activity), which the mail server
    sees anyway.  ``Message-ID`` is random: ``email.utils.make_msgid`` would
    put in our clock and host name; without one, a relay adds its own.  No
    ``User-Agent`` or ``X-Mailer`` naming the software, no case, no count.
    """
    message = EmailMessage()
    message["From"] = cfg.smtp_from
    message["To"] = to
    message["Subject"] = text.subject
    message["Date"] = format_datetime(now)
    domain = cfg.smtp_from.rpartition("@")[2]
    message["Message-ID"] = f"<{secrets.token_hex(16)}@{domain}>"
    # 7-bit clean (Belarusian and Russian included) for servers without 8BITMIME.
    message.set_content(text.body, cte="quoted-printable")
    return message


class Outbox:
    """A lazily opened SMTP connection; use as a context manager, then :meth:`deliver`."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def deliver(self, message: EmailMessage) -> None:
        """Send ``message``; raise :class:`DeliveryFailed` on any refusal, timeout or error."""
        try:
            smtp = self._smtp or self._open()
            smtp.send_message(message)
        except _REFUSED as refused:
            raise DeliveryFailed(type(refused).__name__, server_gone=False) from None
        except (smtplib.SMTPException, OSError) as error:
            # OSError covers refused connections, timeouts and TLS failures
            # (ssl.SSLError).  "from None": the chained error's text may
            # quote the server's reply, which may quote the address.
            self.close()
            raise DeliveryFailed(type(error).__name__, server_gone=True) from None

    def close(self) -> None:
        """Say QUIT if the server still listens; drop the connection either way."""
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()

    def _open(self) -> smtplib.SMTP:
        cfg = self.cfg
        # A bracketed IP address in the setting ("[::1]"), bare for the socket.
        host = cfg.smtp_host.strip("[]")
        # WHY the system's default context: certificates and host names are
        # checked, so the password and the addresses go only to the real server.
        if cfg.smtp_security == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                host,
                cfg.smtp_port,
                timeout=cfg.smtp_timeout_seconds,
                context=ssl.create_default_context(),
            )
        else:
            smtp = smtplib.SMTP(host, cfg.smtp_port, timeout=cfg.smtp_timeout_seconds)
        self._smtp = smtp
        if cfg.smtp_security == "starttls":
            # Refuses to go on in the clear when the server offers no
            # STARTTLS (SMTPNotSupportedError): no silent downgrade.
            smtp.starttls(context=ssl.create_default_context())
        if cfg.smtp_user:
            # WHY: with security "none" the login would cross the network in
            # the clear; it is allowed only to a relay on this machine.
            if cfg.smtp_security == "none" and not _is_loopback(host):
                raise smtplib.SMTPNotSupportedError("no password over an unencrypted connection")
            smtp.login(cfg.smtp_user, cfg.smtp_password)
        return smtp


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
