"""A small HTTP server on 127.0.0.1 with scripted faults: the base of the X and Reddit fakes.

The real client libraries talk to it over a real socket, so what is tested is
the whole path (tweepy's or praw's request, our choke point, the store), not a
mock of our own code. Faults are queued with ``inject``; each one applies to the
next matching request(s) and is then used up.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, Self
from urllib.parse import parse_qs, urlsplit

from listener.records import utcnow

__all__ = ["Fault", "FaultKind", "Reply", "Request", "WireServer"]

FaultKind = Literal["429", "401", "403", "500", "503", "slow", "drop", "malformed-json", "malformed-item"]


@dataclass
class Fault:
    """Answer the next ``times`` requests whose path starts with ``path`` badly.

    ``seconds`` is the delay for ``slow`` and the time to the reset for ``429``;
    ``skip`` lets that many matching requests through first (a fault mid-pagination).
    """

    kind: FaultKind
    times: int = 1
    path: str = "/"
    seconds: float = 900.0
    skip: int = 0


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    params: Mapping[str, str]
    headers: Mapping[str, str]
    body: str


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # JSON-able, or bytes sent as they are
    headers: dict[str, str] = field(default_factory=dict)  # a Content-Type here replaces the JSON one


class WireServer:
    """A threaded server in the background; subclasses implement ``route`` and the fault bodies."""

    def __init__(self, clock: Callable[[], datetime] = utcnow) -> None:
        self.clock = clock
        self.faults: list[Fault] = []
        self.requests: list[Request] = []
        self.lock = threading.RLock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle ----------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._httpd is not None, "start the server first"
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.02,), name=type(self).__name__, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- faults --------------------------------------------------------------

    def inject(
        self, kind: FaultKind, times: int = 1, path: str = "/", seconds: float = 900.0, skip: int = 0
    ) -> None:
        with self.lock:
            self.faults.append(Fault(kind, times, path, seconds, skip))

    def _take_fault(self, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.times > 0 and path.startswith(fault.path):
                    if fault.skip > 0:
                        fault.skip -= 1
                        return None
                    fault.times -= 1
                    return fault
        return None

    def dispatch(self, request: Request) -> Reply | None:
        """The reply to send, or ``None`` to drop the connection."""
        with self.lock:
            self.requests.append(request)
        fault = self._take_fault(request.path)
        if fault is not None and fault.kind == "drop":
            return None
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.seconds)
        if fault is not None and fault.kind in ("429", "401", "403", "500", "503"):
            return self.error_reply(int(fault.kind), fault)
        with self.lock:
            reply = self.route(request)
        if fault is not None and fault.kind == "malformed-item" and reply.status == 200:
            self.corrupt(reply.body)
        if fault is not None and fault.kind == "malformed-json":
            whole = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
            reply.body = whole[: len(whole) // 2]  # a cut-off body, as from a dropped proxy
        return reply

    # -- for subclasses ------------------------------------------------------

    def route(self, request: Request) -> Reply:
        raise NotImplementedError

    def error_reply(self, status: int, fault: Fault) -> Reply:
        return Reply(status, {"error": status})

    def corrupt(self, body: Any) -> None:
        """Break one item of a successful page, as a real API sometimes does."""


def _handler(server: WireServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes: without this each reply waits ~40 ms for a delayed ACK.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test and demo output clean

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
            params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            request = Request(self.command, parts.path, params, dict(self.headers.items()), body)
            reply = server.dispatch(request)
            if reply is None:
                self.close_connection = True
                self.connection.close()
                return
            payload = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
            self.send_response(reply.status)
            if not any(name.lower() == "content-type" for name in reply.headers):
                self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            if self.close_connection:  # the client asked for it: say so, or it reuses a closed socket
                self.send_header("Connection", "close")
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = _serve
        do_POST = _serve

    return Handler
