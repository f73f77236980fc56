"""Sending email over SMTP, for alerts and the digest.

Credentials come from the environment variables the config names; they are
never logged or put in an error message.

Headers carry only our own text, and every value goes through ``header_value``
and is written with ``POLICY``. Both matter on Python before 3.11.10 / 3.12.5:
there the ``email`` package decodes an RFC 2047 word such as
``=?utf-8?b?DQpCY2M6IGFAZXZpbC5leGFtcGxl?=`` when a header is set and writes
the CR LF inside it out as a real line break, so any text that reached a
header could add a ``Bcc:`` (CPython gh-121650).
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Mapping
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import getaddresses
from typing import Any, Literal

from pydantic import Field

from listener.errors import ConfigError, DeliveryError
from listener.settings import Section

__all__ = [
    "MAX_HEADER", "POLICY", "EmailSettings", "HeaderInjection", "NoInjectionPolicy", "header_value", "new_message",
    "send", "wire_bytes",
]  # fmt: skip

MAX_HEADER = 200  # characters of a subject; a mail client shows fewer
_STRIPPED = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})  # controls, format/bidi, lone surrogates, line breaks
_OPENER = re.compile(r"=\?")  # how an RFC 2047 encoded word starts
_BREAK = re.compile(r"[\x00\r\n]")
_WSP = (" ", "\t")


class HeaderInjection(ValueError):
    """A header that would reach the wire as more than one header line."""


def header_value(text: object, limit: int | None = MAX_HEADER) -> str:
    """One line of text that stays one header value whatever it held.

    Control, format and line-separator characters become spaces, runs of
    whitespace one space, and ``=?`` becomes ``= ?`` so no parser (ours on an
    old Python, or the reader's client) can decode an encoded word out of it.
    ``limit`` caps the length; ``None`` is for addresses, which a cut would break.
    """
    flat = "".join(" " if unicodedata.category(ch) in _STRIPPED else ch for ch in str(text))
    flat = _OPENER.sub("= ?", " ".join(flat.split()))
    if limit is None or len(flat) <= limit:
        return flat
    return flat[: limit - 1].rstrip() + "…"


def _one_header(name: str, folded: str, linesep: str) -> str:
    """``folded`` if it is one header line plus continuation lines; else ``HeaderInjection``."""
    lines = folded.removesuffix(linesep).split(linesep)
    broken = any(_BREAK.search(line) for line in lines)
    if broken or any(not line.startswith(_WSP) or not line.strip() for line in lines[1:]):
        raise HeaderInjection(f"the {name} header would break into extra header lines")
    return folded


class NoInjectionPolicy(EmailPolicy):
    """``email.policy.default`` that refuses, on every Python, a header that would add lines.

    A value is checked after parsing (the decoded text of any encoded word)
    and again as folded for the wire: the check newer Pythons make with
    ``verify_generated_headers``, which 3.11.7 lacks.
    """

    def header_store_parse(self, name: str, value: Any) -> tuple[str, Any]:
        stored = super().header_store_parse(name, value)
        if _BREAK.search(str(stored[1])):
            raise HeaderInjection(f"the {name} header would hold a line break")
        return stored

    def fold(self, name: str, value: Any) -> str:
        return _one_header(name, super().fold(name, value), self.linesep)

    def fold_binary(self, name: str, value: Any) -> bytes:
        folded = super().fold_binary(name, value)
        _one_header(name, folded.decode("ascii", "surrogateescape"), self.linesep)
        return folded


POLICY = NoInjectionPolicy()


def new_message() -> EmailMessage:
    """An empty message whose headers are checked as they are set and again as they are written."""
    return EmailMessage(policy=POLICY)


class EmailSettings(Section):
    """``[email]``: the SMTP server alerts and the digest go through."""

    host: str
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username_env: str | None = None
    password_env: str | None = None
    sender: str
    recipients: list[str] = Field(min_length=1)
    language: Literal["it", "en"] = "en"
    timeout_seconds: float = Field(default=30.0, gt=0)


def send(settings: EmailSettings, message: EmailMessage, env: Mapping[str, str]) -> None:
    """Send one message; any failure is a one-line ``DeliveryError`` without secrets.

    The bytes are written here with ``POLICY`` whatever policy built the
    message, and exactly those bytes are sent: a header that would fold into
    extra lines stops the message instead of reaching the server.
    """
    user = _secret(env, settings.username_env)
    password = _secret(env, settings.password_env)
    where = f"email ({settings.host}:{settings.port})"
    try:
        if not message["From"]:
            message["From"] = header_value(settings.sender, None)
        if not message["To"]:
            message["To"] = header_value(", ".join(settings.recipients), None)
        sender, recipients = _envelope(message)
        international = not all(address.isascii() for address in (sender, *recipients))
        raw = wire_bytes(message, utf8=international)
    except ValueError as exc:  # HeaderInjection, or an address the parser refused
        raise DeliveryError(f"{where}: {exc}; the message was not sent") from None
    options = ("SMTPUTF8", "BODY=8BITMIME") if international else ()
    import smtplib  # here, not above: every command that reads the config imports this module
    import ssl

    step = "connect"
    try:
        smtp_class = smtplib.SMTP_SSL if settings.security == "ssl" else smtplib.SMTP
        with smtp_class(settings.host, settings.port, timeout=settings.timeout_seconds) as smtp:
            if settings.security == "starttls":
                step = "starttls"
                smtp.starttls(context=ssl.create_default_context())
            if user and password:
                step = "login"
                smtp.login(user, password)
            step = "send"
            smtp.sendmail(sender, recipients, raw, mail_options=options)
    except smtplib.SMTPAuthenticationError:
        raise DeliveryError(
            f"{where}: login refused; check {settings.username_env} and {settings.password_env}"
        ) from None
    except smtplib.SMTPNotSupportedError:
        raise DeliveryError(_unsupported(where, step, settings)) from None
    except (smtplib.SMTPException, OSError) as exc:
        reason = type(exc).__name__ if not str(exc) else str(exc).splitlines()[0]
        raise DeliveryError(f"{where}: {reason}; check host, port and security in [email]") from None


def wire_bytes(message: EmailMessage, utf8: bool = False) -> bytes:
    """The message as it goes to the server (CR LF), every header checked by ``POLICY``."""
    buffer = io.BytesIO()
    BytesGenerator(buffer, policy=POLICY.clone(linesep="\r\n", utf8=utf8)).flatten(message)
    return buffer.getvalue()


def _envelope(message: EmailMessage) -> tuple[str, list[str]]:
    """Sender and recipients from our own From, To and Cc, as ``send_message`` would take them."""
    senders = _addresses(message, "From")
    recipients = _addresses(message, "To") + _addresses(message, "Cc")
    if len(senders) != 1 or not recipients:
        raise ValueError("the sender or the recipients in [email] are not email addresses")
    return senders[0], recipients


def _addresses(message: EmailMessage, name: str) -> list[str]:
    return [address for _, address in getaddresses([str(v) for v in message.get_all(name, [])]) if address]


def _unsupported(where: str, step: str, settings: EmailSettings) -> str:
    """What the server lacks, named after the step that needed it, and the key that fixes it."""
    if step == "login" and settings.security == "none":
        return (
            f"{where}: the server offers no AUTH (login not supported) without TLS; "
            'set security = "starttls" or "ssl" in [email], or remove username_env and password_env '
            "if the server needs no login"
        )
    if step == "login":
        return (
            f"{where}: the server offers no AUTH (login not supported), even over TLS; "
            "remove username_env and password_env from [email] if it needs no login, "
            "or check host and port (the submission ports 587 and 465 usually offer it)"
        )
    if step == "starttls":
        return f'{where}: the server does not offer STARTTLS; set security = "ssl" or "none" in [email]'
    return f"{where}: the server does not support what sending needs (SMTPUTF8 for non-ASCII addresses)"


def _secret(env: Mapping[str, str], name: str | None) -> str | None:
    if name is None:
        return None
    value = env.get(name)
    if not value:
        raise ConfigError(f"[email]: environment variable {name} is not set; export it or remove the key")
    return value
