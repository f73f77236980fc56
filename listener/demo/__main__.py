"""The offline demo: ``listener demo`` (or ``python -m listener.demo``).

Starts a local server for every network and an SMTP server, then tells the
story in ``story``: four calm days are collected by ``listener collect``; then
the real daemon (``listener run``) takes over, driven step by step through a
day and a night of story time: at each step the story's posts up to that time
appear on the servers and the daemon collects, scores and alerts before the
clock moves on, so a busy machine tells the same story, only slower. The
complaint spreads, the alerts fire and are mailed, the official account posts
at night, the digest goes out the next morning. It ends with ``listener alerts``, ``listener authors``, three
``listener sql`` queries and a report. Emails are saved as ``.eml`` and
``.html`` files; the database stays for you to query.
``--bench N`` instead measures collection speed over N synthetic posts per network.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO

import click

from listener.demo import report
from listener.demo.inbox import show_inbox
from listener.demo.mailbox import Mailbox
from listener.demo.stage import DEMO_ENV, Stage
from listener.demo.story import BRAND, ROME, TROLL, Timeline, story
from listener.records import use_clock, utcnow

STEP = timedelta(minutes=60)  # of story time: the daemon collects, scores and alerts once per step
QUERIES = [
    (
        "Where the talk was, and in which language",
        "SELECT network, coalesce(language, '?') AS language, count(*) AS mentions, "
        "sum(sentiment_label = 'negative') AS negative FROM mentions GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 12",
    ),
    (
        "The crisis hour by hour: mentions of the complaints watch, and how many were negative",
        "SELECT strftime('%d %H:00', m.created_at, 'localtime') AS hour, count(*) AS mentions, "
        "sum(m.sentiment_label = 'negative') AS negative, group_concat(DISTINCT m.network) AS networks "
        "FROM mentions m JOIN mention_watches mw ON mw.mention_id = m.id JOIN watches w ON w.id = mw.watch_id "
        "WHERE w.name = 'complaints' GROUP BY 1 ORDER BY 1",
    ),
    (
        "What the official account posted at night (kept, even if it deletes them)",
        "SELECT created_at, text FROM mentions WHERE network = 'x' AND author_handle = :brand "
        "AND cast(strftime('%H', created_at, 'localtime') AS int) < 6 ORDER BY created_at",
    ),
]


class Clock:
    """The story's time: it stands still and moves only when the demo takes the next step."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def write_config(folder: Path, stage: Stage, smtp_port: int) -> Path:
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
query = '"Caffè Aurora" (rimborso OR refund OR addebito OR charged)'
{stage.networks_toml()}
[alerts]
channels = ["email"]
timezone = "Europe/Rome"
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
stories = 5                   # stories to answer first
""",
        encoding="utf-8",
    )
    return path


def _heading(text: str) -> None:
    click.echo()
    click.secho(f"== {text}", fg="green", bold=True)
    click.echo()


def _run(*args: str) -> None:
    """``listener ARGS`` as a process of its own, as a user would type it, at the story's time.

    A process, not an import: the demo shows the command line and does not depend on it.
    """
    shown = [a for a in args if a not in ("--config",) and not a.endswith("listener.toml")]
    click.secho("$ " + shlex.join(["listener", *shown]), bold=True)
    sys.stdout.flush()
    env = {**os.environ, "LISTENER_CLOCK": f"{utcnow().isoformat()}@0x0"}  # the story's clock, stopped
    done = subprocess.run([sys.executable, "-m", "listener.cli", *args], env=env, check=False)  # noqa: S603
    if done.returncode:  # collect exits 3 when some source failed: show the rest anyway
        click.secho(f"(exit status {done.returncode})", fg="yellow")
    click.echo()


def _live(config: Path, clock: Clock, stage: Stage, mailbox: Mailbox, until: datetime) -> int:
    """The daemon driven step by step on the story's clock, narrated from the mail it sends.

    At each step the story's posts up to the step's time appear on the servers,
    the daemon collects every source, scores, alerts and checks the digest, and
    only then does the clock move on: the same story gives the same alerts on a
    fast machine and on a busy one; a slow one just takes longer.
    """
    log = (config.parent / "daemon.log").open("w", encoding="utf-8")
    # The daemon's clock stands at the story's time from its start; each step then sets it.
    env = {**os.environ, "LISTENER_CLOCK": f"{clock().isoformat()}@0x0"}
    click.secho(f"$ listener run --steps &   # one step every {STEP.seconds // 60} minutes of story time",
                bold=True)  # fmt: skip
    process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
        [sys.executable, "-m", "listener.cli", "--config", str(config), "run", "--steps"],
        env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True, encoding="utf-8",
    )  # fmt: skip
    assert process.stdin is not None and process.stdout is not None
    announced, hour = 0, clock()
    while clock() < until and process.poll() is None:
        clock.now = min(clock() + STEP, until)
        stage.publish_until(clock())
        process.stdin.write(clock().isoformat() + "\n")
        process.stdin.flush()
        if not _answered(process.stdout):
            break  # the daemon ended: its log says why
        if clock() >= hour + timedelta(hours=3):
            hour = clock()
            click.echo(f"  {_local(clock())}  {stage.published} posts on the servers so far")
        for path in mailbox.saved[announced:]:
            mail = report.Saved(path, report.read_eml(path))
            kind = "DIGEST" if mail.is_digest else "ALERT "
            colour = "red" if kind == "ALERT " else "cyan"
            click.secho(f"  {_local(clock())}  {kind} email: {mail.subject}", fg=colour)
        announced = len(mailbox.saved)
    process.stdin.close()  # the end of the story ends the daemon
    code = process.wait()
    log.close()
    for line in (config.parent / "daemon.log").read_text(encoding="utf-8").splitlines():
        if " ERROR " in line or "Traceback" in line or "digest for" in line:
            click.echo("  " + line)
    click.echo(f"(the story reached {_local(clock())}; the daemon stopped with status {code})")
    return code


def _answered(out: IO[str]) -> bool:
    """Wait for the daemon's ``step ... done``; False if it ended instead."""
    return any(line.startswith("step ") for line in out)


def _local(moment: datetime) -> str:
    return moment.astimezone(ROME).strftime("%a %H:%M")


def demo(folder: Path) -> None:
    began = time.perf_counter()
    os.environ.update(DEMO_ENV)
    timeline = Timeline.for_today(datetime.now(ROME).date())
    posts = story(timeline)
    clock = Clock(timeline.live_from)
    use_clock(clock)  # this process's commands see the story's time too
    with Stage(posts, clock) as stage, Mailbox(folder / "mail") as mailbox:
        stage.publish_until(timeline.live_from)
        config = write_config(folder, stage, mailbox.port)
        click.echo(
            f"Local servers for {', '.join(stage.servers)} and SMTP on 127.0.0.1:{mailbox.port}.\n"
            f"The story: Caffè Aurora, a Milan coffee roaster, from {_day(timeline.start.date())} to "
            f"{_day(timeline.end.date())} ({ROME.key} time). {stage.published} posts of four calm days "
            f"are on the servers; {len(posts) - stage.published} more will appear as the story's clock runs."
        )
        _heading(f"{_local(clock())}: the first collection fetches four calm days (the detectors' history)")
        _run("--config", str(config), "collect")
        _heading("The daemon takes over: the crisis day, the night and the next morning")
        _live(config, clock, stage, mailbox, timeline.end)
        mail = list(mailbox.saved)
        report.save_previews(mail)
    _heading("The incidents, with what drove them")
    _run("--config", str(config), "alerts")
    alert_mail, digests = report.sorted_mail(mail)
    for title, pick in (
        ("The negative-sentiment alert", " negative "),
        ("The own-account alert", "@" + BRAND),
    ):
        found = next((m for m in alert_mail if pick in m.subject), None)
        if found is not None:
            click.secho(f"{title}, as emailed:", bold=True)
            report.show_email(found, max_lines=24)
    _heading("Who keeps coming back angry")
    _run("--config", str(config), "authors", "--negative", "--limit", "5")
    if digests:
        _heading("The digest of the crisis day, as emailed the next morning")
        report.show_email(digests[-1], max_lines=30)
    _heading("SQL: the database answers questions directly")
    for title, sql in QUERIES:
        click.echo(title + ":")
        _run("--config", str(config), "sql", sql, *(["-p", "brand", BRAND] if ":brand" in sql else []))
    _heading("The inbox: what to answer first (listener serve shows it in the browser)")
    show_inbox(folder / "demo.db", config, ROME.key, utcnow())
    click.echo()
    report.closing_report(folder, folder / "demo.db", mail, ROME, time.perf_counter() - began, TROLL)
    click.echo(f"Try: listener --config {config} search 'rimborso'")


def _day(day: date) -> str:
    return day.strftime("%a %d %b")


def bench(count: int, folder: Path) -> None:
    """Collection rate through the local servers into SQLite: tweepy and praw over HTTP, then save_page."""
    from collectors import reddit as reddit_collector
    from collectors import x as x_collector
    from listener.collect import collect
    from listener.demo.redditserver import RedditServer
    from listener.demo.xserver import XServer
    from listener.model import Watch
    from listener.query import parse
    from listener.records import utcnow
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


Runner = Callable[..., None]

if __name__ == "__main__":
    sys.exit(main())
