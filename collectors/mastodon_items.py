"""Mastodon statuses as mentions: pure functions of the API's JSON, tested on recorded bodies."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from collectors._common import utc_from_iso
from collectors._html import html_to_text
from listener.errors import MalformedPayload
from listener.model import Mention, Reject

# -- normalising -------------------------------------------------------------


def snowflake_at(moment: datetime) -> str:
    """The smallest Mastodon status id of ``moment``: ids are milliseconds shifted left 16 bits."""
    return str(int(moment.timestamp() * 1000) << 16)


def host_of(url: str) -> str:
    return urlsplit(url if "//" in url else f"https://{url}").netloc.lower()


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def required_fields(status: Any) -> tuple[str, str, str]:
    """The status's id, HTML content and creation time; raises on a broken item."""
    if not isinstance(status, dict):
        raise ValueError(f"a status must be an object, not {type(status).__name__}")
    status_id = status.get("id")
    if not isinstance(status_id, str) or not status_id.isdigit():
        raise ValueError(f"missing or invalid field 'id': {status_id!r}")
    content = status.get("content")
    if not isinstance(content, str):
        raise ValueError("missing field 'content'")
    created = status.get("created_at")
    if not isinstance(created, str):
        raise ValueError("missing field 'created_at'")
    return status_id, content, created


def acct_of(account: Mapping[str, Any], host: str) -> str | None:
    """``user@server``: local accounts come as bare usernames, qualified here with their own server."""
    acct, account_url = account.get("acct"), account.get("url")
    if not isinstance(acct, str) or not acct:
        return None
    if "@" not in acct:
        acct = f"{acct}@{host_of(account_url) if isinstance(account_url, str) else host}"
    return acct


def status_text(content: str, spoiler: Any) -> str:
    """The content as plain text, after the content warning, which is text too."""
    text = html_to_text(content)
    if isinstance(spoiler, str) and spoiler.strip():
        return f"{spoiler.strip()}\n\n{text}" if text else spoiler.strip()
    return text


def normalize(status: Any, host: str) -> Mention:
    """One Mastodon status (as JSON) read on instance ``host``; raises on a broken item."""
    status_id, content, created = required_fields(status)
    account = as_dict(status.get("account"))
    reply_to = status.get("in_reply_to_id")
    lang = status.get("language")
    return Mention(
        network="mastodon",
        native_id=f"{host}/{status_id}",
        text=status_text(content, status.get("spoiler_text")),
        created_at=utc_from_iso(created),
        url=status.get("url") or status.get("uri"),
        author_id=f"{host}/{account['id']}" if account.get("id") else None,
        author_handle=acct_of(account, host),
        author_name=account.get("display_name") or None,
        language=lang if isinstance(lang, str) and lang else None,
        in_reply_to_id=f"{host}/{reply_to}" if reply_to else None,
        like_count=as_count(status.get("favourites_count")),
        repost_count=as_count(status.get("reblogs_count")),
        reply_count=as_count(status.get("replies_count")),
        quote_count=as_count(status.get("quotes_count")),
        raw=status,
    )


def normalize_page(items: Any, host: str) -> tuple[list[Mention], list[Reject]]:
    """Statuses or notifications (their ``status`` is used): what normalises, and the rest as rejects."""
    if not isinstance(items, list):
        raise MalformedPayload(f"mastodon: expected a list of statuses, got {type(items).__name__}")
    mentions: list[Mention] = []
    rejects: list[Reject] = []
    for item in items:
        status = item.get("status") if isinstance(item, dict) and "type" in item else item
        try:
            mention = normalize(status, host)
        except (KeyError, TypeError, ValueError) as exc:
            native = item.get("id") if isinstance(item, dict) else None
            rejects.append(Reject("mastodon", str(exc), item, f"{host}/{native}" if native else None))
            continue
        # A notification is kept whole as raw: the status is inside it.
        mentions.append(mention if status is item else replace(mention, raw=item))
    return mentions, rejects
