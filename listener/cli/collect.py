"""``listener collect``: one pass over the configured networks, with a progress bar and a summary.

The collectors (tweepy, praw...) are imported when this command runs, not before.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from listener.cli.app import EXIT_ERROR, EXIT_PARTIAL, App
from listener.cli.names import UnknownName, resolve
from listener.output import output_options, render
from listener.records import utcnow

if TYPE_CHECKING:
    from listener.collect import Outcome, Pass, Source
    from listener.config import Config
    from listener.cycle import CycleReport
    from listener.fleet import Holding, Leases
    from storage.interfaces import ListenerStore

__all__ = ["COLUMNS", "collect"]

COLUMNS = ["network", "watch", "fetched", "new", "duplicates", "rejected", "error", "seconds"]


@click.command()
@click.option("--network", help="Only this network (a [networks.<name>] section of the config).")
@click.option("--watch", help="Only this watch, or feed such as @account or r/subreddit/comments.")
@click.option("--no-alerts", is_flag=True, help="Only collect: skip scoring, alert evaluation and delivery.")
@output_options
@click.pass_obj
def collect(app: App, network: str | None, watch: str | None, no_alerts: bool, fmt: str) -> None:
    """Collect new mentions once from every configured network and watch.

    Each page is stored with its cursor in one transaction; a source that fails
    is recorded in 'listener status' and the others go on. Exit status 3 means
    some sources failed, 1 that all did.

    \b
    Example:
        listener collect
        listener collect --network reddit --watch brand
    """
    from listener.collect import Pass
    from listener.fleet import Leases, holder_id, lease_store, lease_ttl

    config = app.load_config()
    enabled = config.enabled_networks()
    if not enabled:
        raise click.ClickException("no network is enabled: add a [networks.<name>] section to the config")
    network = _enabled(network, enabled)
    with app.open_store() as store:
        leases = Leases(lease_store(store), holder_id(), lease_ttl(config.postgres or config.database))
        held: list[Holding] = []  # the source being collected: its lease is renewed between pages
        run = Pass(
            store, config.networks, config.watches, env=dict(os.environ), watch_networks=config.watch_networks,
            should_stop=lambda: bool(held) and not held[0].keep(),
        )  # fmt: skip
        sources = run.sources(network)
        if watch is not None:
            watch = resolve("watch", watch, {s.name for s in sources})
            sources = [s for s in sources if s.name == watch]
        outcomes = []
        with click.progressbar(
            sources,
            label="Collecting",
            file=sys.stderr,
            item_show_func=lambda s: f"{s.network} {s.name}" if s is not None else None,
        ) as bar:
            for source in bar:
                outcomes.append(_collect_held(run, source, leases, held))
        cycle = None if no_alerts else _cycle_held(store, config, leases)
    _report(outcomes, cycle, fmt)
    code = _exit_status(outcomes, cycle)
    if code:
        sys.exit(code)


def _collect_held(run: Pass, source: Source, leases: Leases, held: list[Holding]) -> Outcome:
    """One source under its lease: beside a fleet of daemons (PostgreSQL), one collector at a time."""
    from listener.collect import Outcome
    from listener.fleet import source_job

    job = source_job(source.network, source.name)
    with leases.hold(job) as holding:
        if holding is None:
            note = f"{job}: a daemon is collecting it now; skipped (it stores what this would)"
            return Outcome(source.network, source.name, error="held", message=note, skipped=True)
        held[:] = [holding]
        try:
            return run.run(source)
        finally:
            held.clear()


def _cycle_held(store: ListenerStore, config: Config, leases: Leases) -> CycleReport | None:
    """The alert pass, unless a daemon of the fleet is running it now (it covers these mentions)."""
    from listener.cycle import after_collect

    with leases.hold("cycle") as holding:
        if holding is None:
            click.echo("alerts: a daemon is running the alert pass now; skipped here", err=True)
            return None
        return after_collect(store, config, os.environ, utcnow())


def _enabled(network: str | None, enabled: list[str]) -> str | None:
    """``--network`` as an enabled network (an alias mended); a known but disabled one says so."""
    if network is None:
        return None
    try:
        return resolve("network", network, enabled)
    except UnknownName:
        import collectors
        from listener.config import _NETWORK_ALIASES

        network = _NETWORK_ALIASES.get(network.lower(), network.lower())
        if network not in collectors.REGISTRY:
            raise
        raise UnknownName(
            f"{network!r} is not an enabled network; add a [networks.{network}] section to the config "
            f"(enabled: {', '.join(enabled)})"
        ) from None


def _report(outcomes: Sequence[Outcome], cycle: CycleReport | None, fmt: str) -> None:
    """The summary table on stdout; each source's error or note, and the alert pass, on stderr."""
    rows = [
        (o.network, o.source, o.fetched, o.new, o.duplicates, o.rejected,
         ("waiting" if o.skipped else o.error) or "", round(o.seconds, 2))
        for o in outcomes
    ]  # fmt: skip
    render(COLUMNS, rows, fmt)
    for outcome in outcomes:
        if outcome.message:
            click.secho(("Note: " if outcome.skipped else "Error: ") + outcome.message, fg="yellow", err=True)
    if cycle is not None:
        click.echo(f"After collecting: {cycle.line()}", err=True)
        for error in cycle.errors:
            click.secho(f"Error: {error} (queued; retried on the next run)", fg="yellow", err=True)


def _exit_status(outcomes: Sequence[Outcome], cycle: CycleReport | None) -> int:
    """1 when every source failed, 3 when some did or the alert pass did; a source still waiting is no failure."""
    failed = [o for o in outcomes if o.error and not o.skipped]
    if failed:
        return EXIT_ERROR if len(failed) == len(outcomes) else EXIT_PARTIAL
    return EXIT_PARTIAL if cycle is not None and cycle.failed else 0
