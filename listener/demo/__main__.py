"""The offline demo: ``python -m listener.demo --dir DIR``.

Starts the local X and Reddit servers with the scripted Caffè Aurora
conversation, writes a config pointing at them, and runs the real commands:
``listener collect``, ``listener status`` and two ``listener sql`` queries. The
credentials are the demo servers' own, set for this process only.
``--bench N`` instead measures collection speed over N synthetic posts per network.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import click

from listener.demo import script
from listener.demo.redditserver import RedditServer
from listener.demo.xserver import XServer
from listener.records import utcnow

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
    "WHERE w.name = 'complaints' ORDER BY m.created_at",
]


def write_config(folder: Path, x_url: str, reddit_url: str) -> Path:
    path = folder / "listener.toml"
    path.write_text(
        f"""# Written by the demo: the networks point at local servers that stop when it ends.
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
retry_backoff_seconds = 0.2

[networks.reddit]
oauth_url = "{reddit_url}"
reddit_url = "{reddit_url}"
stream_subreddits = ["italy", "Coffee"]
username = "{script.REDDIT_ACCOUNT}"
password_env = "REDDIT_PASSWORD"
retry_backoff_seconds = 0.2
""",
        encoding="utf-8",
    )
    return path


def _run(*args: str) -> None:
    from listener.cli import cli

    click.secho("$ " + shlex.join(["listener", *args]), bold=True)
    try:
        cli.main(list(args), prog_name="listener", standalone_mode=False)
    except SystemExit as exc:  # collect exits 3 when some source failed: show the rest anyway
        if exc.code not in (0, None):
            click.secho(f"(exit status {exc.code})", fg="yellow")
    click.echo()


def demo(folder: Path) -> None:
    from listener.cli import cli
    from listener.collect_cli import collect

    if "collect" not in cli.commands:  # until the main CLI registers it
        cli.add_command(collect)
    os.environ.update(DEMO_ENV)
    start = utcnow() - timedelta(hours=48)
    with XServer(token=DEMO_ENV["X_BEARER_TOKEN"]) as x, RedditServer(
        DEMO_ENV["REDDIT_CLIENT_ID"], DEMO_ENV["REDDIT_CLIENT_SECRET"],
        username=script.REDDIT_ACCOUNT, password=DEMO_ENV["REDDIT_PASSWORD"],
    ) as reddit:  # fmt: skip
        items = script.load(x, reddit, start)
        config = write_config(folder, x.url, reddit.url)
        click.echo(
            f"Demo servers: X at {x.url}, Reddit at {reddit.url}; {items} scripted posts and comments.\n"
        )
        _run("--config", str(config), "collect")
        click.echo("Collecting again finds nothing new: each source resumes from its cursor.\n")
        _run("--config", str(config), "collect")
    _run("--config", str(config), "status")
    for query in QUERIES:
        _run("--config", str(config), "sql", query)
    click.echo(
        f"The demo database is {folder / 'demo.db'}; try: listener --config {config} search 'rimborso'"
    )


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
        "--dir", type=Path, help="folder for the config and database [default: a new temp folder]"
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
