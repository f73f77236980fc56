"""``listener forget``: an author's erasure request."""

from __future__ import annotations

import click

from listener.cli.app import App

__all__ = ["forget"]


@click.command()
@click.argument("network")
@click.argument("author")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def forget(app: App, network: str, author: str, yes: bool) -> None:
    """Delete everything AUTHOR posted on NETWORK, on their request (privacy law).

    AUTHOR is a handle or an author id. Their mentions, the earlier versions of
    them and their place in searches, counts and the authors table go; alerts
    and digests already sent are not recalled. Nothing else ever deletes data.

    \b
    Example:
        listener forget x some_handle --yes
    """
    from listener.cli.names import UnknownName, check_network

    with app.open_store(sync=False) as store:
        network = check_network(app, store, network) or network
        if not yes:
            click.confirm(f"Delete every mention by {author} on {network}?", abort=True)
        count = store.forget_author(network, author)
    if not count:  # a typo must not read as "done": nothing was deleted
        raise UnknownName(
            f"unknown author {author!r} on {network}: no mention by that handle or author id; "
            f"see 'listener authors --network {network}' or 'listener search author:HANDLE'"
        )
    click.echo(f"Deleted {count} mentions by {author} on {network}.")
