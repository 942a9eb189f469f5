"""Recording cassettes from the emulator: the one URL cassettes hold, and what is scrubbed from
each interaction so that no credential is ever stored."""

from __future__ import annotations

import json
import re
from typing import Any

from vcr.serializers import yamlserializer

from runner.emulator.server import Access
from tests.helpers.fakes import CREDENTIALS

# The emulator records on any free port; every request is stored, and matched, as if sent here.
# Host and port are part of what requests match on: replay sends them here, where nothing listens.
RECORDED_URL = "http://127.0.0.1:8765"
_EMULATOR = re.compile(r"^http://127\.0\.0\.1:\d+(?=/|$)")
SCRUBBED = "<scrubbed>"


def scrub_request(request: Any) -> Any:
    """Runs on recorded and on incoming requests alike, so rewritten URLs and scrubbed bodies
    still match: the emulator's URL, whatever its port, becomes RECORDED_URL."""
    request.uri = _EMULATOR.sub(RECORDED_URL, request.uri)
    if request.path.endswith("/api/session") and request.body:
        request.body = SCRUBBED.encode()
    return request


def scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    """No session cookie, token or date is stored: cookies and tokens are credentials."""
    headers = {}
    for name, values in response["headers"].items():
        if name.lower() in {"date", "server"}:
            continue
        scrubbed = [f"id={SCRUBBED};HttpOnly;Path=/api" for _ in values]
        headers[name] = scrubbed if name.lower() == "set-cookie" else values
    response["headers"] = headers
    body = response.get("body", {}).get("string", b"")
    if isinstance(body, bytes) and b'"access_token"' in body:
        token = json.loads(body)
        response["body"]["string"] = json.dumps({**token, "access_token": SCRUBBED}).encode()
    return response


class SortedYaml:
    """Interactions sorted by request on save, so re-recordings give identical files.

    Playback depends only on the relative order of identical requests, which a stable sort keeps.
    """

    @staticmethod
    def serialize(data: dict[str, Any]) -> str:
        def key(item: dict[str, Any]) -> tuple[str, str, str]:
            request = item["request"]
            return (request["uri"], request["method"], str(request["body"]))

        interactions = sorted(data["interactions"], key=key)
        return str(yamlserializer.serialize({**data, "interactions": interactions}))

    @staticmethod
    def deserialize(text: str) -> Any:
        return yamlserializer.deserialize(text)


def full_access() -> Access:
    """An emulator that accepts each of the test credentials, and nothing else."""
    return Access(
        user=CREDENTIALS["FUSION_USER"],
        password=CREDENTIALS["FUSION_PASSWORD"],
        api_key=CREDENTIALS["FUSION_API_KEY"],
        token=CREDENTIALS["FUSION_TOKEN"],
    )
