"""The client's `call`: a request goes to the plan's Fusion with its credentials, a webhook to
its own host with only what the plan gives; what comes back is masked."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from runner.fusion import ErrorKind, FusionError
from runner.fusion.client import FusionClient
from runner.fusion.transport import Answer, Failure, TransportError
from runner.plan import Auth, Call, CallKind

SECRET = "pa55-w0rd-xyz"


class Capture:
    """A transport that keeps each request and answers as told."""

    def __init__(self, status: int = 200, body: bytes = b'{"ok": true}') -> None:
        self.sent: list[tuple[str, str, dict[str, str], bytes | None]] = []
        self.status, self.body = status, body

    def send(
        self, method: str, url: str, *, headers: Mapping[str, str], body: bytes | None, **_: Any
    ) -> Answer:
        self.sent.append((method, url, dict(headers), body))
        return Answer(
            status=self.status,
            reason="OK",
            headers={"content-type": "application/json", "x-echo": f"user {SECRET}"},
            chunks=(self.body,),
        )


def client(fusion: Capture, hooks: Capture) -> FusionClient:
    return FusionClient(
        url="https://fusion.example.com/",
        auth=Auth.BASIC,
        environ={"FUSION_USER": "admin", "FUSION_PASSWORD": SECRET},
        transport=fusion,
        hooks=hooks,
    )


def test_a_request_goes_to_fusion_url_with_its_credentials_and_its_params_added() -> None:
    fusion, hooks = Capture(), Capture()
    call = Call(
        kind=CallKind.REQUEST,
        method="POST",
        target="/api/solr/admin/collections?async=1",
        params=(("action", "CREATEALIAS"), ("name", "p s")),
        body='{"a": 1}',
    )
    answer = client(fusion, hooks).call(call)
    ((method, url, headers, body),) = fusion.sent
    assert (method, url) == (
        "POST",
        "https://fusion.example.com/api/solr/admin/collections?async=1&action=CREATEALIAS&name=p+s",
    )
    assert headers["Authorization"].startswith("Basic ")
    assert (headers["Content-Type"], body) == ("application/json", b'{"a": 1}')
    assert (answer.status, answer.body) == (200, {"ok": True})
    assert not hooks.sent


def test_a_webhook_goes_to_its_url_with_no_credentials_of_fusion() -> None:
    fusion, hooks = Capture(), Capture()
    call = Call(
        kind=CallKind.WEBHOOK,
        method="POST",
        target="https://hooks.example.com/T0?t=1",
        body='{"text": "failed"}',
        headers=(("X-Team", "search"),),
    )
    answer = client(fusion, hooks).call(call)
    ((method, url, headers, body),) = hooks.sent
    assert (method, url, body) == (
        "POST",
        "https://hooks.example.com/T0?t=1",
        b'{"text": "failed"}',
    )
    assert headers["X-Team"] == "search"
    assert "Authorization" not in headers
    assert SECRET not in json.dumps(headers)
    assert answer.status == 200
    assert not fusion.sent


def test_what_fusion_answers_is_masked_and_text_stays_text() -> None:
    fusion = Capture(status=500, body=f'{{"error": "bad password {SECRET}"}}'.encode())
    answer = client(fusion, Capture()).call(
        Call(kind=CallKind.REQUEST, method="GET", target="/api/x")
    )
    assert answer.status == 500
    assert SECRET not in json.dumps(answer.body)
    assert SECRET not in answer.headers["x-echo"]
    fusion.body = f"plain {SECRET} text".encode()
    text = client(fusion, Capture()).call(
        Call(kind=CallKind.REQUEST, method="GET", target="/api/x")
    )
    assert isinstance(text.body, str)
    assert SECRET not in text.body


def test_refused_credentials_and_a_redirect_are_errors_naming_the_path_without_its_query() -> None:
    for status, kind in ((403, ErrorKind.CREDENTIALS), (302, ErrorKind.OTHER)):
        fusion = Capture(status=status, body=b"")
        call = Call(kind=CallKind.REQUEST, method="GET", target="/api/solr/c/select?q=secret")
        with pytest.raises(FusionError) as raised:
            client(fusion, Capture()).call(call)
        assert raised.value.kind is kind
        assert "q=secret" not in str(raised.value)
        assert str(raised.value).startswith("GET https://fusion.example.com/api/solr/c/select: ")


class Unreachable:
    """A transport that never connects."""

    def send(self, method: str, url: str, **_: Any) -> Answer:
        raise TransportError(Failure.REFUSED, "Connection refused")


def test_a_lost_request_and_the_verbose_log_name_the_path_without_its_query() -> None:
    call = Call(
        kind=CallKind.REQUEST,
        method="GET",
        target="/api/solr/c/select?q=secret",
        params=(("fq", "hidden"),),
    )
    logged: list[str] = []
    lost = FusionClient(
        url="https://fusion.example.com/",
        auth=Auth.NONE,
        environ={},
        transport=Unreachable(),
        log=logged.append,
    )
    with pytest.raises(FusionError) as raised:
        lost.call(call)
    assert str(raised.value) == (
        "GET https://fusion.example.com/api/solr/c/select: cannot connect (Connection refused)"
    )
    answered = FusionClient(
        url="https://fusion.example.com/",
        auth=Auth.NONE,
        environ={},
        transport=Capture(),
        log=logged.append,
    )
    answered.call(call)
    assert [line.rsplit(" (", 1)[0] for line in logged] == [
        "GET https://fusion.example.com/api/solr/c/select: cannot connect (Connection refused)",
        "GET https://fusion.example.com/api/solr/c/select: 200 OK",
    ]
