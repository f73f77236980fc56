"""Sending a digest at most once per day and recipient list.

The ``digests`` table is checked before sending and written after the server
accepted the message. A crash between the two would send again on retry:
at-least-once, the right failure for a daily summary. Holding the database's
write lock across an SMTP conversation would stall the collectors instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from listener import mail
from listener.digest.build import DigestOptions, build_digest
from listener.digest.render import Rendered, render, to_email
from listener.errors import ConfigError
from listener.records import utcnow
from storage.digest import DigestRow
from storage.interfaces import ListenerStore

__all__ = ["SendResult", "recipients_key", "send_digest"]


@dataclass(frozen=True, slots=True)
class SendResult:
    day: date
    recipients: str
    sent: bool  # False: one was sent already and force was not given
    previous: DigestRow | None
    message_id: str | None
    rendered: Rendered | None


def recipients_key(recipients: tuple[str, ...] | list[str]) -> str:
    """The list as the ``digests`` table keys it: lowercased, sorted, unique, comma-separated."""
    return ",".join(sorted({r.strip().lower() for r in recipients if r.strip()}))


def send_digest(
    store: ListenerStore,
    options: DigestOptions,
    email: mail.EmailSettings | None,
    day: date,
    env: Mapping[str, str],
    *,
    force: bool = False,
    now: datetime | None = None,
) -> SendResult:
    """Build, send and record the digest of ``day``, unless it went to these recipients already."""
    if email is None:
        raise ConfigError("digest --send needs an [email] section with host, sender and recipients")
    recipients = options.recipients or tuple(email.recipients)
    key = recipients_key(recipients)
    q = store.digest
    previous = q.sent(day.isoformat(), key)
    if previous is not None and not force:
        return SendResult(day, key, False, previous, None, None)
    now = now or utcnow()
    rendered = render(build_digest(store, options, day))
    message = to_email(rendered, email.sender, recipients, now)
    mail.send(email, message, env)
    q.record_sent(day.isoformat(), key, str(message["Message-ID"]), rendered.subject, now)
    return SendResult(day, key, True, previous, str(message["Message-ID"]), rendered)
