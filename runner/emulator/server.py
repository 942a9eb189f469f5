"""The emulator's model served over HTTP on 127.0.0.1, in a background thread.

Routes Fusion's Spark jobs API and Jobs API under `/api`, `/api/apollo` and `/api/apps/<app>`,
checks credentials as Fusion's proxy would (Basic, session cookie, `x-api-key`, bearer token), and
drops the connection where a scenario says `reset` or `lost`.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from runner.emulator.model import HANG, HANG_SECONDS, EmulatedFusion, Reply, error_body, key_of


@dataclass(frozen=True)
class Access:
    """Who may call: nobody to check when all are None."""

    user: str | None = None
    password: str | None = None
    api_key: str | None = None
    token: str | None = None

    @property
    def open(self) -> bool:
        return not (self.user or self.api_key or self.token)


class Emulator:
    """Serves an EmulatedFusion on 127.0.0.1 in a background thread; a context manager."""

    def __init__(
        self,
        model: EmulatedFusion | None = None,
        *,
        port: int = 0,
        access: Access = Access(),
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.model = model or EmulatedFusion()
        self.access = access
        self.log = log
        self.hung = threading.Event()  # set when the emulator stops: hanging requests end
        self.sessions: dict[str, Session] = {}  # by cookie
        self.tokens: dict[str, float] = {}  # token from /oauth2/token -> when it expires
        self.server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

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

    def authorise(self, headers: Any, path: str) -> None:
        """Reply 401 as Fusion's proxy does, unless the request carries valid credentials."""
        if self.access.open:
            return
        if self.access.api_key and headers.get("x-api-key") == self.access.api_key:
            return
        authorization = headers.get("Authorization", "")
        if authorization.startswith("Bearer "):
            token = authorization[7:]
            if token == self.access.token or self.tokens.get(token, 0) > self.model.clock():
                return
        if self.access.user and self._basic(authorization):
            return
        cookie = _cookie(headers.get("Cookie", ""), "id")
        if cookie in self.sessions and self._session_lives(cookie):
            return
        if cookie in self.idle:
            raise Reply(401, {"code": "session-idle-timeout", "message": "Session idle timeout"})
        raise Reply(401, unauthorized(path, self.model))

    def _basic(self, authorization: str) -> bool:
        if not authorization.startswith("Basic "):
            return False
        try:
            pair = base64.b64decode(authorization[6:], validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        return pair == f"{self.access.user}:{self.access.password}"

    @property
    def idle(self) -> set[str]:
        return {cookie for cookie, session in self.sessions.items() if session.idle}

    def _session_lives(self, cookie: str) -> bool:
        session, now = self.sessions[cookie], self.model.clock()
        session.requests += 1
        limit = self.model.scenario.session_expires_after
        timeout = self.model.variant.session_idle_timeout
        if limit is not None and session.requests > limit:
            del self.sessions[cookie]
            return False
        if timeout is not None and now - session.used > timeout:
            session.idle = True
            return False
        session.used = now
        return True

    def login(self, body: bytes) -> str:
        try:
            given = json.loads(body or b"{}")
        except ValueError:
            given = {}
        if not isinstance(given, dict) or (given.get("username"), given.get("password")) != (
            self.access.user,
            self.access.password,
        ):
            raise Reply(401, unauthorized("/api/session", self.model))
        cookie = secrets.token_hex(16)
        self.sessions[cookie] = Session(used=self.model.clock())
        return cookie

    def token(self, headers: Any) -> dict[str, Any]:
        """POST /oauth2/token with Basic credentials: a token, and how long it lasts."""
        if not self._basic(headers.get("Authorization", "")):
            raise Reply(401, unauthorized("/oauth2/token", self.model))
        token = secrets.token_urlsafe(24)
        lifetime = self.model.variant.token_lifetime
        self.tokens[token] = self.model.clock() + lifetime
        return {"access_token": token, "token_type": "bearer", "expires_in": round(lifetime)}


@dataclass
class Session:
    used: float  # model clock time of its last request
    requests: int = 0
    idle: bool = False  # refused for idling: Fusion 4 says so


def unauthorized(path: str, model: EmulatedFusion) -> dict[str, Any]:
    """Fusion 5's proxy refusing a request (the API keys page's example), stamped with the
    model's time, so that recordings are the same each time."""
    wall = datetime.fromtimestamp(model.render.epoch + model.clock(), UTC)
    stamp = wall.isoformat(timespec="microseconds").removesuffix("+00:00")
    return {"service": "proxy", "error": "unauthorized", "path": path, "timestamp": stamp}


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


def _api_path(path: str) -> list[str] | None:
    """The raw segments after /api, /api/apollo or /api/apps/{app}; None for other paths."""
    parts = path.split("/")[1:]
    if parts[:1] != ["api"]:
        return None
    rest = parts[1:]
    if rest[:1] == ["apollo"]:
        return rest[1:]
    if rest[:1] == ["apps"] and len(rest) >= 2:
        return rest[2:]
    return rest


def _handler(emulator: Emulator) -> type[BaseHTTPRequestHandler]:
    model = emulator.model

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
            job: str | None = None
            try:
                url = urlsplit(self.path)
                if (self.command, url.path) == ("POST", "/api/session"):
                    cookie = emulator.login(body)
                    self._send(201, None, {"Set-Cookie": f"id={cookie};HttpOnly;Path=/api"})
                    return
                if (self.command, url.path) == ("POST", "/oauth2/token"):
                    self._send(200, emulator.token(self.headers), {})
                    return
                emulator.authorise(self.headers, url.path)
                segments = _api_path(url.path)
                job, answer = self._route(segments or [], parse_qs(url.query), body)
                self._send(200, answer, {}, job)
            except Reply as reply:
                if reply.status == HANG:
                    emulator.hung.wait(HANG_SECONDS)  # until the emulator stops
                if reply.status in (0, HANG):
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self._send(reply.status, reply.body, reply.headers, job)

        def _jobs_api(
            self, job: str, rest: list[str], query: dict[str, list[str]], body: bytes
        ) -> tuple[str | None, Any]:
            """Fusion's Jobs API: a job's view, actions and history (Spark jobs: actions)."""
            method, resource = self.command, self.path.split("/jobs/", 1)[1].split("/")[0]
            if not rest and method == "GET":
                return job, model.status(job)  # the view is the job's status
            if rest == ["history"] and method == "GET":
                return job, model.all_runs(job, int((query.get("limit") or ["100"])[0]))
            if rest == ["actions"] and method == "POST":
                action = str(json.loads(body or b"{}").get("action", ""))
                return job, model.action(job, action, resource=unquote(resource))
            raise Reply(404, error_body(404, f"No endpoint {method} {self.path}"))

        def _route(
            self, segments: list[str], query: dict[str, list[str]], body: bytes
        ) -> tuple[str | None, Any]:
            method = self.command
            if len(segments) in (3, 4) and segments[:2] == ["spark", "jobs"]:
                job = unquote(segments[2])
                if len(segments) == 4 and segments[3] == "all" and method == "GET":
                    return job, model.all_runs(job)
                if len(segments) == 3 and method == "POST":
                    return job, model.start(job)
                if len(segments) == 3 and method == "GET":
                    return job, model.status(job)
                if len(segments) == 3 and method == "DELETE":
                    model.cancel(job)
                    return job, None
            if (
                len(segments) == 3
                and segments[:2] == ["spark", "configurations"]
                and method == "GET"
            ):
                job = unquote(segments[2])
                return job, model.configuration(job)
            if len(segments) in (2, 3) and segments[0] == "jobs":
                return self._jobs_api(key_of(unquote(segments[1])), segments[2:], query, body)
            raise Reply(404, error_body(404, f"No endpoint {method} {self.path}"))

        def _send(
            self, status: int, body: Any, headers: dict[str, str], job: str | None = None
        ) -> None:
            data = b"" if body is None else model.encode(job, body)
            self.send_response(status)
            if body is not None:
                self.send_header("Content-Type", "application/json")
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler
