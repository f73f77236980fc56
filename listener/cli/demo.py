"""``listener demo``: the offline demo (``listener.demo``) behind a verb."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

__all__ = ["demo"]


@click.command()
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the demo's config, database and emails [default: a new temporary folder].")  # fmt: skip
def demo(folder: Path | None) -> None:
    """Run the offline demo: every network on local servers, a crisis, its alerts and digest.

    No key and no internet needed; it takes under a minute and leaves the
    database, the config and every email in the folder.

    \b
    Example:
        listener demo --dir ~/listener-demo
    """
    from listener.demo.__main__ import demo as run_demo

    target = folder or Path(tempfile.mkdtemp(prefix="listener-demo-"))
    target.mkdir(parents=True, exist_ok=True)
    run_demo(target)
