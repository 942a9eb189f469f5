"""A Spark run's driver log: its route, read back by `routes.parse`, and the client asking by
the run's id, then by the job configuration's, decoding, cutting and masking what it keeps."""

from __future__ import annotations

import base64
from collections.abc import Mapping

import pytest

from runner.fusion import DriverLog, ErrorKind, FusionError, routes
from runner.fusion.client import FusionClient
from runner.fusion.routes import Call, Op
from runner.fusion.transport import Answer
from runner.plan import Auth
from tests.helpers.fakes import CREDENTIALS

URL = "https://fusion.example.com/api/spark/driver/log"


class Scripted:
    """A Transport that answers each request with the next of `answers`, and keeps what was
    sent."""

    def __init__(self, *answers: tuple[int, bytes]) -> None:
        self.answers = list(answers)
        self.sent: list[tuple[str, str, Mapping[str, str]]] = []

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
        self.sent.append((method, url, headers))
        status, data = self.answers.pop(0)
        return Answer(status=status, reason="Reason", headers={}, chunks=(data,))


def client(transport: Scripted) -> FusionClient:
    return FusionClient(
        url="https://fusion.example.com", auth=Auth.BASIC, environ=CREDENTIALS, transport=transport
    )


def urls(transport: Scripted) -> list[str]:
    return [url for _, url, _ in transport.sent]


def test_the_route_names_one_id_as_one_segment_and_parses_back() -> None:
    assert routes.driver_log("run 1/..", 50) == ("GET", "/spark/driver/log/run%201%2F..?rows=50")
    segments = ["spark", "driver", "log", "run%201%2F.."]
    assert routes.parse("GET", segments) == Call(Op.DRIVER_LOG, "run 1/..")
    assert routes.parse("DELETE", segments) is None
    assert routes.parse("GET", segments[:3]) is None


def test_the_log_is_asked_by_the_run_id_first_as_text() -> None:
    transport = Scripted((200, b"INFO start\nERROR boom\n"))
    log = client(transport).driver_log("train", "r1", 50)
    assert log == DriverLog(lines=("INFO start", "ERROR boom"), by_run=True)
    assert urls(transport) == [f"{URL}/r1?rows=50"]
    assert transport.sent[0][2]["Accept"] == "text/plain"


def test_a_404_by_the_run_id_asks_by_the_configuration_id() -> None:
    transport = Scripted((404, b'{"message": "no pod"}'), (200, b"ERROR boom"))
    assert client(transport).driver_log("spark:train", "r1", 50) == DriverLog(
        lines=("ERROR boom",), by_run=False
    )
    assert urls(transport) == [f"{URL}/r1?rows=50", f"{URL}/train?rows=50"]


def test_with_no_run_id_the_configuration_id_is_asked_once() -> None:
    transport = Scripted((200, b"ERROR boom"))
    assert not client(transport).driver_log("train", None, 50).by_run
    assert urls(transport) == [f"{URL}/train?rows=50"]


def test_a_404_to_both_is_a_not_found_error_naming_the_last_request() -> None:
    transport = Scripted((404, b"{}"), (404, b'{"message": "No driver pod"}'))
    with pytest.raises(FusionError) as caught:
        client(transport).driver_log("train", "r1", 50)
    assert caught.value.kind is ErrorKind.NOT_FOUND
    assert str(caught.value) == f"GET {URL}/train?rows=50: 404 Reason: No driver pod"


@pytest.mark.parametrize("status", [403, 500])
def test_any_other_error_is_raised_at_once_with_no_second_request(status: int) -> None:
    transport = Scripted((status, b"{}"))
    with pytest.raises(FusionError):
        client(transport).driver_log("train", "r1", 50)
    assert len(transport.sent) == 1


def test_the_last_rows_are_kept_decoded_and_masked() -> None:
    password = CREDENTIALS["FUSION_PASSWORD"]
    pair = base64.b64encode(f"{CREDENTIALS['FUSION_USER']}:{password}".encode()).decode()
    text = [f"line {n}" for n in range(100)] + [
        f"ERROR login as admin/{password} refused",
        f"DEBUG Authorization: Basic {pair}",
    ]
    body = "\r\n".join(text).encode() + b"\nbad byte \xff"
    log = client(Scripted((200, body))).driver_log("train", "r1", 3)
    assert log.lines == (
        "ERROR login as admin/*** refused",
        "DEBUG Authorization: Basic ***",
        "bad byte \ufffd",
    )


def test_only_a_spark_job_has_a_driver_log() -> None:
    with pytest.raises(ValueError, match="only a Spark job has a driver log"):
        client(Scripted()).driver_log("datasource:web", "r1", 50)
