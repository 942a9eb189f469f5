"""Fusion's own answers (tests/fixtures/fusion/, each beside its source): fusion-run's parsers read
each as the documentation means it, and the emulator answers field for field as they do."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from runner.emulator.model import EmulatedFusion
from runner.emulator.scenario import JobScript, RunScript, Scenario, Variant
from runner.emulator.server import Access, Emulator
from runner.fusion.status import newest_first, parse_history, parse_job_view, parse_status
from tests.helpers.fakes import EPOCH, FakeClock
from tests.helpers.paths import ROOT

SAMPLES = ROOT / "tests" / "fixtures" / "fusion"


def sample(name: str) -> Any:
    """A sample as JSON, with the `//` comments some documentation blocks carry stripped."""
    text = (SAMPLES / name).read_text(encoding="utf-8")
    return json.loads(re.sub(r"\s//[^\n]*", "", text))


def test_every_sample_names_its_source() -> None:
    answers = [p for p in SAMPLES.iterdir() if p.suffix in (".json", ".txt", ".http")]
    answers = [p for p in answers if not p.name.endswith(".source.txt")]
    assert len(answers) == 23
    for path in answers:
        beside = [path.name.rsplit(".", 1)[0], path.name.removesuffix(".excerpt.txt")]
        [source] = [
            SAMPLES / f"{s}.source.txt" for s in beside if (SAMPLES / f"{s}.source.txt").exists()
        ]
        assert "source:" in source.read_text(encoding="utf-8"), path.name


# --- the parsers read what Fusion writes ---------------------------------------------------------


def test_a_spark_start_answer() -> None:
    status = parse_status(sample("spark_start_custom_python_5.9.json"), "my-python-job")
    assert (status.run_id, status.state, status.active) == ("c7f701edfd", "starting", True)
    assert status.keys == {"id:c7f701edfd"}


def test_a_start_answer_with_two_run_ids_is_known_by_either() -> None:
    loader = "store_typeahead_entity_load"
    status = parse_status(sample("spark_start_parallel_bulk_loader_5.x.json"), loader)
    assert status.keys == {"id:a2b50rrce7", "id:b2c50rrde6"}


@pytest.mark.parametrize("name", ["jobs_history_3runs_4.2.json", "jobs_history_3runs_5.x.json"])
def test_a_history_with_run_ids(name: str) -> None:
    runs = [parse_history(record, "datasource:myDatasource") for record in sample(name)]
    assert [r.run_id for r in runs] == ["fXfKTQNSKM", "XxrxochVOB", "2jy3UemLTp"]
    assert {r.state for r in runs} == {"success"}
    assert runs[0].duration == 463.419  # 22:34:15.852 to 22:41:59.271, from the times
    assert runs[0].raw["extra"]["counter.output"] == 58241
    assert newest_first(reversed(runs)) == runs  # whatever order they come in


@pytest.mark.parametrize(
    "name", ["jobs_history_no_runid_4.2.json", "jobs_history_no_runid_5.9_with_comment.json"]
)
def test_a_history_without_run_ids_still_tells_runs_apart(name: str) -> None:
    runs = [parse_history(record, "datasource:movies-db") for record in sample(name)]
    assert [r.run_id for r in runs] == [None, None]
    assert [sorted(r.keys) for r in runs] == [
        ["start:2017-05-17T21:01:46.743+00:00"],
        ["start:2017-05-17T20:58:10.503+00:00"],
    ]
    assert [r.label for r in runs] == [
        "started 2017-05-17T21:01:46.743Z",
        "started 2017-05-17T20:58:10.503Z",
    ]


def test_an_answer_of_another_job_is_none_of_this_ones() -> None:
    """A view, a history record or a status naming another job (a proxy's mix-up, a stray
    answer) could make that job's run look like ours: it is an answer that cannot be read."""
    with pytest.raises(ValueError, match="the answer is of job 'datasource:myDatasource', not "):
        parse_job_view(sample("app_jobs_never_run_4.2.json")[0], "datasource:web")
    with pytest.raises(ValueError, match="a job view with no resource"):
        parse_job_view({"status": "success", "lastStartTime": "2026-01-01T00:00:00Z"}, "task:t")
    with pytest.raises(ValueError, match="'my-python-job', not of 'other'"):
        parse_status(sample("spark_start_custom_python_5.9.json"), "other")
    assert parse_status(sample("spark_start_custom_python_5.9.json"), "spark:my-python-job").run_id


@pytest.mark.parametrize(
    "name", ["app_jobs_after_success_4.2.json", "app_jobs_after_success_5.x.json"]
)
def test_a_job_view_is_its_latest_run_in_the_history(name: str) -> None:
    [view] = [parse_job_view(v, "datasource:myDatasource") for v in sample(name)]
    history = [
        parse_history(r, "datasource:myDatasource") for r in sample("jobs_history_3runs_5.x.json")
    ]
    assert (view.state, view.run_id, view.duration) == ("success", None, 463.419)
    assert view.keys & history[0].keys  # the view's run is the history's newest record
    assert not view.keys & history[1].keys
    assert view.raw["extra"]["counter.failed"] == 0


@pytest.mark.parametrize(
    ("name", "index"),
    [
        ("app_jobs_never_run_4.2.json", 0),
        ("app_jobs_never_run_5.x.json", 0),
        ("jobs_list_datasource_4.2.json", 0),  # Fusion 4 leaves the status out
        ("jobs_list_datasource_5.9_with_comment.json", 0),
    ],
)
def test_a_job_that_never_ran(name: str, index: int) -> None:
    answer = sample(name)[index]
    view = parse_job_view(answer, answer["resource"])
    assert (view.state, view.visible, view.active, view.keys) == (
        "ready",
        False,
        False,
        frozenset(),
    )


@pytest.mark.parametrize(
    "name",
    ["job_launcher_post_placeholder_5.x.json", "spark_jobs_post_schema_placeholder_5.x.json"],
)
def test_the_schema_placeholders_cannot_be_read_as_a_run(name: str) -> None:
    """The documentation's placeholders ("startTime": "<string>") are no answer: a run whose
    start time cannot be read could be any run, so the answer is a fault, never a run."""
    with pytest.raises(ValueError, match="startTime is a string that is no time"):
        parse_status(sample(name), "<string>")


def test_a_token_lives_1800_seconds_as_the_emulator_s_do() -> None:
    payload = sample("jwt_payload_decoded_5.x.json")
    assert payload["exp"] - payload["iat"] == 1800 == Variant().token_lifetime


# --- the emulator answers as Fusion does, field for field -----------------------------------------


def shape(value: Any, *, opaque: frozenset[str] = frozenset({"extra", "jobConfig"})) -> Any:
    """What a JSON value looks like: its keys and their types, with `opaque` objects as such."""
    if isinstance(value, dict):
        return {k: "object" if k in opaque else shape(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if isinstance(value, bool) or value is None:
        return type(value).__name__
    return "number" if isinstance(value, int | float) else type(value).__name__


def model(variant: Variant | None = None) -> tuple[EmulatedFusion, FakeClock]:
    clock = FakeClock()
    counters = {"counter.input": 10, "counter.output": 10, "counter.failed": 0}
    scenario = Scenario(
        jobs={"datasource:myDatasource": JobScript(runs=(RunScript(duration=5, result=counters),))},
        variant=variant or Variant(),
    )
    return EmulatedFusion(scenario, clock=clock, epoch=EPOCH), clock


def test_the_spark_start_answer() -> None:
    fusion, _ = model()
    assert shape(fusion.start("my-python-job")) == shape(
        sample("spark_start_custom_python_5.9.json")
    )


def test_the_jobs_api_answers() -> None:
    fusion, clock = model()
    job = "datasource:myDatasource"
    assert shape(fusion.status(job)) == shape(sample("app_jobs_never_run_5.x.json")[0])
    started = fusion.action(job, "start", resource=job)
    assert shape(started) == shape(sample("jobs_actions_start_4.2.json"))
    clock.advance(10)
    assert shape(fusion.status(job)) == shape(sample("app_jobs_after_success_5.x.json")[0])
    [record] = fusion.all_runs(job)
    assert shape(record) == shape(sample("jobs_history_3runs_5.x.json")[0])


def test_a_history_without_run_ids_is_the_reference_s() -> None:
    fusion, clock = model(Variant(history_run_ids=False))
    job = "datasource:myDatasource"
    fusion.action(job, "start", resource=job)
    clock.advance(10)
    [record] = fusion.all_runs(job)
    assert shape(record) == shape(sample("jobs_history_no_runid_4.2.json")[0])


def test_refusals_and_sessions_over_http() -> None:
    access = Access(user="admin", password="secret")
    with Emulator(EmulatedFusion(), access=access) as live:
        refused = requests.get(f"{live.url}/api/spark/jobs/x", timeout=5)
        login = requests.post(
            f"{live.url}/api/session?realmName=native",
            json={"username": "admin", "password": "secret"},
            timeout=5,
        )
    assert refused.status_code == 401
    assert shape(refused.json()) == shape(sample("error_401_proxy_apikey_5.x.json"))
    documented = (SAMPLES / "session_login_201_headers.http").read_text().splitlines()
    cookie = next(line.split(": ", 1)[1] for line in documented if line.startswith("Set-Cookie"))
    assert login.status_code == int(documented[0].split()[1]) == 201
    pattern = re.escape(cookie).replace(re.escape(cookie[3:39]), "[0-9a-f]+")
    assert re.fullmatch(pattern, login.headers["Set-Cookie"])


def test_times_as_fusion_writes_them() -> None:
    fusion, clock = model()
    fusion.start("my-python-job")
    clock.advance(5)
    [status] = fusion.all_runs("my-python-job")
    started = datetime.strptime(status["startTime"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert started == datetime(2026, 1, 1, tzinfo=UTC)
