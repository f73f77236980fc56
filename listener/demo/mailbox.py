"""A local SMTP server for the demo: every message it accepts is saved as an ``.eml`` file.

aiosmtpd runs in a thread of its own on 127.0.0.1; listener sends to it with its
real ``[email]`` code (``security = "none"``), so what lands in the folder is
exactly what a mail server would have received. Open a file with any mail client.
"""

from __future__ import annotations

import re
import socket
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Self

__all__ = ["Mailbox", "is_digest", "read_eml", "saved_messages"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def read_eml(path: Path) -> EmailMessage:
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def saved_messages(folder: Path) -> list[EmailMessage]:
    """The messages a ``Mailbox`` saved in ``folder``, in the order they arrived."""
    return [read_eml(path) for path in sorted(folder.glob("*.eml"))]


def is_digest(message: EmailMessage) -> bool:
    """The digest carries its chart as an image; alerts carry none."""
    return any(part.get_content_type() == "image/png" for part in message.walk())


class Mailbox:
    """An SMTP server on 127.0.0.1 that writes each message to ``folder/NNN-subject.eml``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.saved: list[Path] = []
        self.port = 0
        self._lock = threading.Lock()
        self._controller: Any = None

    # aiosmtpd calls this (in its own thread) for every message.
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode()
        subject = str(message_from_bytes(content, policy=policy.default)["Subject"] or "message")
        slug = re.sub(r"\W+", "-", subject.removeprefix("[listener]").lower()).strip("-")[:50]
        with self._lock:
            path = self.folder / f"{len(self.saved) + 1:03d}-{slug or 'message'}.eml"
            path.write_bytes(content)
            self.saved.append(path)
        return "250 OK: saved"

    def start(self) -> Self:
        try:
            from aiosmtpd.controller import Controller
        except ImportError:
            raise SystemExit(
                "The demo's mail server needs aiosmtpd: pip install 'aiosmtpd>=1.4,<2'"
            ) from None
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = _free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
