"""The own-account guard: does a post from the brand's own account look like it was not the brand?

A hijacked account, an intern's slip, a scheduled post on the wrong day: each
looks different from how the account usually posts. Every new post of an own
account is compared with that account's own history (the posts before it,
``history_days`` long):

- **strong** signs, each enough for an alert: the profile's display name changed;
  a burst of at least three times the usual hourly posting (and six posts); a wave of negative replies far
  above what the account's posts usually draw.
- **weak** signs, which alert only two at a time: posting at an hour the account
  never posts at, a burst, a language it does not use, a link to a domain it
  never linked. One alone is an ordinary day (a late post, a new partner's site);
  together they are what a takeover looks like.

The guard only computes: evaluation loads each own account's posts and the replies
they drew (``"own_posts"``) and calls it once per account.

Suspicious posts less than ``GAP`` apart form one incident, keyed by its first
post, so each cycle re-derives the same incident and the alert table stores it
once. Alerts are critical: they are sent at once, through quiet hours.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from listener.alerts.settings import GuardSettings
from listener.analysis.findings import Finding
from listener.plugins import Inputs, OwnAccount

__all__ = ["GUARD", "OwnAccountGuard", "Signal", "signals"]

GAP = timedelta(hours=3)  # suspicious posts closer than this are one incident
LOOKBACK = timedelta(hours=48)  # posts examined each cycle (reply waves take a while to build)
BURST_WINDOW = timedelta(hours=1)
_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
# Links every post of a network carries: never "a new domain".
_PLATFORM = {
    "t.co", "x.com", "twitter.com", "reddit.com", "redd.it", "bsky.app", "youtube.com", "youtu.be",
    "facebook.com", "fb.me", "instagram.com", "news.ycombinator.com",
}  # fmt: skip


class OwnPost(Protocol):
    """What the guard reads of a post (``storage``'s ``OwnPost``)."""

    @property
    def network(self) -> str: ...
    @property
    def native_id(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def text(self) -> str: ...
    @property
    def language(self) -> str | None: ...
    @property
    def author_handle(self) -> str | None: ...
    @property
    def author_name(self) -> str | None: ...
    @property
    def url(self) -> str | None: ...
    @property
    def raw(self) -> Any: ...


@dataclass(frozen=True, slots=True)
class Signal:
    code: str  # off-hours, burst, language, new-domain, name-change, reply-wave
    strong: bool
    detail: str


def _domains(post: OwnPost) -> set[str]:
    """Linked domains, from the text and from expanded links anywhere in the raw payload."""
    urls = _URL.findall(post.text)
    stack: list[Any] = [post.raw]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            urls.extend(
                v for k, v in item.items() if k in ("expanded_url", "unwound_url") and isinstance(v, str)
            )
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    hosts = {(urlsplit(u).hostname or "").removeprefix("www.") for u in urls}
    return {h for h in hosts if h and h not in _PLATFORM}


def _hour_share(history: Sequence[OwnPost], hour: int, zone: ZoneInfo) -> float:
    """The history's share of posts within an hour of ``hour`` (local), wrapping round midnight."""
    near = {(hour + d) % 24 for d in (-1, 0, 1)}
    return sum(p.created_at.astimezone(zone).hour in near for p in history) / len(history)


def _usual_hourly(history: Sequence[OwnPost]) -> int:
    """How many posts within an hour are usual: the 90th percentile over the history's posts.

    Not the maximum: one busy event day must not make every later burst look normal.
    """
    counts, start = [], 0
    times = [p.created_at for p in history]
    for end, moment in enumerate(times):
        while moment - times[start] > BURST_WINDOW:
            start += 1
        counts.append(end - start + 1)
    return sorted(counts)[int(0.9 * (len(counts) - 1))] if counts else 1


def _habits(
    post: OwnPost, history: Sequence[OwnPost], known: bool, settings: GuardSettings, zone: ZoneInfo
) -> list[Signal]:
    """Weak signs against the account's habits: the hour, the language, the linked domains."""
    found: list[Signal] = []
    local = post.created_at.astimezone(zone)
    if known and _hour_share(history, local.hour, zone) < settings.rare_hour_share:
        found.append(Signal("off-hours", False, f"posted at {local:%H:%M}, an hour this account never uses"))
    elif not known and local.hour < 6:
        found.append(Signal("off-hours", False, f"posted at {local:%H:%M}, in the night"))
    if known and post.language:
        languages = Counter(p.language for p in history if p.language)
        if languages and languages[post.language] / sum(languages.values()) < 0.03:
            found.append(
                Signal("language", False, f"written in {post.language!r}, a language it does not use")
            )
    if known:
        seen = set().union(*(_domains(p) for p in history))
        new = sorted(_domains(post) - seen)
        if new:
            found.append(Signal("new-domain", False, f"links to {', '.join(new)}, never linked before"))
    return found


def signals(
    post: OwnPost,
    history: Sequence[OwnPost],
    recent: Sequence[OwnPost],
    replies: tuple[int, int],
    usual_negative: float,
    settings: GuardSettings,
    zone: ZoneInfo,
) -> list[Signal]:
    """What looks wrong about ``post`` next to ``history`` (earlier posts) and ``recent`` (the hour before)."""
    known = len(history) >= settings.min_history
    found = _habits(post, history, known, settings, zone)
    usual = _usual_hourly(history)
    burst = len(recent) + 1
    if burst >= max(3, usual + 2):
        found.insert(  # after off-hours, before language: the order messages list them in
            1 if found and found[0].code == "off-hours" else 0,
            Signal("burst", burst >= max(6, 3 * usual), f"{burst} posts within an hour; usually {usual}"),
        )
    before = next((p.author_name for p in reversed(history) if p.author_name), None)
    if before and post.author_name and post.author_name != before:
        found.append(
            Signal("name-change", True, f"profile name changed from {before!r} to {post.author_name!r}")
        )
    total, negative = replies
    wave = max(settings.reply_wave_min, math.ceil(4 * usual_negative))
    if negative >= wave and negative * 2 >= total:
        found.append(
            Signal(
                "reply-wave",
                True,
                f"{negative} negative replies of {total}; its posts usually draw {usual_negative:.1f}",
            )
        )
    return found


def _suspicious(found: Sequence[Signal]) -> bool:
    return any(s.strong for s in found) or len({s.code for s in found}) >= 2


def _usual_negative(history: Sequence[OwnPost], counts: Mapping[str, tuple[int, int]]) -> float:
    """The 90th percentile of negative replies per earlier post: what a bad day usually looks like."""
    values = sorted(counts.get(p.native_id, (0, 0))[1] for p in history)
    return float(values[int(0.9 * (len(values) - 1))]) if values else 0.0


def _account_findings(
    account: OwnAccount, settings: GuardSettings, zone: ZoneInfo, now: datetime
) -> Iterator[Finding]:
    span = timedelta(days=settings.history_days)
    posts: Sequence[OwnPost] = account.posts
    fresh = [p for p in posts if p.created_at >= now - LOOKBACK]
    if not fresh:
        return
    counts = account.replies
    flagged: list[tuple[OwnPost, list[Signal]]] = []
    for post in fresh:
        earlier = [p for p in posts if p.created_at < post.created_at]
        history = [
            p for p in earlier if post.created_at - span <= p.created_at < post.created_at - BURST_WINDOW
        ]
        recent = [p for p in earlier if p.created_at >= post.created_at - BURST_WINDOW]
        found = signals(post, history, recent, counts[post.native_id], _usual_negative(history, counts),
                        settings, zone)  # fmt: skip
        if _suspicious(found):
            flagged.append((post, found))
    for incident in _incidents(flagged):
        yield _finding(account.network, account.key, incident, now)


def _incidents(flagged: list[tuple[OwnPost, list[Signal]]]) -> Iterator[list[tuple[OwnPost, list[Signal]]]]:
    group: list[tuple[OwnPost, list[Signal]]] = []
    for item in flagged:
        if group and item[0].created_at - group[-1][0].created_at > GAP:
            yield group
            group = []
        group.append(item)
    if group:
        yield group


def _finding(network: str, key: str, incident: list[tuple[OwnPost, list[Signal]]], now: datetime) -> Finding:
    first = incident[0][0]
    handle = first.author_handle or key
    reasons: dict[str, str] = {}
    for _, found in incident:
        for s in found:
            reasons.setdefault(s.code, s.detail)
    samples = [
        {"network": p.network, "author": p.author_handle, "text": p.text, "url": p.url, "engagement": 0,
         "created_at": p.created_at.isoformat()}
        for p, _ in incident[:5]
    ]  # fmt: skip
    why = "; ".join(reasons.values())
    return Finding(
        watch=f"@{handle}", network=network, kind="own-account", state="opened", severity="critical",
        incident_start=first.created_at, at=now, observed=float(len(incident)), expected=0.0,
        summary=f"@{handle} on {network}: {len(incident)} post(s) that do not look like the account: {why}",
        explanation={"what": {"metric": "own-account", "posts": len(incident)}, "reasons": list(reasons.values()),
                     "signals": sorted(reasons), "samples": samples},
    )  # fmt: skip


class OwnAccountGuard:
    """One critical alert per suspicious incident of an own account, re-derived every pass."""

    name = "own-account"
    inputs = ("own_posts",)

    def history(self, inputs: Inputs) -> timedelta:
        """The posts examined, and the history each is compared with."""
        return LOOKBACK + timedelta(days=inputs.alerts.own_accounts.history_days)

    def detect(self, inputs: Inputs, now: datetime) -> list[Finding]:
        settings = inputs.alerts.own_accounts
        if not settings.enabled or inputs.account is None:
            return []
        return list(_account_findings(inputs.account, settings, ZoneInfo(inputs.alerts.timezone), now))


GUARD = OwnAccountGuard()
