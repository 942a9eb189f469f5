"""What the emulator answers to one request, whatever carries it: Fusion's proxy (Basic, session
cookie, `x-api-key`, bearer token; sessions and tokens as Fusion 5 hands them out) in front of the
model's job endpoints, read with `runner.fusion.routes`. `runner.emulator.server` serves it over
HTTP, `runner.emulator.adapter` in process.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from runner.emulator.model import HANG, EmulatedFusion, Reply, error_body
from runner.emulator.solr import PREFIX as SOLR
from runner.fusion import routes
from runner.fusion.routes import Op


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


@dataclass(frozen=True, slots=True)
class Served:
    """An answer the emulator gives: its status, headers and body."""

    status: int
    headers: dict[str, str]
    body: bytes


class App:
    """What the emulator answers to one request, whatever carries it: Fusion's proxy (the
    credentials, sessions and tokens) in front of the model's job endpoints
    (`runner.fusion.routes`). A `Reply` of 0 (drop the connection) or HANG (no answer) is raised for
    the carrier."""

    def __init__(self, model: EmulatedFusion, access: Access | None = None) -> None:
        self.model = model
        self.access = access or Access()
        self.sessions: dict[str, Session] = {}  # by cookie
        self.tokens: dict[str, float] = {}  # token from /oauth2/token -> when it expires

    def answer(self, method: str, target: str, headers: Any, body: bytes) -> Served:
        url = urlsplit(target)
        call = None
        try:
            if (method, url.path) == ("POST", "/api/session"):
                cookie = self.login(body)
                return Served(201, {"Set-Cookie": f"id={cookie};HttpOnly;Path=/api"}, b"")
            if (method, url.path) == ("POST", "/oauth2/token"):
                return self._json(200, self.token(headers), None)
            self.authorise(headers, url.path)
            if url.path.startswith(SOLR):
                status, answer = self.model.solr.answer(method, url.path, parse_qs(url.query))
                return self._json(status, answer, None)
            segments = routes.api_path(url.path)
            call = routes.parse(method, segments or [])
            if call is None:
                raise Reply(404, error_body(404, f"No endpoint {method} {target}"))
            if call.op is Op.DRIVER_LOG:
                rows = (parse_qs(url.query).get("rows") or ["100"])[0]
                text = self.model.driver_log(call.job, int(rows) if rows.isdigit() else 100)
                return Served(200, {"Content-Type": "text/plain"}, text.encode())
            return self._json(200, self._call(call, parse_qs(url.query), body), call.job)
        except Reply as reply:
            if reply.status in (0, HANG):
                raise
            served = self._json(reply.status, reply.body, call.job if call else None)
            return Served(served.status, {**served.headers, **reply.headers}, served.body)

    def _call(self, call: routes.Call, query: dict[str, list[str]], body: bytes) -> Any:
        model, op, job = self.model, call.op, call.job
        if op is Op.START:
            return model.start(job)
        if op is Op.STATUS:
            return model.status(job)
        if op is Op.VIEW:
            return model.view(job)  # a job's view is its status, with its schedule's next start
        if op is Op.SCHEDULE:
            return model.schedule(job)
        if op is Op.ALL:
            return model.all_runs(job, int((query.get("limit") or ["0"])[0]) or None)
        if op is Op.HISTORY:
            return model.all_runs(job, int((query.get("limit") or ["100"])[0]))
        if op is Op.CANCEL:
            model.cancel(job)
            return None
        if op is Op.CONFIGURATION:
            return model.configuration(job)
        assert op is Op.ACTION
        assert call.resource is not None
        try:
            given = json.loads(body or b"{}")
        except ValueError:
            given = {}
        action = str(given.get("action", "")) if isinstance(given, dict) else ""
        return model.action(job, action, resource=call.resource)

    def _json(self, status: int, body: Any, job: str | None) -> Served:
        if body is None:
            return Served(status, {}, b"")
        return Served(status, {"Content-Type": "application/json"}, self.model.encode(job, body))

    def authorise(self, headers: Any, path: str) -> None:
        """Reply 401 as Fusion's proxy does, unless the request carries valid credentials."""
        if self.access.open:
            return
        if self.access.api_key and headers.get("x-api-key") == self.access.api_key:
            return
        authorization = headers.get("authorization", "")
        if authorization.startswith("Bearer "):
            token = authorization[7:]
            if token == self.access.token or self.tokens.get(token, 0) > self.model.clock():
                return
        if self.access.user and self._basic(authorization):
            return
        cookie = _cookie(headers.get("cookie", ""), "id")
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
        if not self._basic(headers.get("authorization", "")):
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
