"""Where alerts go: email, apprise URLs (Telegram, Slack, Discord, ntfy...), a JSON webhook.

A channel sends one ``Message`` or raises ``DeliveryError``; retrying is the
outbox's job (``listener.alerts.deliver``), not the channel's. Channels are
registered by name through ``register_channels`` (``listener.plugins``), each as
a factory of (``AlertSettings``, ``EmailSettings`` or ``None``, environment);
the built-in factories are below.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from email.utils import formatdate, make_msgid
from typing import ClassVar, Protocol

import requests

from listener import mail, plugins
from listener.alerts.message import Message
from listener.alerts.settings import AlertSettings
from listener.errors import ConfigError, DeliveryError

__all__ = [
    "AppriseChannel",
    "Channel",
    "EmailChannel",
    "WebhookChannel",
    "apprise_channel",
    "build_channels",
    "email_channel",
    "webhook_channel",
]


class Channel(Protocol):
    name: ClassVar[str]

    def send(self, message: Message) -> None: ...


# A phone shows the message at its own width rather than a zoomed-out desktop page.
_HEAD = (
    '<!doctype html><html><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
    '<body style="margin:0;padding:8px">'
)


class EmailChannel:
    name: ClassVar[str] = "email"

    def __init__(self, settings: mail.EmailSettings, env: Mapping[str, str]) -> None:
        self.settings = settings
        self.env = env

    def send(self, message: Message) -> None:
        """Subject, Date and Message-ID are ours; ``mail.send`` adds From and To from the config.

        The subject names only the kind, scope and severity (``build_message``);
        ``header_value`` still flattens it, in case a watch name or a future
        subject carries more than it should.
        """
        email = mail.new_message()
        try:
            email["Subject"] = mail.header_value(message.subject)
        except ValueError as exc:  # cannot happen after header_value; never crash the outbox for it
            raise DeliveryError(f"email: {exc}; the message was not sent") from None
        email["Date"] = formatdate(localtime=False)
        email["Message-ID"] = make_msgid(domain="listener.local")
        email.set_content(message.text)
        email.add_alternative(f"{_HEAD}{message.html}</body></html>", subtype="html")
        mail.send(self.settings, email, self.env)


class WebhookChannel:
    """POSTs the alert as JSON; the URL often holds a token, so it comes from the environment."""

    name: ClassVar[str] = "webhook"

    def __init__(self, url_env: str, env: Mapping[str, str], timeout: float = 10.0) -> None:
        self.url = _required(env, url_env, "webhook")
        self.timeout = timeout

    def send(self, message: Message) -> None:
        try:
            response = requests.post(self.url, json=message.data, timeout=self.timeout)
        except requests.RequestException as exc:
            raise DeliveryError(f"webhook: {type(exc).__name__}; check that the endpoint is up") from None
        if response.status_code >= 300:
            raise DeliveryError(f"webhook: answered {response.status_code}; check the endpoint and its token")


class AppriseChannel:
    """Any service apprise knows, from its URLs (space-separated in one environment variable)."""

    name: ClassVar[str] = "apprise"

    def __init__(self, urls_env: str, env: Mapping[str, str]) -> None:
        import apprise

        self._apprise = apprise
        self.notifier = apprise.Apprise()
        for url in _required(env, urls_env, "apprise").split():
            if not self.notifier.add(url):
                raise ConfigError(
                    f"apprise: a URL in {urls_env} is not one apprise understands; see apprise's docs"
                )

    def send(self, message: Message) -> None:
        # TEXT lets apprise escape for each service's own markup (HTML for Telegram, Markdown...).
        logging.getLogger("apprise").setLevel(logging.CRITICAL)  # its logs may show URL tokens
        ok = self.notifier.notify(
            title=message.subject, body=message.text, body_format=self._apprise.NotifyFormat.TEXT
        )
        if not ok:
            raise DeliveryError(
                f"apprise: {len(self.notifier)} service(s) did not accept the message; the next try retries"
            )


def _required(env: Mapping[str, str], name: str, channel: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(
            f"{channel}: environment variable {name} is not set; export it or remove the channel"
        )
    return value


def email_channel(
    settings: AlertSettings, email: mail.EmailSettings | None, env: Mapping[str, str]
) -> Channel:
    if email is None:
        raise ConfigError("alerts: the email channel needs an [email] section")
    return EmailChannel(email, env)


def webhook_channel(
    settings: AlertSettings, email: mail.EmailSettings | None, env: Mapping[str, str]
) -> Channel:
    return WebhookChannel(settings.webhook_url_env, env)


def apprise_channel(
    settings: AlertSettings, email: mail.EmailSettings | None, env: Mapping[str, str]
) -> Channel:
    return AppriseChannel(settings.apprise_urls_env, env)


def build_channels(
    settings: AlertSettings, email: mail.EmailSettings | None, env: Mapping[str, str]
) -> dict[str, Channel]:
    """The configured channels, ready to send; a missing secret is a one-line ``ConfigError``."""
    factories = plugins.channels()
    channels: dict[str, Channel] = {}
    for name in settings.channels:
        if name not in factories:
            raise ConfigError(
                f"alerts: no plug-in registers the channel {name!r}; install it or remove it from channels"
            )
        channels[name] = plugins.resolve(factories[name])(settings, email, env)
    return channels
