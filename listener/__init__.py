"""listener: a self-hosted social listening and mention monitor."""

__version__ = "0.1.0"
