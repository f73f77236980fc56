"""``listener rescore``: sentiment again, with the current model."""

from __future__ import annotations

import sys

import click

from listener.cli.app import App

__all__ = ["rescore"]


@click.command()
@click.option(
    "--backend", default="default", show_default=True, help="default, vader, or a transformers model folder."
)
@click.pass_obj
def rescore(app: App, backend: str) -> None:
    """Score sentiment again with the current model, in batches, with a progress bar.

    Mentions already scored by this model version are skipped, so an interrupted
    rescore picks up where it stopped.

    \b
    Example:
        listener rescore
        listener rescore --backend vader
    """
    from listener.scoring import rescore as run_rescore
    from listener.sentiment.backends import load_backend

    model = load_backend(backend)
    with app.open_store() as store:
        total = store.count_scored_by_other(model.version)
        with click.progressbar(length=total, label=f"Scoring with {model.version}", file=sys.stderr) as bar:
            done = run_rescore(store, model, progress=bar.update)
    click.echo(f"Rescored {done} mentions with {model.version}.")
