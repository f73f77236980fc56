"""The offline demo: ``listener demo`` (or ``python -m listener.demo``).

Starts a local server for every network and an SMTP server, then tells the
story in ``story``: four calm days are collected by ``listener collect``; then
the real daemon (``listener run``) takes over on an accelerated clock, a day
and a night in about half a minute, while the story's posts appear on the
servers as the clock reaches them: the complaint spreads, the alerts fire and
are mailed, the official account posts at night, the digest goes out the next
morning. It ends with ``listener alerts``, ``listener authors``, three
``listener sql`` queries and a report. Emails are saved as ``.eml`` and
``.html`` files; the database stays for you to query.
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
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

import click

from listener.demo import report
from listener.demo.mailbox import Mailbox
from listener.demo.stage import DEMO_ENV, Stage
from listener.demo.story import BRAND, ROME, TROLL, Timeline, story
from listener.records import use_clock

LIVE_SECONDS = 16.0  # the daemon's day and night, in real seconds
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
    """The story's time: still at ``start`` until ``go``, then ``speed`` times the wall clock."""

    def __init__(self, start: datetime, speed: float) -> None:
        self.start, self.speed = start, speed
        self.epoch: float | None = None

    def go(self) -> str:
        """Start the clock; the ``LISTENER_CLOCK`` value that gives other processes the same time."""
        self.epoch = time.time()
        return f"{self.start.isoformat()}@{self.epoch:.3f}x{self.speed:g}"

    def __call__(self) -> datetime:
        if self.epoch is None:
            return self.start
        return self.start + timedelta(seconds=(time.time() - self.epoch) * self.speed)


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
top_mentions = 5
""",
        encoding="utf-8",
    )
    return path


def _heading(text: str) -> None:
    click.echo()
    click.secho(f"== {text}", fg="green", bold=True)
    click.echo()


def _run(*args: str) -> None:
    from listener.cli import cli

    shown = [a for a in args if a not in ("--config",) and not a.endswith("listener.toml")]
    click.secho("$ " + shlex.join(["listener", *shown]), bold=True)
    try:
        cli.main(list(args), prog_name="listener", standalone_mode=False)
    except SystemExit as exc:  # collect exits 3 when some source failed: show the rest anyway
        if exc.code not in (0, None):
            click.secho(f"(exit status {exc.code})", fg="yellow")
    click.echo()


def _live(
    config: Path, clock: Clock, stage: Stage, mailbox: Mailbox, until: datetime, deadline: float, awaited: str
) -> int:
    """The daemon on the accelerated clock, fed by the story, narrated from the mail it sends.

    It runs until the story's end and the email whose subject holds ``awaited`` (the
    crisis day's digest) has arrived, or ``deadline`` real seconds have passed.
    """
    log = (config.parent / "daemon.log").open("w", encoding="utf-8")
    env = {**os.environ, "LISTENER_CLOCK": clock.go()}
    args = ["--config", str(config), "run", "--interval", "1"]
    click.secho(
        f"$ LISTENER_CLOCK=... listener run &   # {clock.speed:.0f}x faster than real time", bold=True
    )
    process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
        [sys.executable, "-m", "listener.cli", *args],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    errors: list[str] = []

    def relay() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            log.write(line)
            if " ERROR " in line or "Traceback" in line or "digest for" in line:
                errors.append(line.rstrip())

    reader = threading.Thread(target=relay, daemon=True)
    reader.start()
    announced, hour = 0, clock().replace(minute=0, second=0, microsecond=0)
    began = time.monotonic()
    subjects: list[str] = []
    while (
        clock() < until or not any(awaited in s for s in subjects)
    ) and time.monotonic() - began < deadline:
        now = clock()
        stage.publish_until(now)
        if now >= hour + timedelta(hours=3):
            hour = now.replace(minute=0, second=0, microsecond=0)
            click.echo(f"  {_local(now)}  {stage.published} posts on the servers so far")
        for path in mailbox.saved[announced:]:
            mail = report.Saved(path, report.read_eml(path))
            kind = "DIGEST" if mail.is_digest else "ALERT "
            subjects.append(mail.subject)
            click.secho(
                f"  {_local(now)}  {kind} email: {mail.subject}", fg="red" if kind == "ALERT " else "cyan"
            )
        announced = len(mailbox.saved)
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()
        code = process.wait()
    reader.join(5)
    log.close()
    for line in errors:
        click.echo("  " + line)
    click.echo(f"(the story reached {_local(clock())}; SIGTERM stopped the daemon with status {code})")
    return code


def _local(moment: datetime) -> str:
    return moment.astimezone(ROME).strftime("%a %H:%M")


def demo(folder: Path, live_seconds: float = LIVE_SECONDS) -> None:
    began = time.perf_counter()
    os.environ.update(DEMO_ENV)
    timeline = Timeline.for_today(datetime.now(ROME).date())
    posts = story(timeline)
    speed = (timeline.end - timeline.live_from).total_seconds() / live_seconds
    clock = Clock(timeline.live_from, speed)
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
        digest = f"Daily digest {timeline.crisis.isoformat()}"
        _live(config, clock, stage, mailbox, timeline.end, deadline=live_seconds * 3 + 30, awaited=digest)
        end = clock()
        use_clock(lambda: end)
        _heading(f"{_local(end)}: one last collection scores what came in as the daemon stopped")
        _run("--config", str(config), "collect")
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
    report.closing_report(folder, folder / "demo.db", mail, ROME, time.perf_counter() - began, TROLL)
    click.echo(f"Try: listener --config {config} search 'rimborso'")


def _day(day: date) -> str:
    return day.strftime("%a %d %b")


def bench(count: int, folder: Path) -> None:
    """Collection rate through the local servers into SQLite: tweepy and praw over HTTP, then save_page."""
    from collectors import reddit as reddit_collector
    from collectors import x as x_collector
    from collectors.base import Watch
    from listener.collect import collect
    from listener.demo.redditserver import RedditServer
    from listener.demo.xserver import XServer
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
