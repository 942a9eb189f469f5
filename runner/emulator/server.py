"""The emulator's `App` served over HTTP on 127.0.0.1, in a background thread.

Routes Fusion's Spark jobs API and Jobs API under `/api`, `/api/apollo` and `/api/apps/<app>`,
checks credentials as Fusion's proxy would (`runner.emulator.app`), and drops the connection
where a scenario says `reset` or `lost`.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from runner.emulator.app import Access, App, Session
from runner.emulator.model import HANG, HANG_SECONDS, EmulatedFusion, Reply

__all__ = ["Access", "App", "Emulator"]


class Emulator:
    """Serves an EmulatedFusion on 127.0.0.1 in a background thread; a context manager."""

    def __init__(
        self,
        model: EmulatedFusion | None = None,
        *,
        port: int = 0,
        access: Access | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.app = App(model or EmulatedFusion(), access or Access())
        self.model = self.app.model
        self.log = log
        self.hung = threading.Event()  # set when the emulator stops: hanging requests end
        self.server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def access(self) -> Access:
        return self.app.access

    @access.setter
    def access(self, access: Access) -> None:
        self.app.access = access

    @property
    def sessions(self) -> dict[str, Session]:
        return self.app.sessions

    @property
    def tokens(self) -> dict[str, float]:
        return self.app.tokens

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> Emulator:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.hung.set()
        self.server.shutdown()
        self.server.server_close()


def _handler(emulator: Emulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "fusion-emulator"
        # Headers and body go out as two writes; with Nagle's algorithm on, the second waits for
        # the client's delayed ACK, adding 40 ms to every request on a kept-alive connection.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            if emulator.log:
                emulator.log(f"{self.command} {self.path} -> {args[1] if len(args) > 1 else ''}")

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def do_DELETE(self) -> None:
            self._serve()

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            try:
                served = emulator.app.answer(self.command, self.path, self.headers, body)
            except Reply as reply:
                if reply.status == HANG:
                    emulator.hung.wait(HANG_SECONDS)  # until the emulator stops
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.send_response(served.status)
            for name, value in served.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(served.body)))
            self.end_headers()
            self.wfile.write(served.body)

    return Handler
