"""What the demo shows besides the commands' own output: the saved emails and a closing report."""

from __future__ import annotations

import base64
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from listener.demo.mailbox import is_digest, read_eml
from storage import Store
from storage.alerts import AlertRow
from storage.readonly import run_readonly

__all__ = ["Saved", "closing_report", "read_eml", "save_previews", "show_email", "sorted_mail"]

PER_NETWORK = (
    "SELECT network, count(*) AS mentions, sum(sentiment_label = 'negative') AS negative, "
    "min(created_at) AS first, max(created_at) AS last FROM mentions GROUP BY network ORDER BY network"
)


@dataclass(frozen=True, slots=True)
class Saved:
    path: Path
    message: EmailMessage

    @property
    def is_digest(self) -> bool:
        return is_digest(self.message)

    @property
    def subject(self) -> str:
        return str(self.message["Subject"] or "")

    def text(self) -> str:
        body = self.message.get_body(preferencelist=("plain",))
        return body.get_content() if body is not None else ""


def sorted_mail(paths: Sequence[Path]) -> tuple[list[Saved], list[Saved]]:
    """The saved messages as (alerts, digests)."""
    saved = [Saved(p, read_eml(p)) for p in paths]
    return [s for s in saved if not s.is_digest], [s for s in saved if s.is_digest]


def save_previews(paths: Sequence[Path]) -> None:
    """Beside each ``.eml``, its HTML part as an ``.html`` file to open in a browser (images inlined)."""
    for path in paths:
        message = read_eml(path)
        body = message.get_body(preferencelist=("html",))
        if body is None:
            continue
        html = body.get_content()
        for part in message.walk():
            cid = str(part.get("Content-ID") or "").strip().strip("<>")
            if cid and part.get_content_type().startswith("image/"):
                payload = part.get_payload(decode=True)
                data = base64.b64encode(payload if isinstance(payload, bytes) else b"").decode()
                html = html.replace(f"cid:{cid}", f"data:{part.get_content_type()};base64,{data}")
        path.with_suffix(".html").write_text(html, encoding="utf-8")


def show_email(mail: Saved, max_lines: int = 40) -> None:
    click.secho(f"{mail.path}", fg="cyan")
    lines = mail.text().rstrip().splitlines()
    for line in lines[:max_lines]:
        click.echo("  | " + textwrap.shorten(line, 150, placeholder="…") if line else "  |")
    if len(lines) > max_lines:
        click.echo(f"  | ... ({len(lines) - max_lines} more lines)")
    click.echo()


def _local(iso: str, zone: ZoneInfo) -> str:
    from datetime import datetime

    return datetime.fromisoformat(iso).astimezone(zone).strftime("%a %H:%M")


def _why(alert: AlertRow) -> str:
    terms = [t["term"] for t in alert.explanation.get("terms", [])][:4]
    tags = [t["tag"] for t in alert.explanation.get("hashtags", [])][:2]
    authors = list(dict.fromkeys(a["handle"] for a in alert.explanation.get("authors", [])))[:3]
    parts = []
    if terms or tags:
        parts.append("driven by " + ", ".join([*tags, *terms]))
    if authors:
        parts.append("loudest " + ", ".join(authors))
    return "; ".join(parts)


def closing_report(
    folder: Path, database: Path, mail: Sequence[Path], zone: ZoneInfo, seconds: float, troll: str
) -> None:
    """Per network what was collected, which alerts fired when and why, and where the files are."""
    click.secho("What happened", bold=True, underline=True)
    per_network = run_readonly(database, PER_NETWORK)
    click.echo(f"- Mentions from {len(per_network.rows)} networks:")
    for network, count, negative, first, last in per_network.rows:
        click.echo(
            f"    {network}: {count} stored, {negative} scored negative, "
            f"from {_local(first, zone)} to {_local(last, zone)} ({zone.key} time)"
        )
    with Store.open(database, create=False) as store:
        alerts = store.alerts.list(limit=200)
    content = [a for a in alerts if not a.kind.startswith("health:")]
    click.echo(f"- {len(content)} alerts (incidents), by kind: " + ", ".join(
        f"{kind} {sum(a.kind == kind for a in content)}" for kind in sorted({a.kind for a in content})
    ))  # fmt: skip
    for a in sorted(content, key=lambda a: (a.started_at, a.id)):
        click.echo(
            f"    {_local(a.started_at, zone)} {a.severity} {a.kind} on '{a.watch}': {a.summary[:160]}"
        )
        if why := _why(a):
            click.echo(f"        {why}")
    alert_mail, digests = sorted_mail(mail)
    click.echo(
        f"- {len(alert_mail)} alert emails and {len(digests)} digest emails reached the local SMTP server."
    )
    if digests and troll in digests[-1].text():
        click.echo(f"- The troll, {troll}, is listed by 'listener authors --negative' and in the digest.")
    else:
        click.echo(f"- The troll, {troll}, is missing from the crisis day's digest: see daemon.log.")
    click.echo("Files:")
    click.echo(f"  {folder / 'listener.toml'}   the config (local servers, [alerts], [email], [digest])")
    click.echo(f"  {database}   the SQLite database: try 'listener sql', 'listener search', or Datasette")
    click.echo(f"  {folder / 'mail'}/   every email as .eml (a mail client) and .html (a browser)")
    click.echo(f"Demo finished in {seconds:.0f} s.")
