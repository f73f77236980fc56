"""The offline demo: ``python -m listener.demo --dir DIR``.

Starts local X, Reddit and SMTP servers, puts calm days of talk about Caffè
Aurora on them, with the scripted conversation and an angry surge ending
minutes ago, writes a config pointing at them, and runs the real commands:
``listener collect`` (collect, score, alert by email), ``listener alerts``, a
few seconds of the daemon (``listener run``, stopped by SIGTERM), ``listener
digest --preview`` and ``--send``, ``listener status`` and two ``listener sql``
queries. Every email is saved as an ``.eml`` file in ``DIR/mail``. The
credentials are the demo servers' own, set for this process only.
``--bench N`` instead measures collection speed over N synthetic posts per network.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from listener.demo import report, scenario, script
from listener.demo.mailbox import Mailbox
from listener.demo.redditserver import RedditServer
from listener.demo.xserver import XServer
from listener.records import utc_iso, utcnow

DEMO_ENV = {
    "X_BEARER_TOKEN": "demo-x-token",
    "REDDIT_CLIENT_ID": "demo-client-id",
    "REDDIT_CLIENT_SECRET": "demo-client-secret",
    "REDDIT_PASSWORD": "demo-password",
    "REDDIT_USER_AGENT": "python:listener-demo:0.1",
}
QUERIES = [
    "SELECT network, coalesce(language, '?') AS language, count(*) AS mentions "
    "FROM mentions GROUP BY 1, 2 ORDER BY 3 DESC",
    "SELECT m.created_at, m.network, m.author_handle, m.text FROM mentions m "
    "JOIN mention_watches mw ON mw.mention_id = m.id JOIN watches w ON w.id = mw.watch_id "
    "WHERE w.name = 'complaints' AND m.created_at < :before ORDER BY m.created_at",
]
ZONE = "Europe/Rome"
DAEMON_SECONDS = 4.0  # how long the daemon runs once it has scheduled its jobs


def write_config(folder: Path, x_url: str, reddit_url: str, smtp_port: int) -> Path:
    path = folder / "listener.toml"
    path.write_text(
        f"""# Written by the demo: the networks and the mail server are local and stop when it ends.
[database]
path = "demo.db"

[[watches]]
name = "brand"
query = '"Caffè Aurora" OR #caffeaurora OR caffeaurora.it'

[[watches]]
name = "complaints"
query = '("Caffè Aurora" OR #caffeaurora) (rimborso OR refund OR scandalo OR "mai più")'

[[watches]]
name = "app"
query = '("Caffè Aurora" OR #caffeaurora) (app OR ordine OR ordered)'

[networks.x]
api_base_url = "{x_url}"
accounts = ["{script.BRAND_ACCOUNT}"]
monthly_post_budget = 10000
pages_per_run = 40            # a week of history in the first run (the default, 5, takes a few runs)
retry_backoff_seconds = 0.2

[networks.reddit]
oauth_url = "{reddit_url}"
reddit_url = "{reddit_url}"
stream_subreddits = ["italy", "Coffee"]
username = "{script.REDDIT_ACCOUNT}"
password_env = "REDDIT_PASSWORD"
pages_per_run = 40
retry_backoff_seconds = 0.2

[alerts]
channels = ["email"]
timezone = "{ZONE}"
min_severity = "warning"      # info alerts are stored and listed, not sent

[email]
host = "127.0.0.1"
port = {smtp_port}
security = "none"             # the demo's local server; use "starttls" or "ssl" for a real one
sender = "listener@caffeaurora.example"
recipients = ["social@caffeaurora.example"]
language = "en"

[digest]
time = "07:30"                # the daemon sends yesterday's digest after this local time
top_mentions = 5
""",
        encoding="utf-8",
    )
    return path


def _heading(text: str) -> None:
    click.secho(f"== {text}", fg="green", bold=True)
    click.echo()


def _run(*args: str) -> None:
    from listener.cli import cli

    click.secho("$ " + shlex.join(["listener", *args]), bold=True)
    try:
        cli.main(list(args), prog_name="listener", standalone_mode=False)
    except SystemExit as exc:  # collect exits 3 when some source failed: show the rest anyway
        if exc.code not in (0, None):
            click.secho(f"(exit status {exc.code})", fg="yellow")
    click.echo()


def _daemon(config: Path, seconds: float) -> int:
    """``listener run --interval 1`` in a process of its own, stopped with SIGTERM; its exit status."""
    args = ["--config", str(config), "run", "--interval", "1"]
    click.secho("$ " + shlex.join(["listener", *args]) + " &", bold=True)
    process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
        [sys.executable, "-m", "listener.cli", *args], stderr=subprocess.PIPE, text=True, encoding="utf-8"
    )
    started = threading.Event()

    def relay() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            click.echo("  " + line.rstrip())
            if "jobs scheduled" in line:
                started.set()
        started.set()

    reader = threading.Thread(target=relay, daemon=True)
    reader.start()
    started.wait(60)
    time.sleep(seconds)
    click.secho(f"$ kill -TERM {process.pid}   # {seconds:.0f} s later", bold=True)
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()
        code = process.wait()
    reader.join(5)
    click.echo(f"(the daemon exited with status {code})\n")
    return code


def demo(folder: Path) -> None:
    began = time.perf_counter()
    os.environ.update(DEMO_ENV)
    zone = ZoneInfo(ZONE)
    now = utcnow()
    calm, storm = scenario.baseline(now), scenario.surge(now)
    with XServer(token=DEMO_ENV["X_BEARER_TOKEN"]) as x, RedditServer(
        DEMO_ENV["REDDIT_CLIENT_ID"], DEMO_ENV["REDDIT_CLIENT_SECRET"],
        username=script.REDDIT_ACCOUNT, password=DEMO_ENV["REDDIT_PASSWORD"],
    ) as reddit, Mailbox(folder / "mail") as mailbox:  # fmt: skip
        scripted = script.load(x, reddit, now - timedelta(hours=48))
        scenario.publish(calm, x, reddit)
        scenario.publish(storm, x, reddit)
        config = write_config(folder, x.url, reddit.url, mailbox.port)
        started = (now - scenario.SURGE_SPAN[0]).astimezone(zone)
        click.echo(
            f"Demo servers: X at {x.url}, Reddit at {reddit.url}, SMTP at 127.0.0.1:{mailbox.port}.\n"
            f"On them: {len(calm.posts)} posts and comments of {scenario.BASELINE_DAYS:g} calm days ({calm.count('x')} on X, "
            f"{calm.count('reddit')} on Reddit, a few of them off topic), {scripted} scripted ones, and "
            f"since {started:%H:%M} ({ZONE}) a surge of {len(storm.posts)} angry ones about the app, "
            f"tagged {scenario.HASHTAG}.\n"
        )
        _heading("Collect: fetch every source, score sentiment, look for incidents, email the alerts")
        _run("--config", str(config), "collect")
        click.echo("Collecting again finds nothing new: each source resumes from its cursor.\n")
        _run("--config", str(config), "collect")
        _heading("The incidents, with what rose and by how much")
        _run("--config", str(config), "alerts")
        alert_mail, _ = report.sorted_mail(mailbox.saved)
        if alert_mail:
            volume = [m for m in alert_mail if " mentions " in m.subject]
            first = next((m for m in volume if " brand:" in m.subject), (volume or alert_mail)[0])
            click.echo(f"{len(alert_mail)} alert emails reached the local SMTP server, one per new or growing "
                       "incident:")  # fmt: skip
            for m in alert_mail:
                click.echo(f"  {m.path.name}")
            click.echo(
                f"\nThe plain-text part of {'the brand volume alert' if ' brand:' in first.subject else 'one'}:"
            )
            report.show_email(first)
        else:
            click.secho("No alert email was sent.", fg="yellow")
        _heading("The daemon: collects on schedule; SIGTERM stops it cleanly")
        click.echo("Two more angry posts arrive while it runs.")
        scenario.publish(scenario.live(utcnow()), x, reddit)
        _daemon(config, DAEMON_SECONDS)
        _heading("The daily digest")
        day = (now - (scenario.SURGE_SPAN[0] + scenario.SURGE_SPAN[1]) / 2).astimezone(zone).date()
        preview = folder / "digest.html"
        _run("--config", str(config), "digest", "--date", day.isoformat(), "--preview", str(preview))
        before = len(mailbox.saved)
        _run("--config", str(config), "digest", "--date", day.isoformat(), "--send")
        for path in mailbox.saved[before:]:
            click.echo(f"Saved {path}\n")
        mail = list(mailbox.saved)
    _heading("Status and SQL")
    _run("--config", str(config), "status")
    surge_start = utc_iso(now - scenario.SURGE_SPAN[0])
    _run("--config", str(config), "sql", QUERIES[0])
    click.echo(f"The complaints watch before the surge began at {surge_start}:\n")
    _run("--config", str(config), "sql", QUERIES[1], "-p", "before", surge_start)
    report.closing_report(folder, folder / "demo.db", mail, preview, zone, time.perf_counter() - began)
    click.echo(f"Try: listener --config {config} search 'rimborso'")


def bench(count: int, folder: Path) -> None:
    """Collection rate through the local servers into SQLite: tweepy and praw over HTTP, then save_page."""
    from collectors import reddit as reddit_collector
    from collectors import x as x_collector
    from collectors.base import Watch
    from listener.collect import collect
    from listener.query import parse
    from storage import Store

    start = utcnow() - timedelta(days=2)
    token, secret = "bench-token", "bench-secret"  # the local servers' own
    with XServer(token=token, rate_limit=10**6) as x, RedditServer("b", secret) as reddit:
        for i in range(count):
            moment = start + timedelta(seconds=i)
            x.add_post(
                f"user{i % 97}", f"Caffè Aurora post {i}: espresso, cornetto e chiacchiere", moment, lang="it"
            )
            reddit.add_submission(
                "italy", f"user{i % 89}", f"Caffè Aurora thread {i}", moment, selftext="Opinioni?"
            )
        networks = {
            "x": x_collector.Settings(api_base_url=x.url, pages_per_run=count // 100 + 1),
            "reddit": reddit_collector.Settings(oauth_url=reddit.url, reddit_url=reddit.url, pages_per_run=count // 100 + 1),
        }  # fmt: skip
        watches = [Watch("brand", '"caffè aurora"', parse('"caffè aurora"'))]
        env = {"X_BEARER_TOKEN": token, "REDDIT_CLIENT_ID": "b", "REDDIT_CLIENT_SECRET": secret}
        with Store.open(folder / "bench.db") as store:
            began = time.perf_counter()
            outcomes = collect(store, networks, watches, env=env)
            elapsed = time.perf_counter() - began
            stored = store.count_mentions()
    for o in outcomes:
        click.echo(
            f"{o.network:8} {o.source:8} new {o.new:6}  {o.new / o.seconds:8.0f} mentions/s  ({o.seconds:.2f}s)"
        )
    click.echo(f"total: {stored} mentions in {elapsed:.2f}s = {stored / elapsed:.0f} mentions/s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m listener.demo", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dir", type=Path, help="folder for the config, database and emails [default: a new temp folder]"
    )
    parser.add_argument(
        "--bench", type=int, metavar="N", help="measure collection speed over N posts per network"
    )
    args = parser.parse_args(argv)
    folder = args.dir or Path(tempfile.mkdtemp(prefix="listener-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    if args.bench:
        bench(args.bench, folder)
    else:
        demo(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
