"""The emulator in process: a `Transport` that hands each request to the emulator's `App`, and
the client built on it. Engine tests and benchmarks get the same scripted behaviour as over the
wire, through the client's own decoding, with no socket and no waiting: a request the scenario
makes hang fails at once as a read timeout would."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from http.cookies import SimpleCookie
from urllib.parse import urlsplit

from runner.emulator.app import App
from runner.emulator.model import HANG, EmulatedFusion, Reply
from runner.fusion.budget import Budget
from runner.fusion.client import FusionClient
from runner.fusion.transport import Answer, Failure, TransportError
from runner.plan import Auth, SparkStart
from runner.redact import Redactor


class InProcess:
    """A Transport to an emulator `App` in the same process."""

    def __init__(self, app: App) -> None:
        self.app = app

    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: bytes | None,
        connect_timeout: float,
        read_timeout: float,
        deadline: float,
    ) -> Answer:
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        try:
            given = {name.lower(): value for name, value in headers.items()}  # as HTTP reads them
            served = self.app.answer(method, target, given, body or b"")
        except Reply as reply:
            raise TransportError(
                Failure.READ_TIMEOUT if reply.status == HANG else Failure.DROPPED
            ) from None
        cookies = {}
        if "Set-Cookie" in served.headers:
            parsed = SimpleCookie(served.headers["Set-Cookie"])
            cookies = {name: morsel.value for name, morsel in parsed.items()}
        return Answer(
            status=served.status,
            reason=HTTPStatus(served.status).phrase,
            headers={name.lower(): value for name, value in served.headers.items()},
            chunks=(served.body,),
            cookies=cookies,
        )


class ModelFusion(FusionClient):
    """A client of `model` served in process, with no credentials (`redact`, if given, masks
    the secrets a test makes Fusion echo): what an engine test or a benchmark talks to."""

    def __init__(
        self,
        model: EmulatedFusion,
        url: str = "http://emulated",
        *,
        spark_start: SparkStart = SparkStart.SPARK_API,
        redact: Redactor | None = None,
        budget: Budget | None = None,
        hooks: Hooks | None = None,
    ) -> None:
        super().__init__(
            url=url,
            api="/api",
            auth=Auth.NONE,
            environ={},
            transport=InProcess(App(model)),
            spark_start=spark_start,
            monotonic=model.clock,
            redact=redact,
            budget=budget,
            hooks=hooks or Hooks(),
        )
        self.model = model


class Hooks:
    """A Transport for webhooks in a rehearsal: each post is kept (`posts`: its host, headers
    and body) and answered 200 {"ok": true}; nothing leaves the machine."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, str], bytes]] = []

    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: bytes | None,
        connect_timeout: float,
        read_timeout: float,
        deadline: float,
    ) -> Answer:
        self.posts.append((urlsplit(url).hostname or "", dict(headers), body or b""))
        return Answer(
            status=200,
            reason="OK",
            headers={"content-type": "application/json"},
            chunks=(b'{"ok": true}',),
        )
