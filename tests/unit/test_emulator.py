from __future__ import annotations

import base64
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from runner.emulator.model import EmulatedFusion, Reply
from runner.emulator.scenario import (
    Fault,
    FaultTarget,
    JobScript,
    OnStartWhileActive,
    RunScript,
    Scenario,
    load_scenario,
)
from runner.emulator.server import Access, Emulator
from tests.helpers.fakes import EPOCH, FakeClock
from tests.helpers.paths import EXAMPLES, ROOT

DOCUMENTED_START = {  # the answer in Fusion's API docs, "Start a job run"
    "state": "starting",
    "jobId": "c7f701edfd",
    "jobConfig": {
        "type": "custom_python_job",
        "id": "my-python-job",
        "script": "/compare_fusion_apis.py",
        "verboseReporting": False,
        "updates": [
            {"userId": "demo-user", "timestamp": "2025-12-03T22:17:23.651897283Z"},
            {"userId": "demo-user", "timestamp": "2025-12-03T22:17:23.653890793Z"},
        ],
    },
    "hostname": "10.64.19.46",
    "result": {"jobConfigId": "my-python-job", "jobRunId": "c7f701edfd"},
}


def model(scenario: Scenario | None = None, clock: FakeClock | None = None) -> EmulatedFusion:
    return EmulatedFusion(scenario, clock=clock or FakeClock(), epoch=EPOCH)


def job(**script: Any) -> Scenario:
    return Scenario(jobs={"j": JobScript(**script)})


class TestModel:
    def test_start_answer_is_the_documented_one_but_ids_and_host(self) -> None:
        answer = model().start("my-python-job")
        run_id = answer["jobId"]
        assert len(run_id) == 10
        assert run_id.isalnum()
        assert run_id == run_id.lower()
        expected = json.loads(json.dumps(DOCUMENTED_START).replace("c7f701edfd", run_id))
        expected["hostname"] = "127.0.0.1"
        assert answer == expected

    def test_run_ids_are_reproducible(self) -> None:
        assert model().start("my-python-job")["jobId"] == model().start("my-python-job")["jobId"]

    def test_states_follow_the_clock(self) -> None:
        clock = FakeClock()
        fusion = model(job(runs=(RunScript(duration=8, result={"docsWritten": 5}),)), clock)
        assert fusion.status("j") == {"state": "idle", "jobConfig": {"type": "spark", "id": "j"}}
        run_id = fusion.start("j")["jobId"]
        seen = []
        for _ in range(10):
            seen.append(fusion.status("j")["state"])
            clock.advance(1)
        assert seen == ["starting", "running", "running", "running", "running", "running",
                        "running", "finishing", "finished", "finished"]  # fmt: skip
        final = fusion.status("j")
        assert final["startTime"] == "2026-01-01T00:00:00.000Z"
        assert final["endTime"] == "2026-01-01T00:00:08.000Z"
        assert final["duration"] == 8000
        assert final["result"] == {"jobConfigId": "j", "jobRunId": run_id, "docsWritten": 5}

    def test_error_run_carries_the_exception(self) -> None:
        clock = FakeClock()
        fusion = model(
            job(runs=(RunScript(duration=1, state="error", error="OOM in stage 3"),)), clock
        )
        fusion.start("j")
        clock.advance(1)
        status = fusion.status("j")
        assert status["state"] == "error"
        assert status["result"]["exception"]["message"] == "OOM in stage 3"

    def test_runs_follow_the_script_and_the_last_repeats(self) -> None:
        clock = FakeClock()
        runs = (RunScript(duration=1, state="error"), RunScript(duration=1))
        fusion = model(job(runs=runs), clock)
        states = []
        for _ in range(3):
            fusion.start("j")
            clock.advance(1)
            states.append(fusion.status("j")["state"])
        assert states == ["error", "finished", "finished"]
        assert [r["state"] for r in fusion.all_runs("j")] == ["finished", "finished", "error"]

    def test_cancel_goes_through_cancelling(self) -> None:
        clock = FakeClock()
        fusion = model(job(runs=(RunScript(duration=60),)), clock)
        fusion.start("j")
        clock.advance(5)
        fusion.cancel("j")
        assert fusion.status("j")["state"] == "cancelling"
        clock.advance(1)
        status = fusion.status("j")
        assert (status["state"], status["duration"]) == ("cancelled", 6000)
        fusion.cancel("j")  # nothing active: still fine
        assert fusion.status("j")["state"] == "cancelled"

    def test_start_while_active_conflicts_by_default(self) -> None:
        fusion = model(Scenario(jobs={"j": JobScript()}))
        first = fusion.start("j")["jobId"]
        with pytest.raises(Reply) as caught:
            fusion.start("j")
        assert caught.value.status == 409
        assert caught.value.body["message"] == f"Job j is already running ({first})"
        assert len(fusion.all_runs("j")) == 1

    @pytest.mark.parametrize(
        ("policy", "same", "runs"), [("new_run", False, 2), ("return_active", True, 1)]
    )
    def test_start_while_active_policies(self, policy: str, same: bool, runs: int) -> None:
        fusion = model(
            Scenario(jobs={"j": JobScript()}, on_start_while_active=OnStartWhileActive(policy))
        )
        first = fusion.start("j")["jobId"]
        assert (fusion.start("j")["jobId"] == first) is same
        assert len(fusion.all_runs("j")) == runs

    def test_stale_reads_show_the_previous_run(self) -> None:
        clock = FakeClock()
        fusion = model(job(stale_reads=2, runs=(RunScript(duration=1),)), clock)
        first = fusion.start("j")["jobId"]
        assert [fusion.status("j")["state"] for _ in range(3)] == ["idle", "idle", "starting"]
        clock.advance(2)
        second = fusion.start("j")["jobId"]
        assert [fusion.status("j")["jobId"] for _ in range(3)] == [first, first, second]

    def test_faults_count_matching_requests(self) -> None:
        faults = (Fault(on=FaultTarget.STATUS, answer=503, times=2, after=1, retry_after=7),)
        fusion = model(job(faults=faults))
        fusion.start("j")
        assert fusion.status("j")["state"] == "starting"
        for _ in range(2):
            with pytest.raises(Reply) as caught:
                fusion.status("j")
            assert (caught.value.status, caught.value.headers) == (503, {"Retry-After": "7"})
        assert fusion.status("j")["state"] == "starting"

    def test_lost_start_registers_the_run_and_reset_does_not(self) -> None:
        fusion = model(
            job(
                faults=(
                    Fault(on=FaultTarget.START, answer="reset"),
                    Fault(on=FaultTarget.START, answer="lost", after=1),
                )
            )
        )
        for _ in range(2):
            with pytest.raises(Reply) as dropped:
                fusion.start("j")
            assert dropped.value.status == 0
        assert len(fusion.all_runs("j")) == 1
        assert fusion.starts("j") == 2

    def test_missing_and_unknown_configurations(self) -> None:
        fusion = model(Scenario(missing=frozenset({"my-python-job"})), FakeClock())
        for call in (
            fusion.start,
            fusion.status,
            fusion.configuration,
            fusion.cancel,
            fusion.all_runs,
        ):
            with pytest.raises(Reply) as caught:
                call("my-python-job")
            assert caught.value.status == 404
        with pytest.raises(Reply) as caught:
            fusion.status("never-heard-of")
        assert caught.value.body == {
            "httpStatusCode": 404,
            "httpStatusMessage": "Not Found",
            "message": "Job configuration 'never-heard-of' not found",
        }

    def test_extra_jobs_exist(self) -> None:
        assert model_with_extra().configuration("crawl") == {"type": "spark", "id": "crawl"}

    @pytest.mark.parametrize(
        ("quirk", "field", "value"),
        [
            ("upper_case_states", "state", "FINISHED"),
            ("epoch_millis_times", "startTime", 1767225600000),
            ("nanosecond_times", "startTime", "2026-01-01T00:00:00.000000123Z"),
        ],
    )
    def test_quirks(self, quirk: str, field: str, value: Any) -> None:
        clock = FakeClock()
        fusion = model(job(quirks=frozenset({quirk}), runs=(RunScript(duration=1),)), clock)
        fusion.start("j")
        clock.advance(1)
        assert fusion.status("j")[field] == value

    def test_duplicate_type_key_quirk(self) -> None:
        fusion = model(job(type="aggregation", quirks=frozenset({"duplicate_type_key"})))
        text = fusion.encode("j", fusion.start("j")).decode()
        assert '"jobConfig": {"type": "aggregation", "type": "aggregation", "id": "j"}' in text
        config = fusion.encode("j", fusion.configuration("j")).decode()
        assert config == '{"type": "aggregation", "type": "aggregation", "id": "j"}'


def model_with_extra() -> EmulatedFusion:
    return EmulatedFusion(clock=FakeClock(), epoch=EPOCH, extra_jobs=["crawl"])


def test_scenario_file(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "version: 1\non_start_while_active: new_run\nmissing: [gone]\nsession_expires_after: 3\n"
        "jobs:\n  j:\n    type: aggregation\n    stale_reads: 1\n    quirks: [upper_case_states]\n"
        "    runs:\n      - {duration: 1.5, state: error, error: boom}\n"
        "      - {duration: 2m, result: {n: 1}}\n"
        "    faults:\n      - {on: status, answer: 429, retry_after: 2}\n  k: {}\n"
    )
    scenario = load_scenario(str(path))
    assert scenario == Scenario(
        jobs={
            "j": JobScript(
                type="aggregation",
                stale_reads=1,
                quirks=frozenset({"upper_case_states"}),
                runs=(
                    RunScript(duration=1.5, state="error", error="boom"),
                    RunScript(duration=120, result={"n": 1}),
                ),
                faults=(Fault(on=FaultTarget.STATUS, answer=429, retry_after=2),),
            ),
            "k": JobScript(),
        },
        missing=frozenset({"gone"}),
        on_start_while_active=OnStartWhileActive.NEW_RUN,
        session_expires_after=3,
    )


def test_invalid_scenario_is_located(tmp_path: Path) -> None:
    from runner.plan.problems import InvalidPlan  # noqa: PLC0415

    path = tmp_path / "s.yaml"
    path.write_text("version: 1\njobs:\n  j:\n    faults:\n      - {on: status, answer: 418}\n")
    with pytest.raises(InvalidPlan) as caught:
        load_scenario(str(path))
    assert [str(p) for p in caught.value.problems] == [
        f"{path}:5:30: $.jobs.j.faults[0].answer: "
        "418 is not one of: 429, 500, 502, 503, 504, 403, 404, reset, hang, lost"
    ]


SCENARIOS = sorted(EXAMPLES.glob("scenarios/*.yaml"))


def test_there_are_example_scenarios() -> None:
    assert len(SCENARIOS) >= 2


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_example_scenario_loads(path: Path) -> None:
    assert load_scenario(str(path)).jobs


# --- over HTTP, live on 127.0.0.1 ---------------------------------------------------------------


@pytest.fixture
def live() -> Any:
    access = Access(user="u", password="p", api_key="key", token="tok")
    with Emulator(
        EmulatedFusion(clock=FakeClock(), epoch=EPOCH, extra_jobs=["a"]), access=access
    ) as emulator:
        yield emulator


@pytest.mark.parametrize("prefix", ["/api", "/api/apollo", "/api/apps/ecommerce"])
def test_prefixes(live: Emulator, prefix: str) -> None:
    response = requests.post(
        f"{live.url}{prefix}/spark/jobs/my-python-job", auth=("u", "p"), timeout=5
    )
    assert response.status_code == 200
    assert response.json()["state"] == "starting"


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Basic " + base64.b64encode(b"u:p").decode()},
        {"x-api-key": "key"},
        {"Authorization": "Bearer tok"},
    ],
    ids=["basic", "api-key", "bearer"],
)
def test_each_credential_is_accepted(live: Emulator, headers: dict[str, str]) -> None:
    assert (
        requests.get(f"{live.url}/api/spark/jobs/a", headers=headers, timeout=5).status_code == 200
    )


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic " + base64.b64encode(b"u:wrong").decode()},
        {"Authorization": "Basic !!"},
        {"x-api-key": "nope"},
        {"Cookie": "id=forged"},
    ],
    ids=["none", "wrong-password", "garbage", "wrong-key", "forged-cookie"],
)
def test_refused_credentials_get_fusions_401(live: Emulator, headers: dict[str, str]) -> None:
    response = requests.get(f"{live.url}/api/spark/jobs/a", headers=headers, timeout=5)
    assert response.status_code == 401
    body = response.json()
    assert body == {
        "service": "proxy",
        "error": "unauthorized",
        "path": "/api/spark/jobs/a",
        "timestamp": body["timestamp"],  # Fusion 5's proxy says when, with no zone
    }
    assert datetime.fromisoformat(body["timestamp"]).tzinfo is None


def test_session_login(live: Emulator) -> None:
    session = requests.Session()
    refused = session.post(
        f"{live.url}/api/session?realmName=native",
        json={"username": "u", "password": "x"},
        timeout=5,
    )
    assert refused.status_code == 401
    login = session.post(
        f"{live.url}/api/session?realmName=native",
        json={"username": "u", "password": "p"},
        timeout=5,
    )
    assert login.status_code == 201
    assert session.cookies.get("id")
    assert session.get(f"{live.url}/api/spark/jobs/a", timeout=5).status_code == 200


@pytest.mark.parametrize(
    "job", ["a/b", "..", ".", "%2e%2e", "../a", "a?x=1", "a#b", "a b", "é", "a%2Fb", "all"]
)
def test_no_job_id_reaches_another_endpoint(live: Emulator, job: str) -> None:
    from runner.fusion import job_segment  # noqa: PLC0415

    url = f"{live.url}/api/spark/jobs/{job_segment(job)}"
    response = requests.get(url, auth=("u", "p"), timeout=5)
    assert response.status_code == 404
    assert response.json()["message"] == f"Job configuration '{job}' not found"


def test_unknown_endpoint(live: Emulator) -> None:
    response = requests.get(f"{live.url}/api/spark/nothing", auth=("u", "p"), timeout=5)
    assert response.status_code == 404
    assert response.json()["message"] == "No endpoint GET /api/spark/nothing"


def test_reset_drops_the_connection() -> None:
    scenario = Scenario(
        jobs={"j": JobScript(faults=(Fault(on=FaultTarget.STATUS, answer="reset"),))}
    )
    with Emulator(EmulatedFusion(scenario, clock=FakeClock(), epoch=EPOCH)) as emulator:
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{emulator.url}/api/spark/jobs/j", timeout=5)
        assert requests.get(f"{emulator.url}/api/spark/jobs/j", timeout=5).json()["state"] == "idle"


def test_the_standalone_emulator_knows_only_the_documented_job_and_its_scenarios() -> None:
    """fusion-emulator, unlike --emulate, adds no plan's jobs: the quickstart's need the scenario
    that lists them (examples/scenarios/quickstart.yaml), and the scenario schema says so."""
    from runner.plan.loader import load_plan  # noqa: PLC0415

    quickstart = [step.job for step in load_plan(str(EXAMPLES / "quickstart.yaml")).steps]
    bare = model()
    with pytest.raises(Reply) as unknown:
        bare.configuration("products_query_rewrite")
    assert unknown.value.status == 404
    assert [job for job in quickstart if job in bare.jobs] == ["my-python-job"]
    scripted = model(load_scenario(str(EXAMPLES / "scenarios" / "quickstart.yaml")))
    assert all(job in scripted.jobs for job in quickstart)
    schema = json.loads((ROOT / "schemas" / "scenario.schema.json").read_text())
    assert (
        "The standalone fusion-emulator knows only these"
        in (schema["properties"]["jobs"]["description"])
    )


def test_jobs_api_routes(live: Emulator) -> None:
    url = f"{live.url}/api/apps/shop/jobs/datasource:a"
    assert requests.get(url, auth=("u", "p"), timeout=5).status_code == 404  # only 'a', a Spark job
    scenario = Scenario(jobs={"datasource:a": JobScript(runs=(RunScript(duration=1),))})
    with Emulator(EmulatedFusion(scenario, clock=FakeClock(), epoch=EPOCH)) as emulator:
        base = f"{emulator.url}/api/jobs/datasource:a"
        started = requests.post(f"{base}/actions", json={"action": "start"}, timeout=5).json()
        assert started == {
            "resource": "datasource:a",
            "action": "start",
            "accepted": True,
            "message": "Started job datasource:a",
        }
        [record] = requests.get(f"{base}/history", params={"limit": 1}, timeout=5).json()
        assert (record["resource"], record["status"]) == ("datasource:a", "running")
        assert requests.get(f"{base}/history", timeout=5).json() == [record]
        odd = requests.post(f"{base}/actions", json={"action": "pause"}, timeout=5)
        assert (odd.status_code, odd.json()["message"]) == (400, "Unknown action 'pause'")
        assert requests.get(f"{base}/elsewhere", timeout=5).status_code == 404
