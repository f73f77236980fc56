"""``python -m listener.cli``: the same as the ``listener`` console script."""

from listener.cli import main

main()
