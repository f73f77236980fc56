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
    if not yes:
        click.confirm(f"Delete every mention by {author} on {network}?", abort=True)
    with app.open_store(sync=False) as store:
        count = store.forget_author(network, author)
    click.echo(f"Deleted {count} mentions by {author} on {network}.")
