"""What the X and Reddit collectors share: retries, secrets, time, query lowering.

Kept apart from ``base.py`` (the contract) because these are implementation
helpers: a third-party collector may use them or not.
"""

from __future__ import annotations

import logging
import re
import ssl
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import cache
from typing import TypeVar

import httpx
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from listener.errors import AuthError, MalformedPayload, SourceUnavailable
from listener.query import And, Field, Node, Not, Or, Phrase, Term

__all__ = [
    "REDACTOR",
    "Leaf",
    "Lowered",
    "Redactor",
    "Syntax",
    "cannot_connect",
    "lower_query",
    "no_answer",
    "protect",
    "require_env",
    "retry_after",
    "retrying",
    "snowflake_time",
    "tls",
    "until",
    "utc_from_epoch",
    "utc_from_iso",
]

T = TypeVar("T")
log = logging.getLogger(__name__)


# -- secrets -----------------------------------------------------------------


def require_env(env: Mapping[str, str], var: str, network: str, what: str) -> str:
    """Read a secret from the environment, or say which variable to set."""
    value = env.get(var, "").strip()
    if not value:
        raise AuthError(f"{network}: {what} missing; set {var} in the environment")
    return value


# An Authorization value that slipped through: long enough to be a credential, not a word.
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=%-]{12,}")


class Redactor(logging.Filter):
    """Blank secrets out of log records of third-party loggers.

    tweepy logs request headers, Authorization included, at DEBUG; prawcore
    logs the token request's form data. A filter on those loggers rewrites the
    record before any handler (ours, pytest's caplog, a user's) sees it.
    """

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def scrub(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return _BEARER.sub(lambda m: f"{m.group(1)} ***", text)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self.scrub(record.getMessage()), None
        return True


REDACTOR = Redactor()


def protect(secrets: Iterable[str], *logger_names: str) -> None:
    """Keep ``secrets`` out of what the named loggers emit, from now on."""
    REDACTOR.secrets.update(s for s in secrets if len(s) >= 4)
    for name in logger_names:
        target = logging.getLogger(name)
        if REDACTOR not in target.filters:
            target.addFilter(REDACTOR)


# -- failures ----------------------------------------------------------------


def no_answer(context: str, seconds: float) -> SourceUnavailable:
    """A request that timed out, as every collector says it."""
    return SourceUnavailable(
        f"{context}: no answer within {seconds:g}s; raise timeout_seconds or retry later"
    )


def cannot_connect(
    context: str, exc: BaseException | None = None, setting: str = "api_base_url"
) -> SourceUnavailable:
    """A server that could not be reached; ``setting`` is the key that holds its address."""
    cause = f" ({type(exc).__name__})" if exc is not None else ""
    return SourceUnavailable(f"{context}: cannot connect{cause}; check the network or {setting}")


# -- retries -----------------------------------------------------------------


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, SourceUnavailable | MalformedPayload)


def retrying(
    call: Callable[[], T], *, attempts: int, backoff: float, sleep: Callable[[float], None] | None = None
) -> T:
    """Run ``call``, retrying transient failures with bounded exponential backoff.

    Transient: 5xx, timeouts, refused connections, a body that is not JSON.
    Auth errors and rate limits are not retried: waiting belongs to the scheduler.
    """
    kwargs = {} if sleep is None else {"sleep": sleep}
    retryer = Retrying(
        stop=stop_after_attempt(max(1, attempts)),
        wait=wait_exponential(multiplier=backoff, max=max(backoff * 8, 0.0)),
        retry=retry_if_exception(_transient),
        reraise=True,
        before_sleep=lambda state: log.info("retrying after %s", state.outcome and state.outcome.exception()),
        **kwargs,  # type: ignore[arg-type]
    )
    return retryer(call)


# -- time --------------------------------------------------------------------

_TWITTER_EPOCH_MS = 1288834974657


def snowflake_time(native_id: str) -> datetime:
    """The creation time encoded in an X post id (every id since late 2010)."""
    ms = (int(native_id) >> 22) + _TWITTER_EPOCH_MS
    return datetime.fromtimestamp(ms / 1000, UTC)


def until(moment: datetime | None) -> str:
    """How a rate-limit message says when to come back."""
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC" if moment else "the reset (time not given)"


def retry_after(headers: Mapping[str, str], now: datetime) -> datetime | None:
    """When a ``Retry-After`` header (seconds or an HTTP date) says to come back, if it says."""
    value = (headers.get("retry-after") or "").strip()
    if value.isdigit():
        return now + timedelta(seconds=int(value))
    try:
        return parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError):
        return None


def utc_from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(float(seconds), UTC)


def utc_from_iso(text: str) -> datetime:
    """Parse ``2022-10-07T22:42:12.000Z`` and friends; naive times are refused."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"time {text!r} has no time zone")
    return moment.astimezone(UTC)


# -- query lowering ----------------------------------------------------------

Leaf = Term | Phrase | Field
# A lowered node: network syntax, or True/False for "always"/"never" on this network.
Lowered = str | bool


@dataclass(frozen=True, slots=True)
class Syntax:
    """How a network spells the boolean operators."""

    and_: str
    or_: str
    not_: Callable[[str], str]


def lower_query(
    node: Node, leaf: Callable[[Leaf], tuple[Lowered, bool]], syntax: Syntax
) -> tuple[Lowered, bool]:
    """Compile the query tree to a network's search syntax, as a superset.

    ``leaf`` returns the network's text for a word, phrase or field, and
    whether that text is exact; an inexpressible leaf is ``(True, False)``:
    "anything", so the network returns more and the local matcher narrows it
    down. A negation of something inexact is dropped for the same reason.
    ``False`` means the query can never match on this network. The second
    value says whether the network's answer needs no local filtering.
    """
    return _lower(node, leaf, syntax)


LeafLowering = Callable[[Leaf], tuple[Lowered, bool]]


def _lower(node: Node, leaf: LeafLowering, syntax: Syntax) -> tuple[Lowered, bool]:
    match node:
        case Term() | Phrase() | Field():
            return leaf(node)
        case Not(child):
            return _lower_not(_lower(child, leaf, syntax), syntax)
        case And(children):
            return _lower_and([_lower(c, leaf, syntax) for c in children], syntax)
        case Or(children):
            return _lower_or([_lower(c, leaf, syntax) for c in children], syntax)
    raise TypeError(node)


def _lower_not(inner: tuple[Lowered, bool], syntax: Syntax) -> tuple[Lowered, bool]:
    text, exact = inner
    if not exact:
        return True, False  # a negation of something broader would drop real matches
    if isinstance(text, bool):
        return not text, True
    return syntax.not_(text), True


def _lower_and(parts: list[tuple[Lowered, bool]], syntax: Syntax) -> tuple[Lowered, bool]:
    exact = all(e for _, e in parts)
    if any(p is False for p, _ in parts):
        return False, True
    texts = [p for p, _ in parts if isinstance(p, str)]
    if not texts:
        return True, exact
    if all(t.startswith(("-", "NOT ")) for t in texts):
        return True, False  # a negation alone is not a search
    return (texts[0] if len(texts) == 1 else syntax.and_.join(texts)), exact


def _lower_or(parts: list[tuple[Lowered, bool]], syntax: Syntax) -> tuple[Lowered, bool]:
    exact = all(e for _, e in parts)
    if any(p is True for p, _ in parts):
        return True, exact
    texts = [p for p, _ in parts if isinstance(p, str)]
    if not texts:
        return False, exact
    return (texts[0] if len(texts) == 1 else "(" + syntax.or_.join(texts) + ")"), exact


@cache
def tls() -> ssl.SSLContext:
    """One verifying TLS context for every httpx client: building one reads the CA bundle, tens of ms of CPU."""
    return httpx.create_ssl_context()
