"""Sending one outbox e-mail over SMTP: stdlib smtplib in a thread, errors without secrets."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from urllib.parse import parse_qs, unquote, urlsplit

from relink.models import OutboxEmail

# Connect, each command and the data transfer: a hung server must not hold a worker for long.
SMTP_TIMEOUT = 20.0
DEFAULT_PORT = {"smtp": 25, "smtps": 465}
STARTTLS_PORT = 587
_TRUE = {"1", "true", "yes", "on"}


class SmtpUrlInvalid(ValueError):
    """RELINK_SMTP_URL cannot be used; the message never repeats the URL (it holds a password)."""


class SendFailed(Exception):
    """The server did not take the message; ``str()`` is safe to store and log."""


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    implicit_tls: bool
    starttls: bool
    username: str | None = None
    password: str | None = field(default=None, repr=False)


def parse_smtp_url(url: str) -> SmtpServer:
    """``smtp://[user:pass@]host[:port][?starttls=1]`` or ``smtps://...`` (implicit TLS)."""
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORT:
        raise SmtpUrlInvalid("RELINK_SMTP_URL must start with smtp:// or smtps://")
    if not parts.hostname:
        raise SmtpUrlInvalid("RELINK_SMTP_URL names no host")
    try:
        port = parts.port
    except ValueError:
        raise SmtpUrlInvalid("RELINK_SMTP_URL has an invalid port") from None
    query = parse_qs(parts.query)
    starttls = query.get("starttls", [""])[-1].lower() in _TRUE
    implicit_tls = parts.scheme == "smtps"
    if implicit_tls and starttls:
        raise SmtpUrlInvalid("RELINK_SMTP_URL: smtps:// is TLS already; drop ?starttls=1")
    default = STARTTLS_PORT if starttls else DEFAULT_PORT[parts.scheme]
    return SmtpServer(
        host=parts.hostname,
        port=port or default,
        implicit_tls=implicit_tls,
        starttls=starttls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def build_message(message: OutboxEmail, *, mail_from: str) -> EmailMessage:
    """The MIME message: a plain-text part and its HTML alternative."""
    email = EmailMessage()
    email["From"] = mail_from
    email["To"] = message.to_address
    email["Subject"] = message.subject
    email["Date"] = formatdate(usegmt=True)
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "localhost"
    email["Message-ID"] = make_msgid(idstring=f"relink.{message.id}", domain=domain)
    # RFC 3834: an automatic message; out-of-office replies should not answer it.
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(message.text_body)
    email.add_alternative(message.html_body, subtype="html")
    return email


def describe(exc: BaseException) -> str:
    """What went wrong, in words safe to store: the type and the SMTP code, never the text."""
    name = type(exc).__name__
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{name} {exc.smtp_code}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({str(code) for code, _ in exc.recipients.values()})
        return f"{name} {','.join(codes)}"
    return name


def _deliver(server: SmtpServer, email: EmailMessage, timeout: float) -> None:
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if server.implicit_tls:
        client = smtplib.SMTP_SSL(server.host, server.port, timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(server.host, server.port, timeout=timeout)
    with client:
        if server.starttls:
            client.starttls(context=context)
        if server.username is not None:
            client.login(server.username, server.password or "")
        client.send_message(email)


async def send(
    message: OutboxEmail, *, smtp_url: str, mail_from: str, smtp_timeout: float = SMTP_TIMEOUT
) -> None:
    """Send ``message`` now; raises ``SendFailed`` (or ``SmtpUrlInvalid``) when it did not go."""
    server = parse_smtp_url(smtp_url)
    email = build_message(message, mail_from=mail_from)
    try:
        await asyncio.to_thread(_deliver, server, email, smtp_timeout)
    except (smtplib.SMTPException, OSError) as exc:  # ssl.SSLError is an OSError
        # No chaining: a server's reply text may echo what we sent.
        raise SendFailed(describe(exc)) from None
