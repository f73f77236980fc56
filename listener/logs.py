"""Logging to stderr: readable lines for people, one JSON object per line with ``--log-json``.

Log messages carry text from outside (server errors, post text): both formats show
its control characters inert, so a log line cannot retitle the terminal, write to
its clipboard, or forge another line.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

from listener.output import inert, inert_json

__all__ = ["setup_logging"]


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return inert_json(entry)


class TextFormatter(logging.Formatter):
    """``12:00:00 INFO    message``: the message on one line, a traceback on its own lines."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return inert(super().formatMessage(record), one_line=True)

    def formatException(self, ei: Any) -> str:
        return inert(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return inert(super().formatStack(stack_info))


def setup_logging(json_lines: bool = False, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter()
        if json_lines
        else TextFormatter("%(asctime)s %(levelname)-7s %(message)s", "%H:%M:%S")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Libraries that log every request at INFO: one line per source and run is ours to write.
    for name in ("apscheduler", "httpx", "httpcore", "googleapiclient.discovery", "mastodon"):
        logging.getLogger(name).setLevel(logging.WARNING)
