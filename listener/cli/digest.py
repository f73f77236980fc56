"""``listener digest``: show, preview or send one day's digest.

Jinja2 and the digest modules are imported when this command runs, not before.
"""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import click

from listener.cli.app import App
from listener.records import utcnow

__all__ = ["digest"]


def _day(value: str | None, today: date) -> date:
    if value is None or value == "yesterday":
        return today - timedelta(days=1)
    if value == "today":
        return today
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r}: use a date like 2026-11-20, 'today' or 'yesterday'") from None


@click.command()
@click.option(
    "--date", "day", metavar="DATE", help="The local day to cover (YYYY-MM-DD) [default: yesterday]."
)
@click.option(
    "--preview", type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the HTML to this file, chart included, to open in a browser.",
)  # fmt: skip
@click.option("--send", is_flag=True, help="Email it to the recipients, once per day and recipient list.")
@click.option("--force", is_flag=True, help="With --send: send again even if it was sent already.")
@click.pass_obj
def digest(app: App, day: str | None, preview: Path | None, send: bool, force: bool) -> None:
    """The daily digest: volume and sentiment per watch, alerts, replies owed, source health.

    Without --send or --preview it prints the plain-text version. The day is a
    local date in [digest] timezone (else [alerts] timezone); --send records what
    it sent, so running it twice sends once unless --force.

    \b
    Example:
        listener digest
        listener digest --date 2026-11-20 --preview digest.html
        listener digest --send
    """
    from listener.digest.build import DigestOptions, build_digest, default_day
    from listener.digest.render import preview_html, render
    from listener.digest.send import send_digest

    config = app.load_config()
    options = DigestOptions.from_config(config)
    now = utcnow()
    when = _day(day, default_day(now, options.timezone) + timedelta(days=1))
    with app.open_store() as store:
        if send:
            result = send_digest(store, options, config.email, when, os.environ, force=force, now=now)
            rendered = result.rendered
            if result.sent:
                click.echo(f"Sent the digest of {when} to {result.recipients} ({result.message_id}).")
            else:
                assert result.previous is not None
                click.echo(
                    f"The digest of {when} went to {result.recipients} at {result.previous.sent_at}; "
                    "not sent again (pass --force to resend)."
                )
        else:
            rendered = None
        if preview is not None or not send:
            rendered = rendered or render(build_digest(store, options, when))
    if preview is not None and rendered is not None:
        preview.write_text(preview_html(rendered), encoding="utf-8")
        click.echo(f"Wrote {preview}")
    elif not send and rendered is not None:
        click.echo(rendered.text, nl=False)
