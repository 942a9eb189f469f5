"""The client against the emulator: replayed from cassettes in cassettes/test_client/.

Re-record with `pytest --record-mode=rewrite tests/unit/test_client.py` (the emulator starts by
itself). Dropped connections cannot be recorded (vcrpy stores answers, not failures), so those
cases run live against the emulator instead.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from email.utils import formatdate
from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter

from runner import __version__
from runner.emulator.model import EmulatedFusion
from runner.emulator.scenario import (
    Fault,
    FaultTarget,
    JobScript,
    PastRun,
    RunScript,
    Scenario,
    Variant,
)
from runner.emulator.server import Access, Emulator
from runner.errors import UsageError
from runner.fusion import ErrorKind, FusionError, routes
from runner.fusion.auth import credentials
from runner.fusion.client import FusionClient, _retry_after
from runner.fusion.status import RunStatus
from runner.plan import Auth, SparkStart
from runner.plan.validate import url_problem
from tests.helpers.fakes import CREDENTIALS, EPOCH, FakeClock

Serve = Callable[..., AbstractContextManager[str]]


def client(url: str, env: dict[str, str], auth: Auth = Auth.BASIC, **kwargs: Any) -> FusionClient:
    return FusionClient(url=url, auth=auth, environ=env, **kwargs)


def follow(fusion: FusionClient, job: str, clock: FakeClock) -> list[RunStatus]:
    seen = []
    while True:
        seen.append(fusion.status(job))
        if seen[-1].terminal:
            return seen
        clock.advance(1)


@pytest.mark.vcr
def test_documented_job_from_start_to_finish(
    emulator_for_recording: Serve, fusion_env: dict[str, str]
) -> None:
    clock = FakeClock()
    with emulator_for_recording(clock=clock) as url:
        fusion = client(url, fusion_env)
        started = fusion.start("my-python-job")
        seen = follow(fusion, "my-python-job", clock)
    assert started.state == "starting"
    assert started.raw["jobConfig"]["script"] == "/compare_fusion_apis.py"
    assert [s.state for s in seen] == ["starting", "running", "finished"]
    assert {s.run_id for s in seen} == {started.run_id}
    final = seen[-1]
    assert final.duration == 2.0
    assert final.started is not None
    assert final.ended is not None
    assert (final.ended - final.started).total_seconds() == 2.0


@pytest.mark.vcr
def test_error_run_gives_fusions_message(
    emulator_for_recording: Serve, fusion_env: dict[str, str]
) -> None:
    clock = FakeClock()
    error = "Py4JJavaError: An error occurred while calling o72.save: OutOfMemoryError"
    scenario = Scenario(
        jobs={"train": JobScript(runs=(RunScript(duration=1, state="error", error=error),))}
    )
    with emulator_for_recording(scenario, clock=clock) as url:
        fusion = client(url, fusion_env)
        fusion.start("train")
        final = follow(fusion, "train", clock)[-1]
    assert (final.state, final.message) == ("error", error)


@pytest.mark.vcr
def test_all_runs_newest_first(emulator_for_recording: Serve, fusion_env: dict[str, str]) -> None:
    clock = FakeClock()
    scenario = Scenario(
        jobs={"j": JobScript(runs=(RunScript(duration=1, state="error"), RunScript(duration=1)))}
    )
    with emulator_for_recording(scenario, clock=clock) as url:
        fusion = client(url, fusion_env)
        first = fusion.start("j")
        clock.advance(2)
        second = fusion.start("j")
        runs = fusion.runs("j")
    assert [(r.run_id, r.state) for r in runs] == [
        (second.run_id, "starting"),
        (first.run_id, "error"),
    ]


@pytest.mark.vcr
def test_cancel(emulator_for_recording: Serve, fusion_env: dict[str, str]) -> None:
    clock = FakeClock()
    scenario = Scenario(jobs={"long": JobScript(runs=(RunScript(duration=3600),))})
    with emulator_for_recording(scenario, clock=clock) as url:
        fusion = client(url, fusion_env)
        fusion.start("long")
        clock.advance(10)
        fusion.cancel("long")
        seen = follow(fusion, "long", clock)
    assert [s.state for s in seen] == ["cancelling", "cancelled"]
    assert seen[-1].duration == 11.0


@pytest.mark.vcr
def test_configuration_known_and_unknown(
    emulator_for_recording: Serve, fusion_env: dict[str, str]
) -> None:
    with emulator_for_recording(clock=FakeClock()) as url:
        fusion = client(url, fusion_env)
        known = fusion.configuration("my-python-job")
        unknown = fusion.configuration("my-pyton-job")
    assert known is not None
    assert (known["type"], known["id"]) == ("custom_python_job", "my-python-job")
    assert unknown is None


@pytest.mark.vcr
def test_unknown_job_is_not_found_in_fusions_words(
    emulator_for_recording: Serve, fusion_env: dict[str, str]
) -> None:
    with emulator_for_recording(clock=FakeClock()) as url, pytest.raises(FusionError) as caught:
        client(url, fusion_env).start("nightly-typo")
    error = caught.value
    assert (error.kind, error.status, error.maybe_applied) == (ErrorKind.NOT_FOUND, 404, False)
    assert str(error) == (
        f"POST {url}/api/spark/jobs/nightly-typo: 404 Not Found: "
        "Job configuration 'nightly-typo' not found"
    )


@pytest.mark.vcr
def test_refused_credentials(emulator_for_recording: Serve, fusion_env: dict[str, str]) -> None:
    wrong = {**fusion_env, "FUSION_PASSWORD": "not-the-password"}
    with emulator_for_recording(clock=FakeClock()) as url, pytest.raises(FusionError) as caught:
        client(url, wrong).status("my-python-job")
    assert caught.value.kind is ErrorKind.CREDENTIALS
    assert (
        str(caught.value)
        == f"GET {url}/api/spark/jobs/my-python-job: 401 Unauthorized: unauthorized; "
        "check FUSION_USER and FUSION_PASSWORD (fusion.auth basic)"
    )


@pytest.mark.vcr
@pytest.mark.parametrize(
    ("status", "reason", "retry_after"),
    [
        (429, "Too Many Requests", 3.0),
        (502, "Bad Gateway", None),
        (503, "Service Unavailable", 7.0),
        (504, "Gateway Timeout", None),
    ],
)
def test_transient_answers_on_status_reads(
    emulator_for_recording: Serve,
    fusion_env: dict[str, str],
    status: int,
    reason: str,
    retry_after: float | None,
) -> None:
    clock = FakeClock()
    seconds = None if retry_after is None else int(retry_after)
    fault = Fault(on=FaultTarget.STATUS, answer=status, retry_after=seconds)
    scenario = Scenario(jobs={"j": JobScript(faults=(fault,))})
    with emulator_for_recording(scenario, clock=clock) as url:
        fusion = client(url, fusion_env)
        started = fusion.start("j")
        with pytest.raises(FusionError) as caught:
            fusion.status("j")
        after = fusion.status("j")  # the fault passed: the next read is fine
    error = caught.value
    assert (error.kind, error.status, error.retry_after) == (
        ErrorKind.TRANSIENT,
        status,
        retry_after,
    )
    assert (
        str(error) == f"GET {url}/api/spark/jobs/j: {status} {reason}: "
        f"injected fault: {status} on status"
    )
    assert not error.maybe_applied
    assert after.run_id == started.run_id


@pytest.mark.vcr
def test_transient_answer_to_a_start_may_have_started_it(
    emulator_for_recording: Serve, fusion_env: dict[str, str]
) -> None:
    scenario = Scenario(jobs={"j": JobScript(faults=(Fault(on=FaultTarget.START, answer=502),))})
    with (
        emulator_for_recording(scenario, clock=FakeClock()) as url,
        pytest.raises(FusionError) as caught,
    ):
        client(url, fusion_env).start("j")
    assert (caught.value.kind, caught.value.maybe_applied) == (ErrorKind.TRANSIENT, True)


@pytest.mark.vcr
def test_stale_status_right_after_a_start(
    emulator_for_recording: Serve, fusion_env: dict[str, str]
) -> None:
    clock = FakeClock()
    scenario = Scenario(jobs={"j": JobScript(stale_reads=2, runs=(RunScript(duration=1),))})
    with emulator_for_recording(scenario, clock=clock) as url:
        fusion = client(url, fusion_env)
        first = fusion.start("j")
        follow(fusion, "j", clock)
        second = fusion.start("j")
        seen = [fusion.status("j").run_id for _ in range(3)]
    assert seen == [first.run_id, first.run_id, second.run_id]


@pytest.mark.vcr
def test_quirks_are_tolerated(emulator_for_recording: Serve, fusion_env: dict[str, str]) -> None:
    clock = FakeClock()
    quirks = {
        "dup": JobScript(type="aggregation", quirks=frozenset({"duplicate_type_key"})),
        "upper": JobScript(quirks=frozenset({"upper_case_states"})),
        "millis": JobScript(quirks=frozenset({"epoch_millis_times"})),
        "nanos": JobScript(quirks=frozenset({"nanosecond_times"})),
    }
    with emulator_for_recording(Scenario(jobs=quirks), clock=clock) as url:
        fusion = client(url, fusion_env)
        for job in quirks:
            fusion.start(job)
        clock.advance(5)
        finals = {job: fusion.status(job) for job in quirks}
        config = fusion.configuration("dup")
    assert {job: s.state for job, s in finals.items()} == dict.fromkeys(quirks, "finished")
    assert {s.duration for s in finals.values()} == {2.0}
    assert finals["millis"].started == finals["nanos"].started == finals["dup"].started
    assert config == {"type": "aggregation", "id": "dup"}


@pytest.mark.vcr
def test_session_auth_logs_in_again_when_the_session_expires(
    emulator_for_recording: Serve, fusion_env: dict[str, str]
) -> None:
    scenario = Scenario(session_expires_after=2)
    with emulator_for_recording(scenario, clock=FakeClock()) as url:
        fusion = client(url, fusion_env, Auth.SESSION)
        states = [fusion.status("my-python-job").state for _ in range(3)]
    assert states == ["idle", "idle", "idle"]  # the third read met a 401, logged in, read again


@pytest.mark.vcr
def test_session_login_refused(emulator_for_recording: Serve, fusion_env: dict[str, str]) -> None:
    wrong = {**fusion_env, "FUSION_PASSWORD": "not-the-password"}
    with emulator_for_recording(clock=FakeClock()) as url, pytest.raises(FusionError) as caught:
        client(url, wrong, Auth.SESSION).status("my-python-job")
    assert caught.value.kind is ErrorKind.CREDENTIALS
    assert str(caught.value) == (
        f"POST {url}/api/session: 401 Unauthorized: unauthorized; check FUSION_USER and "
        "FUSION_PASSWORD, and fusion.realm (native): the realm that user logs in to"
    )


@pytest.mark.vcr
@pytest.mark.parametrize("auth", [Auth.API_KEY, Auth.BEARER])
def test_api_key_and_bearer(
    emulator_for_recording: Serve, fusion_env: dict[str, str], auth: Auth
) -> None:
    access = Access(api_key=CREDENTIALS["FUSION_API_KEY"], token=CREDENTIALS["FUSION_TOKEN"])
    with emulator_for_recording(clock=FakeClock(), access=access) as url:
        assert client(url, fusion_env, auth).status("my-python-job").state == "idle"


@pytest.mark.vcr
def test_start_while_a_run_is_active(
    emulator_for_recording: Serve, fusion_env: dict[str, str]
) -> None:
    with emulator_for_recording(clock=FakeClock()) as url:
        fusion = client(url, fusion_env)
        first = fusion.start("my-python-job")
        with pytest.raises(FusionError) as caught:
            fusion.start("my-python-job")
    assert (caught.value.kind, caught.value.status) == (ErrorKind.OTHER, 409)
    assert str(caught.value).endswith(
        f": 409 Conflict: Job my-python-job is already running ({first.run_id})"
    )


@pytest.mark.vcr
def test_job_ids_stay_one_path_segment(
    emulator_for_recording: Serve, fusion_env: dict[str, str]
) -> None:
    with emulator_for_recording(clock=FakeClock()) as url:
        fusion = client(url, fusion_env)
        for job in (
            "../spark/jobs/my-python-job",
            "my-python-job/all",
            "..",
            "my-python-job?x",
            "é #",
        ):
            method, path = routes.status(job)
            with pytest.raises(FusionError) as caught:
                fusion._request(method, fusion._api_url(path))
            assert caught.value.kind is ErrorKind.NOT_FOUND
            assert str(caught.value).endswith(f"Job configuration '{job}' not found")


@pytest.mark.vcr
def test_fusion_4_prefix(emulator_for_recording: Serve, fusion_env: dict[str, str]) -> None:
    with emulator_for_recording(clock=FakeClock()) as url:
        status = client(url, fusion_env, api="/api/apollo").start("my-python-job")
    assert status.state == "starting"


# --- live: dropped connections cannot be recorded ------------------------------------------------


def live(scenario: Scenario) -> Emulator:
    return Emulator(EmulatedFusion(scenario, clock=FakeClock(), epoch=EPOCH))


def test_dropped_connection_on_a_read() -> None:
    scenario = Scenario(
        jobs={"j": JobScript(faults=(Fault(on=FaultTarget.STATUS, answer="reset"),))}
    )
    with live(scenario) as emulator:
        fusion = FusionClient(url=emulator.url)
        with pytest.raises(FusionError) as caught:
            fusion.status("j")
        assert fusion.status("j").state == "idle"
    error = caught.value
    assert (error.kind, error.maybe_applied) == (ErrorKind.TRANSIENT, True)
    assert str(error) == f"GET {emulator.url}/api/spark/jobs/j: the connection dropped"


def test_lost_start_answer_leaves_a_run_behind() -> None:
    scenario = Scenario(jobs={"j": JobScript(faults=(Fault(on=FaultTarget.START, answer="lost"),))})
    with live(scenario) as emulator:
        fusion = FusionClient(url=emulator.url)
        with pytest.raises(FusionError) as caught:
            fusion.start("j")
        runs = fusion.runs("j")
    assert (caught.value.kind, caught.value.maybe_applied) == (ErrorKind.TRANSIENT, True)
    assert [r.state for r in runs] == ["starting"]


def test_connection_refused_never_reached_fusion() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(FusionError) as caught:
        FusionClient(url=f"http://127.0.0.1:{port}").start("j")
    error = caught.value
    assert (error.kind, error.maybe_applied) == (ErrorKind.TRANSIENT, False)
    assert (
        str(error)
        == f"POST http://127.0.0.1:{port}/api/spark/jobs/j: cannot connect (Connection refused)"
    )


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://a..b", "Failed to parse: 'a..b', label empty or too long"),
        ("http://localhost:99999", "Failed to parse: http://localhost:99999/api/spark/jobs/j"),
        ("http://[::1", "Failed to parse: '[::1' is not a valid host or port"),
    ],
)
def test_a_url_that_cannot_be_parsed_is_a_fusion_error_not_a_crash(url: str, reason: str) -> None:
    """Validation refuses these URLs; should one reach the client, it still names the fix."""
    with pytest.raises(FusionError) as caught:
        FusionClient(url=url).status("j")
    assert str(caught.value) == (
        f"GET {url}/api/spark/jobs/j: the URL cannot be used ({reason}): "
        "check fusion.url, --url or FUSION_URL"
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://fusion.example.com:8764",
        "http://exämple.com",
        "http://[::1]:8764",
        "http://a..b",
        "http://.a",
        "http://*.a",
        f"http://{'a' * 64}.com",
        "http://h:99999",
        "http://h:123456",
        "http://h:x",
        "http://[::1",
        "http://[::1]x",
        "http://[zz]",
        "http://a]b",
        "http://::1",
        "http://:80",
        "http://\u2488.com",
        "http://xn--a.com",
    ],
)
def test_validation_refuses_exactly_the_urls_the_client_cannot_send(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each URL either fails validation, or the client gets as far as looking its host up."""

    def no_such_host(*_: Any, **__: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    with pytest.raises(FusionError) as caught:
        FusionClient(url=url).status("j")
    sent = "Name or service not known" in str(caught.value)
    assert (url_problem(url) is None) == sent, (url_problem(url), str(caught.value))


# --- transport details, with a fake adapter ------------------------------------------------------


class FakeTransport(BaseAdapter):
    def __init__(self, *answers: tuple[int, dict[str, str], bytes]) -> None:
        super().__init__()
        self.answers = list(answers)
        self.sent: list[tuple[requests.PreparedRequest, dict[str, Any]]] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.sent.append((request, kwargs))
        status, headers, body = self.answers.pop(0)
        response = requests.Response()
        response.status_code, response.reason, response._content = status, "Reason", body
        response.headers.update(headers)
        response.url, response.request = str(request.url), request
        return response

    def close(self) -> None:
        pass


def fake_client(transport: FakeTransport, auth: Auth = Auth.BASIC, **kwargs: Any) -> FusionClient:
    session = requests.Session()
    session.mount("https://", transport)
    return FusionClient(
        url="https://fusion.example.com/", auth=auth, environ=CREDENTIALS, session=session, **kwargs
    )


@pytest.mark.parametrize("target", ["https://elsewhere.example.com/api/spark/jobs/j", "/login"])
def test_redirects_are_never_followed(target: str) -> None:
    transport = FakeTransport((302, {"Location": target}, b""))
    with pytest.raises(FusionError) as caught:
        fake_client(transport).status("j")
    assert len(transport.sent) == 1
    assert transport.sent[0][0].url == "https://fusion.example.com/api/spark/jobs/j"
    assert str(caught.value) == (
        "GET https://fusion.example.com/api/spark/jobs/j: 302 Reason: "
        f"Fusion redirects to {target}; "
        "fusion-run follows no redirect, so set fusion.url (or --url) to Fusion's address"
    )


def test_every_request_has_timeouts_agent_and_verification() -> None:
    transport = FakeTransport(*[(200, {}, b'{"state": "idle"}')] * 3)
    client = fake_client(transport, connect_timeout=3, read_timeout=40, verify="/etc/ca.pem")
    client.status("j")
    client.start("j")
    client.cancel("j")
    request, options = transport.sent[0]
    assert options["timeout"] == (3, 15)  # a status read waits 15 s at most: it is read again
    assert transport.sent[1][1]["timeout"] == (3, 40)  # a start waits as long as the plan says
    assert transport.sent[2][1]["timeout"] == (3, 15)  # a cancel is sent again: 15 s at most
    assert options["verify"] == "/etc/ca.pem"
    assert request.headers["User-Agent"] == f"fusion-run/{__version__}"
    assert request.headers["Authorization"].startswith("Basic ")


@pytest.mark.parametrize(
    ("verify", "sent"),
    [(True, "/etc/corporate-ca.pem"), (False, False), ("/etc/plan-ca.pem", "/etc/plan-ca.pem")],
)
def test_ca_bundle_from_the_environment_only_when_verify_is_true(
    monkeypatch: pytest.MonkeyPatch, verify: bool | str, sent: bool | str
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/corporate-ca.pem")
    transport = FakeTransport((200, {}, b'{"state": "idle"}'))
    fake_client(transport, verify=verify).status("j")
    assert transport.sent[0][1]["verify"] == sent


def test_not_json() -> None:
    transport = FakeTransport((200, {}, b"<html>Login page</html>"))
    with pytest.raises(FusionError) as caught:
        fake_client(transport).status("j")
    assert str(caught.value) == (
        "GET https://fusion.example.com/api/spark/jobs/j: "
        "Fusion's answer cannot be read: not JSON: '<html>Login page</html>'"
    )


def test_error_body_that_is_text() -> None:
    transport = FakeTransport((500, {}, b"upstream\n   exploded  "))
    with pytest.raises(FusionError) as caught:
        fake_client(transport).status("j")
    assert caught.value.kind is ErrorKind.TRANSIENT  # ridden out a few times, as a 502 is
    assert str(caught.value).endswith(": 500 Reason: upstream exploded")


def test_retry_after_as_a_date_is_the_seconds_until_then() -> None:
    later = formatdate(time.time() + 30, usegmt=True)  # RFC 9110: an HTTP date, in whole seconds
    transport = FakeTransport((503, {"Retry-After": later}, b"{}"))
    with pytest.raises(FusionError) as caught:
        fake_client(transport).status("j")
    assert caught.value.retry_after == pytest.approx(30, abs=1.5)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        ("Sun, 06 Nov 1994 08:49:37 GMT", 7.0),  # RFC 9110's example, 7 s after `now`
        ("Sun, 06 Nov 1994 08:49:00 GMT", 0.0),  # past: no wait
        ("soon", None),
        ("-5", None),
        ("Sun, 06 Nov 99999 08:49:37 GMT", None),
        ("", None),
    ],
)
def test_retry_after_in_either_form(header: str, seconds: float | None) -> None:
    assert _retry_after(header, now=784111770.0) == seconds


@pytest.mark.parametrize(
    ("auth", "env", "message"),
    [
        (
            Auth.BASIC,
            {},
            "FUSION_USER is not set: "
            "fusion.auth basic needs FUSION_USER and FUSION_PASSWORD in the environment",
        ),
        (
            Auth.SESSION,
            {"FUSION_USER": "u"},
            "FUSION_PASSWORD is not set: "
            "fusion.auth session needs FUSION_USER and FUSION_PASSWORD in the environment",
        ),
        (
            Auth.API_KEY,
            {"FUSION_API_KEY": ""},
            "FUSION_API_KEY is not set: "
            "fusion.auth api-key needs FUSION_API_KEY in the environment",
        ),
        (
            Auth.BEARER,
            {},
            "FUSION_TOKEN is not set: fusion.auth bearer needs FUSION_TOKEN in the environment",
        ),
    ],
)
def test_missing_credentials_are_named(auth: Auth, env: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError) as caught:
        credentials(auth, env)
    assert str(caught.value) == message


def test_no_credentials_needed_for_none() -> None:
    assert credentials(Auth.NONE, {}) == {}


# --- the Jobs API: datasource and task jobs -------------------------------------------------------


@pytest.mark.vcr
def test_datasource_job_through_the_jobs_api(
    emulator_for_recording: Serve, fusion_env: dict[str, str]
) -> None:
    clock = FakeClock()
    counters = {"counter.input": 50, "counter.output": 48, "counter.failed": 2}
    scenario = Scenario(
        jobs={"datasource:docs": JobScript(runs=(RunScript(duration=3, result=counters),))}
    )
    with emulator_for_recording(scenario, clock=clock) as url:
        fusion = client(url, fusion_env)
        view_before = fusion.configuration("datasource:docs")
        started = fusion.start("datasource:docs")
        seen = follow(fusion, "datasource:docs", clock)
        history = fusion.runs("datasource:docs")
        missing = fusion.configuration("datasource:nope")
    assert view_before == {
        "resource": "datasource:docs", "enabled": True,
        "startedBy": "09765f1d-2f1c-4c3b-ba22-887e3886d8aa", "status": "ready", "extra": {},
    }  # fmt: skip  # the documentation's never-run job, field for field
    assert (started.run_id, started.state, started.raw["accepted"]) == (None, "starting", True)
    assert [s.state for s in seen] == ["running", "running", "running", "success"]
    extra = seen[-1].raw["extra"]  # the job view: the latest run's counters, and its own times
    assert {name: extra[name] for name in counters} == counters
    assert extra["endTime"] - extra["startTime"] == 3000
    assert seen[-1].duration == 3.0
    [record] = history
    assert record.run_id
    assert record.keys & seen[-1].keys  # the view's run is this record's
    assert (record.state, record.raw["extra"]) == ("success", extra)  # the view's, as Fusion's are
    assert missing is None


@pytest.mark.vcr
def test_task_job_abort(emulator_for_recording: Serve, fusion_env: dict[str, str]) -> None:
    clock = FakeClock()
    scenario = Scenario(jobs={"task:reindex": JobScript(runs=(RunScript(duration=600),))})
    with emulator_for_recording(scenario, clock=clock) as url:
        fusion = client(url, fusion_env)
        fusion.start("task:reindex")
        clock.advance(5)
        fusion.cancel("task:reindex")
        seen = follow(fusion, "task:reindex", clock)
    assert [s.state for s in seen] == ["running", "aborted"]


@pytest.mark.vcr
def test_jobs_api_start_refused_and_faults(
    emulator_for_recording: Serve, fusion_env: dict[str, str]
) -> None:
    faults = (Fault(on=FaultTarget.STATUS, answer=503, retry_after=4),)
    scenario = Scenario(
        jobs={"datasource:web": JobScript(runs=(RunScript(duration=60),), faults=faults)}
    )
    with emulator_for_recording(scenario, clock=FakeClock()) as url:
        fusion = client(url, fusion_env)
        fusion.start("datasource:web")
        with pytest.raises(FusionError) as busy:
            fusion.status("datasource:web")
        with pytest.raises(FusionError) as conflict:
            fusion.start("datasource:web")
    assert (busy.value.kind, busy.value.retry_after) == (ErrorKind.TRANSIENT, 4.0)
    assert str(busy.value).startswith(f"GET {url}/api/jobs/datasource:web: 503")
    assert conflict.value.status == 409


def test_actions_in_upper_case_when_fusion_wants_the_spec_s_spelling() -> None:
    """The spec's enum is START/ABORT, the docs send start/abort: a 400 to one sends the other."""
    variant = Variant(upper_case_actions=True)
    scenario = Scenario(
        jobs={"datasource:d": JobScript(runs=(RunScript(duration=60),))}, variant=variant
    )
    with live(scenario) as emulator:
        fusion = FusionClient(url=emulator.url)
        assert fusion.start("datasource:d").raw["accepted"] is True
        fusion.cancel("datasource:d")
        assert fusion.upper_case_actions
        assert emulator.model.requests.count((FaultTarget.START, "datasource:d")) == 2
        assert emulator.model.requests.count((FaultTarget.CANCEL, "datasource:d")) == 1


def test_a_spark_job_started_through_the_jobs_api() -> None:
    """fusion.spark_start: jobs-api, as Lucidworks advises on 4.2: the start names no run."""
    with live(Scenario()) as emulator:
        fusion = FusionClient(url=emulator.url, spark_start=SparkStart.JOBS_API)
        started = fusion.start("my-python-job")
        status = fusion.status("my-python-job")
    assert started.raw == {
        "resource": "spark:my-python-job",
        "action": "start",
        "accepted": True,
        "message": "Started job spark:my-python-job",
    }
    assert (started.run_id, status.state, bool(status.run_id)) == (None, "starting", True)


@pytest.mark.parametrize(
    ("variant", "past", "reads"),
    [
        (Variant(), 2 * routes.ALL_LIMIT, 1),  # newest first: the first 100 are the newest
        (Variant(all_oldest_first=True), 2 * routes.ALL_LIMIT, 2),  # the oldest: read whole
        (Variant(all_oldest_first=True), routes.ALL_LIMIT - 1, 1),  # fewer: it is every run
    ],
)
def test_a_list_of_runs_cut_by_limit_is_the_newest_or_is_read_whole(
    variant: Variant, past: int, reads: int
) -> None:
    """`limit` on /spark/jobs/{id}/all is undocumented: a Fusion that honours it oldest first
    must not make a run from long ago look like the job's latest."""
    history = tuple(
        PastRun(ended_ago=60.0 * (i + 1), run=RunScript(duration=2, state="error"))
        for i in range(past)
    )
    scenario = Scenario(jobs={"j": JobScript(history=history)}, variant=variant)
    with live(scenario) as emulator:
        fusion = FusionClient(url=emulator.url)
        listed = fusion.runs("j")
        assert emulator.model.requests.count((FaultTarget.ALL, "j")) == reads
    first, second = (run.ended for run in listed[:2])
    assert first is not None
    assert second is not None
    assert (first.timestamp(), second.timestamp()) == (EPOCH - 60, EPOCH - 120)  # the newest
    assert min(len(listed), routes.ALL_LIMIT) == min(past, routes.ALL_LIMIT)
