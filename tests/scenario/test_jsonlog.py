"""`--log-format json`: one JSON object per event on stderr, each valid against
schemas/events.schema.json, on the emulator and a fake clock (tests/process/test_jsonlog.py runs
the real command, with no terminal)."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from runner import events as ev
from runner.emulator.model import EmulatedFusion
from runner.emulator.scenario import RunScript, load_scenario
from runner.emulator.server import Emulator
from runner.engine.handlers import HANDLERS
from runner.engine.phases import Phase
from runner.plan.loader import load_plan
from runner.reasons import Detached, StillRunning
from runner.redact import MASK, Redactor
from runner.report import Reporters
from runner.report.console import Console, elapsed
from runner.report.jsonlog import JsonLog, event_name
from runner.schemas import load_schema
from tests.helpers.cli import invoke
from tests.helpers.engine import jobs, run, runs
from tests.helpers.fakes import FakeClock, step
from tests.helpers.paths import EXAMPLES, WritePlan
from tests.helpers.reports import read_report

SCHEMA = load_schema("events.schema.json")
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA, format_checker=None)
# The schema's objects that are not typed events, and the event that is none of its own.
NOT_EVENTS = {"heartbeat", "warning", "request", "final_report", "error"}
FOLDED = {ev.Tick: "heartbeat"}  # Tick is the heartbeat objects

EXAMPLE_RUNS = {  # scenario: plan
    "flaky-gateway": "quickstart",
    "nightly-failures": "nightly-recommendations",
    "stuck-crawl": "stuck-crawl",
    "nightly-search": "nightly-search",
}


def lines(stderr: str) -> list[dict[str, Any]]:
    """Every line of stderr, each parsed and valid against the schema."""
    parsed = []
    for line in stderr.splitlines():
        record = json.loads(line)
        errors = [error.message for error in VALIDATOR.iter_errors(record)]
        assert errors == [], (line, errors)
        parsed.append(record)
    return parsed


def event_classes() -> list[type[ev.Event]]:
    return [
        cls
        for cls in vars(ev).values()
        if isinstance(cls, type) and issubclass(cls, ev.Event) and cls is not ev.Event
    ]


def the_if(name: str) -> dict[str, Any]:
    """The schema's `then` for the object named `name`."""
    for branch in SCHEMA["allOf"]:
        if branch["if"]["properties"]["event"].get("const") == name and "then" in branch:
            then: dict[str, Any] = branch["then"]
            return then
    raise AssertionError(f"no entry for {name} in schemas/events.schema.json")


def test_every_event_has_an_entry_in_the_schema_with_its_fields() -> None:
    """An Event subclass added without its entry in schemas/events.schema.json fails here."""
    names = SCHEMA["properties"]["event"]["enum"]
    for cls in event_classes():
        if cls in FOLDED:
            assert FOLDED[cls] in names
            continue
        name = event_name(cls)
        assert name in names, f"{cls.__name__}: add {name!r} to schemas/events.schema.json"
        fields = [f.name for f in dataclasses.fields(cls) if f.name not in ("at", "step")]
        fields += ["reason_fact"] if "reason" in fields else []
        if cls is ev.PlanStarted or cls is ev.PlanEnded:  # the header and the closing table
            assert set(fields) <= set(the_if(name)["required"])
        else:
            assert sorted(the_if(name)["required"]) == sorted(fields), name
    known = {event_name(cls) for cls in event_classes() if cls not in FOLDED}
    assert set(names) == known | NOT_EVENTS


@pytest.mark.parametrize("scenario", EXAMPLE_RUNS)
def test_every_line_of_the_example_scenarios_is_valid(
    scenario: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    plan = str(EXAMPLES / f"{EXAMPLE_RUNS[scenario]}.yaml")
    args = ("--emulate", "--scenario", str(EXAMPLES / "scenarios" / f"{scenario}.yaml"))
    result = invoke(plan, *args, "--log-format", "json", "--heartbeat", "3s", "-v")
    assert result.stdout == ""
    records = lines(result.stderr)
    assert records[0]["event"] == "plan_started"
    assert records[-1]["event"] == "plan_ended"
    assert records[-1]["exit_code"] == result.exit_code
    assert {"heartbeat", "request", "step_ended", "final_status"} <= {r["event"] for r in records}


@pytest.mark.parametrize("scenario", EXAMPLE_RUNS)
def test_each_line_the_console_prints_has_its_object(scenario: str) -> None:
    """The same run told by both: each event line of the console (heartbeats and, with
    --verbose, final statuses included) is an object's envelope and text, in the same order."""
    plan = load_plan(str(EXAMPLES / f"{EXAMPLE_RUNS[scenario]}.yaml"))
    script = load_scenario(str(EXAMPLES / "scenarios" / f"{scenario}.yaml"))
    text, json_lines = io.StringIO(), io.StringIO()
    console = Console(text, live=False, verbose=True, heartbeat=3)
    run(
        list(plan.steps),
        script,
        reporter=Reporters(console, JsonLog(Redactor(), json_lines, heartbeat=3)),
    )
    printed = text.getvalue().split("\n\n")[0].splitlines()  # the events, before the table
    told = [
        f"{elapsed(r['at']):>7} "
        + (f"{r['step']}: " if r["step"] else "")
        + ("warning: " if r["warning"] else "")
        + r["text"]
        for r in lines(json_lines.getvalue())
        if r["event"] not in ("start_requested", "plan_ended")  # the console says neither
    ]
    assert told == printed
    assert len(printed) > 5


def test_the_example_scenarios_cover_most_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    seen = set()
    for scenario, plan in EXAMPLE_RUNS.items():
        args = ("--emulate", "--scenario", str(EXAMPLES / "scenarios" / f"{scenario}.yaml"))
        result = invoke(str(EXAMPLES / f"{plan}.yaml"), *args, "--log-format", "json")
        seen |= {record["event"] for record in lines(result.stderr)}
    assert {
        "plan_started",
        "start_requested",
        "started",
        "run_identified",
        "state_changed",
        "final_status",
        "criterion_warned",
        "step_ended",
        "checked",
        "retrying",
        "cancelling",
        "run_late",
        "driver_log_kept",
        "contact_lost",
        "start_answer_lost",
        "lost_start_found",
        "fusion_may_start",
        "plan_ended",
    } <= seen


def test_a_failing_run_as_json_lines(write_plan: WritePlan) -> None:
    Path("s.yaml").write_text(
        "version: 1\njobs:\n  crawl: {runs: [{duration: 1}]}\n"
        "  train: {runs: [{duration: 2, state: error, error: boom}]}\n"
    )
    plan = write_plan("version: 1\nname: nightly\nsteps: [crawl, train, index]\n")
    result = invoke(plan, "--emulate", "--scenario", "s.yaml", "--log-format", "json")
    assert result.exit_code == 1
    records = lines(result.stderr)
    run_id = read_report()["steps"][1]["run_id"]
    [ended] = [r for r in records if r["event"] == "step_ended" and r["step"] == "train"]
    assert ended["outcome"] == "failed"
    assert ended["reason"] == f"run {run_id} ended error: boom"
    assert ended["reason_fact"]["kind"] == "criteria_failed"
    last = records[-1]
    assert {key: last[key] for key in ("event", "plan", "step", "outcome", "exit_code")} == {
        "event": "plan_ended",
        "plan": "nightly",
        "step": None,
        "outcome": "failed",
        "exit_code": 1,
    }
    assert last["verdict"] == "exit 1: step 'train' failed"
    assert (last["summary"]["failed"], last["summary"]["skipped"]) == (1, 1)
    assert [row["step"] for row in last["results"]] == ["crawl", "train", "index"]
    assert last["results"][1]["reason"] == f"run {run_id} ended error: boom"
    assert last["report"] == "fusion-run-report.json"
    assert last["text"].startswith("fusion-run: plan nightly failed in ")
    first = records[0]
    assert first["text"].startswith("fusion-run: plan nightly: 3 step(s) against the emulator at")
    assert (first["steps"], first["selected"], first["emulated"]) == (3, None, True)
    assert [r["at"] for r in records] == sorted(r["at"] for r in records)


def test_credentials_fusion_echoes_are_masked_in_every_line(write_plan: WritePlan) -> None:
    Path("s.yaml").write_text(
        "version: 1\njobs:\n  crawl: {runs: [{duration: 1, state: error, "
        "error: 'login admin:s3cr3t-pw refused, token tok-9f8e7d'}]}\n"
    )
    plan = write_plan("version: 1\nsteps: [crawl]\n")
    env = {"FUSION_USER": "admin", "FUSION_PASSWORD": "s3cr3t-pw", "FUSION_TOKEN": "tok-9f8e7d"}
    result = invoke(plan, "--emulate", "--scenario", "s.yaml", "--log-format", "json", env=env)
    assert result.exit_code == 1
    assert "s3cr3t" not in result.stderr
    assert "tok-9f8e7d" not in result.stderr
    [ended] = [r for r in lines(result.stderr) if r["event"] == "step_ended"]
    assert ended["reason"].endswith("ended error: login *** refused, token ***")


@pytest.mark.parametrize("password", ["0", "1", "succeeded", "step", "event", "crawl"])
def test_no_key_name_time_or_outcome_is_masked_whatever_the_password(
    write_plan: WritePlan, password: str
) -> None:
    """Fusion's words are masked as they arrive, as for the console; the log masks nothing else,
    so a password that is a digit, an outcome, a key or a job's name changes no line."""
    plan = write_plan("version: 1\nname: nightly\nsteps: [crawl]\n")
    env = {"FUSION_USER": "admin", "FUSION_PASSWORD": password}
    result = invoke(plan, "--emulate", "--log-format", "json", env=env)
    assert result.exit_code == 0
    records = lines(result.stderr)  # each valid against the schema
    assert not [key for record in records for key in _keys(record) if MASK in key]
    assert not [r["time"] for r in records if MASK in r["time"] + r["event"] + r["plan"]]
    assert records[-1]["outcome"] == "succeeded"
    assert records[-1]["summary"]["succeeded"] == 1
    assert [r["step"] for r in records if r["event"] == "step_ended"] == ["crawl"]


def _keys(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [*value, *(key for item in value.values() for key in _keys(item))]
    if isinstance(value, list):
        return [key for item in value for key in _keys(item)]
    return []


def test_an_error_object_masks_its_free_text_only(write_plan: WritePlan) -> None:
    """What ends the command may quote anything: its words are masked as the text format's
    error lines are; its keys and exit code stay."""
    plan = write_plan("version: 1\nname: step\nsteps: [crawl]\n")
    env = {"FUSION_USER": "a", "FUSION_PASSWORD": "step", "FUSION_URL": "http://127.0.0.1:9/step"}
    result = invoke(plan, "--log-format", "json", env=env)
    assert result.exit_code == 3
    started, *_, error = lines(result.stderr)
    assert (started["event"], started["plan"]) == ("plan_started", "step")
    assert (error["event"], error["step"], error["exit_code"]) == ("error", None, 3)
    assert error["text"].startswith("fusion-run: Fusion at http://127.0.0.1:9/*** did not answer")
    assert "step" not in error["text"]


def test_heartbeats_come_as_the_consoles_do(write_plan: WritePlan) -> None:
    """One heartbeat object per active run at each --heartbeat of its age, as the console's
    heartbeat lines without a terminal; none with --heartbeat 0."""
    scenario = jobs(crawl=runs(RunScript(duration=17 * 60)))
    text, json_lines = io.StringIO(), io.StringIO()
    run([step("crawl")], scenario, reporter=Console(text, live=False))
    run([step("crawl")], scenario, reporter=JsonLog(Redactor(), json_lines))
    beats = [r for r in lines(json_lines.getvalue()) if r["event"] == "heartbeat"]
    said = [line for line in text.getvalue().splitlines() if "still" in line]
    assert [r["text"] for r in beats] == [line.split(": ", 1)[1] for line in said]
    assert [round(r["age"]) for r in beats] == [306, 606, 906]  # at the first read after
    assert {(r["step"], r["state"], r["phase"]) for r in beats} == {("crawl", "running", "polling")}
    quiet = io.StringIO()
    run([step("crawl")], scenario, reporter=JsonLog(Redactor(), quiet, heartbeat=0))
    assert "heartbeat" not in quiet.getvalue()


def test_verbose_adds_each_request(write_plan: WritePlan) -> None:
    Path("s.yaml").write_text("version: 1\njobs:\n  crawl: {runs: [{duration: 1}]}\n")
    plan = write_plan("version: 1\nsteps: [crawl]\n")
    args = (plan, "--emulate", "--scenario", "s.yaml", "--log-format", "json")
    quiet, verbose = invoke(*args), invoke(*args, "-v")
    assert "request" not in {r["event"] for r in lines(quiet.stderr)}
    requests = [r for r in lines(verbose.stderr) if r["event"] == "request"]
    assert requests[0]["text"].startswith("GET http://127.0.0.1:")
    assert requests[0]["plan"] == "plan"


def test_an_invalid_plan_is_one_error_line(write_plan: WritePlan) -> None:
    plan = write_plan("version: 1\nsteps:\n  - job: crawl\n    depends_on: [nope]\n")
    result = invoke(plan, "--emulate", "--log-format", "json")
    assert result.exit_code == 2
    [error] = lines(result.stderr)
    assert error["event"] == "error"
    assert (error["exit_code"], error["text"], error["plan"], error["at"]) == (
        2,
        "fusion-run: 1 problem(s)",
        None,
        None,
    )
    [problem] = error["problems"]
    assert (problem["file"], problem["line"], problem["path"]) == (
        "plan.yaml",
        4,
        "$.steps[0].depends_on[0]",
    )
    assert problem["text"] == f"plan.yaml:4:18: $.steps[0].depends_on[0]: {problem['message']}"
    assert error["traceback"] is None


def test_a_job_fusion_lacks_is_an_error_line_after_plan_started(write_plan: WritePlan) -> None:
    plan = write_plan("version: 1\nfusion:\n  auth: none\nsteps: [crawl]\n")
    clock = FakeClock()
    with Emulator(EmulatedFusion(clock=clock)) as emulator:  # it has no job crawl
        result = invoke(plan, "--url", emulator.url, "--log-format", "json", clock=clock)
    records = lines(result.stderr)
    assert result.exit_code == 2
    assert [r["event"] for r in records] == ["plan_started", "error"]
    assert records[-1]["exit_code"] == 2
    [problem] = records[-1]["problems"]
    assert problem["message"] == f"job 'crawl' has no configuration in Fusion at {emulator.url}/api"


def test_fusion_out_of_reach_is_an_error_line_with_exit_3(write_plan: WritePlan) -> None:
    plan = write_plan("version: 1\nfusion:\n  auth: none\n  first_contact: 1s\nsteps: [crawl]\n")
    result = invoke(plan, "--url", "http://127.0.0.1:9", "--log-format", "json")
    assert result.exit_code == 3
    records = lines(result.stderr)
    assert {r["event"] for r in records} == {"plan_started", "contact_lost", "error"}
    assert records[-1]["exit_code"] == 3
    assert records[-1]["text"].startswith(
        "fusion-run: Fusion at http://127.0.0.1:9 did not answer for 1s"
    )


def test_an_internal_error_is_an_error_line_with_its_traceback(
    write_plan: WritePlan, monkeypatch: pytest.MonkeyPatch
) -> None:
    Path("s.yaml").write_text("version: 1\njobs:\n  crawl: {runs: [{duration: 1}]}\n")
    plan = write_plan("version: 1\nsteps: [crawl]\n")

    def follow(*_: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setitem(HANDLERS, Phase.FOLLOW, follow)
    args = (plan, "--emulate", "--scenario", "s.yaml", "--log-format", "json")
    result = invoke(*args)
    assert result.exit_code == 3
    error = lines(result.stderr)[-1]
    assert error["text"] == (
        "fusion-run: internal error: RuntimeError: a bug (run again with --traceback for details)"
    )
    traced = lines(invoke(*args, "--traceback").stderr)[-1]
    assert traced["text"] == "fusion-run: internal error: RuntimeError: a bug"
    assert traced["traceback"][0] == "Traceback (most recent call last):"
    assert traced["traceback"][-1] == "RuntimeError: a bug"


def test_a_report_that_cannot_be_written_ends_in_json_too(
    write_plan: WritePlan, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The warning, plan_ended saying why, the final report on one line, then the error."""
    Path("s.yaml").write_text("version: 1\njobs:\n  crawl: {runs: [{duration: 1}]}\n")
    plan = write_plan("version: 1\nsteps: [crawl]\n")
    from runner.report import journal  # noqa: PLC0415

    real, writes = journal.write_text_atomically, []

    def full(path: str, text: str) -> None:  # the disk fills up once the run has started
        writes.append(path)
        if len(writes) > 2:
            raise OSError(28, "No space left on device")
        real(path, text)

    monkeypatch.setattr(journal, "write_text_atomically", full)
    result = invoke(plan, "--emulate", "--scenario", "s.yaml", "--log-format", "json")
    assert result.exit_code == 3
    records = lines(result.stderr)
    assert [r["event"] for r in records][-3:] == ["plan_ended", "final_report", "error"]
    assert records[-3]["unrecorded"] == "No space left on device"
    assert records[-2]["report"]["steps"][0]["name"] == "crawl"
    assert records[-1]["text"] == (
        "fusion-run: cannot write the report fusion-run-report.json: No space left on device; "
        "its final state is printed above"
    )
    assert any(r["event"] == "warning" for r in records)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--validate", "--log-format", "json"),
            "--log-format is for a run's events: --validate writes its problems as JSON with "
            "--format json",
        ),
        (
            ("--check", "--log-format", "json"),
            "--log-format does nothing with --check: use it with a run",
        ),
        (
            ("-q", "--log-format", "json"),
            "--quiet does nothing with --log-format json, which writes every event: choose one, "
            "or filter the JSON lines (jq)",
        ),
    ],
)
def test_log_format_refused_where_it_means_nothing(
    write_plan: WritePlan, args: tuple[str, ...], message: str
) -> None:
    """Asked for JSON, the refusal is an error object too."""
    plan = write_plan("version: 1\nsteps: [crawl]\n")
    result = invoke(plan, *args)
    assert result.exit_code == 2
    [error] = lines(result.stderr)
    assert (error["text"], error["exit_code"]) == (f"fusion-run: {message}", 2)


def test_log_format_text_is_refused_as_any_option(write_plan: WritePlan) -> None:
    result = invoke(write_plan("version: 1\nsteps: [crawl]\n"), "--dry-run", "--log-format", "text")
    assert (result.exit_code, result.stderr) == (
        2,
        "fusion-run: --log-format does nothing with --dry-run: use it with a run\n",
    )


def test_a_resume_writes_json_lines_too(write_plan: WritePlan) -> None:
    Path("s.yaml").write_text(
        "version: 1\njobs:\n  train: {runs: [{duration: 1, state: error, error: boom}]}\n"
    )
    plan = write_plan("version: 1\nsteps: [crawl, train]\n")
    args = (plan, "--emulate", "--scenario", "s.yaml")
    assert invoke(*args).exit_code == 1
    result = invoke(*args, "--resume", "fusion-run-report.json", "--log-format", "json")
    assert result.exit_code == 1
    records = lines(result.stderr)
    started = [r["step"] for r in records if r["event"] == "started"]
    assert started == ["train"]  # crawl is kept from the earlier report
    assert [r["outcome"] for r in records[-1]["results"]] == ["succeeded", "failed"]


def test_after_a_detach_plan_ended_names_the_command_that_follows_the_runs() -> None:
    out = io.StringIO()
    result = run([step("crawl")], jobs(crawl=runs(RunScript(duration=1)))).engine.result
    log = JsonLog(Redactor(), out, resume_command="fusion-run plan.yaml --resume r.json")
    log.finish(result)
    result.detached = True
    log.finish(result)
    attached, detached = lines(out.getvalue())
    assert (attached["detached"], attached["resume_command"]) == (False, None)
    assert (detached["detached"], detached["resume_command"]) == (
        True,
        "fusion-run plan.yaml --resume r.json",
    )


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["--bogus"], "fusion-run: No such option '--bogus'. Did you mean '--verbose'?"),
        (
            ["--max-parallel", "abc"],
            "fusion-run: Invalid value for '--max-parallel': 'abc' is not a valid integer range.",
        ),
        (["--var", "x"], "fusion-run: Invalid value for --var: expected NAME=VALUE, got 'x'"),
    ],
)
@pytest.mark.parametrize("asked", [["--log-format", "json"], ["--log-format=json"]])
def test_what_the_option_parser_refuses_is_an_error_object_too(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    text: str,
    asked: list[str],
) -> None:
    from runner import cli  # noqa: PLC0415

    monkeypatch.setattr("sys.argv", ["fusion-run", "plan.yaml", *asked, *args])
    with pytest.raises(SystemExit) as ended:
        cli.entry()
    assert ended.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    [error] = lines(err)
    assert (error["event"], error["exit_code"], error["text"]) == ("error", 2, text)


def test_a_step_whose_run_was_left_going_ended_running_as_the_report_says() -> None:
    out = io.StringIO()
    log = JsonLog(Redactor(), out)
    result = run([step("crawl")], jobs(crawl=runs(RunScript(duration=1)))).engine.result
    reason = StillRunning(run_id="r", cause=Detached())
    left = ev.StepEnded(at=3, step="crawl", outcome=None, reason=reason, duration=None, run_id="r")
    log.handle(left, result)
    [ended] = lines(out.getvalue())
    assert (ended["event"], ended["outcome"]) == ("step_ended", "running")
