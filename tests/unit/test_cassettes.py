"""No cassette may hold a credential: the known test values, their encoded forms, or any header or
field that carries one; nor the port the emulator happened to record on."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
from vcr.request import Request

from tests.helpers.fakes import CREDENTIALS
from tests.helpers.paths import CASSETTES
from tests.helpers.recording import RECORDED_URL, scrub_request, scrub_response

_PAIR = f"{CREDENTIALS['FUSION_USER']}:{CREDENTIALS['FUSION_PASSWORD']}".encode()
KNOWN = [
    *(value for name, value in CREDENTIALS.items() if name != "FUSION_USER"),
    base64.b64encode(_PAIR).decode(),
    base64.b64encode(CREDENTIALS["FUSION_PASSWORD"].encode()).decode(),
]
PATTERNS = [
    re.compile(r"^\s*(authorization|x-api-key|cookie):", re.IGNORECASE | re.MULTILINE),
    re.compile(r"(basic|bearer) [A-Za-z0-9+/=._-]{8,}", re.IGNORECASE),
    re.compile(r"\bid=(?!<scrubbed>)[^;\s]+"),
    re.compile(r"password", re.IGNORECASE),
]


def leaks(text: str) -> list[str]:
    found = [f"the value {secret[:4]}…" for secret in KNOWN if secret in text]
    return found + [f"/{p.pattern}/" for p in PATTERNS if p.search(text)]


def cassettes() -> list[Path]:
    return sorted(CASSETTES.rglob("*.yaml"))


def test_there_are_cassettes_to_scan() -> None:
    assert len(cassettes()) >= 20


@pytest.mark.parametrize("cassette", cassettes(), ids=lambda p: str(p.relative_to(CASSETTES)))
def test_no_cassette_holds_a_credential(cassette: Path) -> None:
    assert leaks(cassette.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    "planted",
    [
        "      Authorization:\n      - Basic Zm9vOmJhcg==\n",
        "      x-api-key:\n      - anything\n",
        "      Cookie:\n      - id=abc123\n",
        "      - id=0123456789abcdef; Path=/; HttpOnly\n",
        '    body: \'{"username": "u", "password": "p"}\'\n',
        f"    body: {CREDENTIALS['FUSION_API_KEY']}\n",
        f"    string: {base64.b64encode(_PAIR).decode()}\n",
        "      - Bearer eyJhbGciOiJIUzI1NiJ9\n",
    ],
)
def test_the_scan_finds_a_planted_credential(planted: str) -> None:
    assert leaks(planted) != []


def test_tokens_and_cookies_are_scrubbed_before_they_are_stored() -> None:
    token = {"access_token": "eyJhbGciOi.secret", "token_type": "bearer", "expires_in": 1800}
    response = {
        "headers": {"Set-Cookie": ["id=840a33d4;HttpOnly;Path=/api"], "Date": ["today"]},
        "body": {"string": json.dumps(token).encode()},
    }
    stored = scrub_response(response)
    assert stored["headers"] == {"Set-Cookie": ["id=<scrubbed>;HttpOnly;Path=/api"]}
    assert json.loads(stored["body"]["string"]) == {**token, "access_token": "<scrubbed>"}


def test_every_request_is_stored_and_matched_as_sent_to_one_url() -> None:
    """The emulator records on any free port; a cassette holds RECORDED_URL, and a replay, which
    sends there, matches what was recorded elsewhere."""
    for sent in (
        "http://127.0.0.1:41234/api/spark/jobs/a?x=1",
        f"{RECORDED_URL}/api/spark/jobs/a?x=1",
    ):
        request = scrub_request(Request("GET", sent, None, {}))
        assert request.uri == f"{RECORDED_URL}/api/spark/jobs/a?x=1"
        assert (request.host, request.port) == ("127.0.0.1", 8765)
    elsewhere = scrub_request(Request("GET", "https://fusion.example.com:8764/api", None, {}))
    assert elsewhere.uri == "https://fusion.example.com:8764/api"  # only the emulator's URL


def test_no_cassette_holds_another_url() -> None:
    for cassette in cassettes():
        uris = re.findall(r"^\s*uri: (\S+)$", cassette.read_text(encoding="utf-8"), re.MULTILINE)
        assert uris, cassette
        assert all(uri.startswith(f"{RECORDED_URL}/") for uri in uris), cassette
