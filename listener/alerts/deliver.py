"""The outbox worker: sends what is due, records every try, retries what failed.

Nothing is dropped: a message stays queued until a channel accepts it. Retries
back off from one minute to an hour, so a channel that is down for a day is
not hammered and still gets the message when it is back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from listener.alerts.channels import Channel
from listener.alerts.message import build_message, sample_ids
from listener.errors import DeliveryError
from listener.records import utcnow
from storage.alerts import PendingDelivery
from storage.interfaces import ListenerStore

__all__ = ["DeliveryReport", "Reader", "deliver_pending", "retry_delay"]

MAX_DELAY = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    sent: int
    failed: int
    errors: tuple[str, ...] = ()


def retry_delay(attempts: int) -> timedelta:
    """1, 2, 4 ... minutes after the n-th failed try, at most an hour."""
    return min(timedelta(minutes=2 ** max(attempts - 1, 0)), MAX_DELAY)


@dataclass(frozen=True, slots=True)
class Reader:
    """Who reads the messages: their language and zone, and where their inbox is (if served)."""

    language: str = "en"
    timezone: str = "UTC"
    inbox_url: str | None = None


def deliver_pending(
    store: ListenerStore,
    channels: Mapping[str, Channel],
    language: str = "en",
    now: datetime | None = None,
    timezone: str = "UTC",
    inbox_url: str | None = None,
) -> DeliveryReport:
    """Send what is due; ``timezone`` and ``inbox_url`` are [alerts] timezone and [serve] public_url's inbox."""
    now = now or utcnow()
    reader = Reader(language, timezone, inbox_url)
    sent = failed = 0
    errors: list[str] = []
    while batch := store.alerts.pending(now):
        sent, failed = _send_batch(store, batch, channels, reader, now, errors, sent, failed)
    return DeliveryReport(sent, failed, tuple(errors))


def _send_batch(
    store: ListenerStore,
    batch: list[PendingDelivery],
    channels: Mapping[str, Channel],
    reader: Reader,
    now: datetime,
    errors: list[str],
    sent: int,
    failed: int,
) -> tuple[int, int]:
    for item in batch:
        channel = channels.get(item.channel)
        try:
            if channel is None:
                raise DeliveryError(f"{item.channel}: channel is not configured; add it to [alerts] channels")
            states = {i: t.state for i, t in store.triage.states(sample_ids(item.alert)).items()}
            channel.send(
                build_message(
                    item.alert, item.event, reader.language, reader.timezone, reader.inbox_url, states
                )
            )
        except DeliveryError as exc:
            failed += 1
            errors.append(str(exc))
            store.alerts.attempted(item.id, str(exc), now + retry_delay(item.attempts + 1), now=now)
        else:
            sent += 1
            store.alerts.attempted(item.id, None, None, now=now)
    return sent, failed
