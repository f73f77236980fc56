"""Sending email over SMTP, for alerts and the digest.

Credentials come from the environment variables the config names; they are
never logged or put in an error message.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Literal

from pydantic import Field

from listener.errors import ConfigError, DeliveryError
from listener.settings import Section

__all__ = ["EmailSettings", "send"]


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
    """Send one message; any failure is a one-line ``DeliveryError`` without secrets."""
    user = _secret(env, settings.username_env)
    password = _secret(env, settings.password_env)
    if not message["From"]:
        message["From"] = settings.sender
    if not message["To"]:
        message["To"] = ", ".join(settings.recipients)
    where = f"email ({settings.host}:{settings.port})"
    try:
        smtp_class = smtplib.SMTP_SSL if settings.security == "ssl" else smtplib.SMTP
        with smtp_class(settings.host, settings.port, timeout=settings.timeout_seconds) as smtp:
            if settings.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if user and password:
                smtp.login(user, password)
            smtp.send_message(message)
    except smtplib.SMTPAuthenticationError:
        raise DeliveryError(
            f"{where}: login refused; check {settings.username_env} and {settings.password_env}"
        ) from None
    except smtplib.SMTPNotSupportedError:
        raise DeliveryError(
            f'{where}: the server does not offer STARTTLS; set security = "ssl" or "none"'
        ) from None
    except (smtplib.SMTPException, OSError) as exc:
        reason = type(exc).__name__ if not str(exc) else str(exc).splitlines()[0]
        raise DeliveryError(f"{where}: {reason}; check host, port and security in [email]") from None


def _secret(env: Mapping[str, str], name: str | None) -> str | None:
    if name is None:
        return None
    value = env.get(name)
    if not value:
        raise ConfigError(f"[email]: environment variable {name} is not set; export it or remove the key")
    return value
