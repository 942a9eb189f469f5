"""Resilience end to end, live against the emulator over HTTP on a fake clock: faults, secrets in
every output, a file system that fills up mid-run (tests/process/test_resilience.py kills, signals
and resumes fusion-run in processes of its own)."""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from runner.emulator.model import EmulatedFusion, Reply
from runner.emulator.scenario import (
    Fault,
    FaultTarget,
    JobScript,
    RunScript,
    Scenario,
    load_scenario,
)
from runner.emulator.server import Emulator
from runner.engine import Engine
from runner.fusion.client import FusionClient
from runner.plan.loader import load_plan
from runner.report.journal import Journal
from tests.helpers.cli import invoke
from tests.helpers.fakes import CREDENTIALS, EPOCH, FakeClock
from tests.helpers.paths import EXAMPLES, WritePlan
from tests.helpers.recording import full_access
from tests.helpers.reports import read_report, valid


def fusion_run(*args: str, env: dict[str, str], clock: FakeClock) -> tuple[int, str, str]:
    result = invoke(*args, env=env, clock=clock)
    return result.exit_code, result.stdout, result.stderr


def secret_forms() -> list[str]:
    pair = f"{CREDENTIALS['FUSION_USER']}:{CREDENTIALS['FUSION_PASSWORD']}".encode()
    forms = [value for name, value in CREDENTIALS.items() if name != "FUSION_USER"]
    forms += [
        base64.b64encode(pair).decode(),
        base64.b64encode(CREDENTIALS["FUSION_PASSWORD"].encode()).decode(),
    ]
    return forms


@pytest.fixture
def clock() -> FakeClock:
    """The time of the emulator's runs, and of the fusion-run that follows them."""
    return FakeClock()


@pytest.fixture
def emulator(clock: FakeClock) -> Iterator[Emulator]:
    """Fusion as a careless proxy: a failed run's error quotes every credential in the
    environment, and the first status reads answer 503 with a body that quotes the tokens and
    session cookies Fusion handed out; both in colour. Its runs go by `clock`."""
    echo = "\x1b[31mrefused\x1b[0m " + " ".join(secret_forms())
    scenario = Scenario(
        jobs={
            "crawl": JobScript(runs=(RunScript(duration=0.3, result={"echo": echo}),)),
            "train": JobScript(runs=(RunScript(duration=0.3, state="error", error=echo),)),
        }
    )
    model = EmulatedFusion(scenario, clock=clock, epoch=EPOCH)
    with Emulator(model, access=full_access()) as running:
        status, reads = model.status, [0]

        def status_echoing(job_id: str) -> Any:
            reads[0] += 1
            if reads[0] <= 2:
                handed_out = " ".join([*running.tokens, *running.sessions, *secret_forms()[:1]])
                raise Reply(503, {"message": f"\x1b[33mbusy\x1b[0m; you sent {handed_out}"})
            return status(job_id)

        model.status = status_echoing  # type: ignore[method-assign]
        yield running


@pytest.mark.parametrize("auth", ["basic", "session", "oauth2", "api-key", "bearer"])
@pytest.mark.parametrize("case", ["succeeds", "fails", "report-unwritable"])
def test_no_credential_is_ever_shown_or_written(
    emulator: Emulator,
    clock: FakeClock,
    write_plan: WritePlan,
    monkeypatch: pytest.MonkeyPatch,
    *,
    auth: str,
    case: str,
) -> None:
    """Every output, with Fusion echoing every secret it was sent or handed out: the console with
    --verbose, the report, JUnit, the GitHub summary and annotations, and the final report that
    goes to stderr when it cannot be written."""
    steps, code = {
        "succeeds": ("[crawl]", 0),
        "fails": ("[crawl, train]", 1),
        "report-unwritable": ("[crawl, train]", 3),
    }[case]
    plan = write_plan(f"version: 1\nfusion:\n  auth: {auth}\nsteps: {steps}\n")
    if code == 3:
        from runner.report import journal as reports  # noqa: PLC0415

        real = reports.write_atomically

        def full_at_the_end(path: str, data: dict[str, Any]) -> None:
            if data["outcome"] != "running":
                raise OSError(28, "No space left on device")
            real(path, data)

        monkeypatch.setattr(reports, "write_atomically", full_at_the_end)
    github = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": "summary.md"}
    env = {**CREDENTIALS, **github}
    result = invoke(plan, "--url", emulator.url, "-v", "--junit", "junit.xml", env=env, clock=clock)
    assert result.exit_code == code, result.stderr
    assert "GET " in result.stderr  # verbose: every request is shown
    assert "Fusion's final status of run " in result.stderr  # and what expect sees
    assert "busy; you sent ***" in result.stderr
    outputs = {
        "stdout": result.stdout,
        "stderr": result.stderr,
        "report": Path("fusion-run-report.json").read_text(),
        "junit": Path("junit.xml").read_text(),
        "summary": Path("summary.md").read_text(),
    }
    if code:
        assert "refused " + " ".join(["***"] * len(secret_forms())) in outputs["junit"]
    if code == 3:
        assert '"outcome": "failed"' in result.stderr  # the final report, printed
    handed_out = [*emulator.tokens, *emulator.sessions]
    assert bool(handed_out) == (auth in ("session", "oauth2"))
    for name, text in outputs.items():
        for secret in [*secret_forms(), *handed_out]:
            assert secret[:8] not in text, (name, secret)  # not even cut short
        if name != "report":  # JSON escapes them; text outputs drop them
            assert "\x1b" not in text, name


def test_refused_credentials_mid_plan_exit_3_without_showing_them(
    emulator: Emulator, clock: FakeClock, write_plan: WritePlan
) -> None:
    wrong = {**CREDENTIALS, "FUSION_PASSWORD": "Wr0ng-but-also-secret"}
    plan = write_plan("version: 1\nfusion: {auth: basic}\nsteps: [crawl]\n")
    code, _, err = fusion_run(plan, "--url", emulator.url, "-v", env=wrong, clock=clock)
    assert code == 3
    assert err.splitlines()[-2:] == [
        f"fusion-run stopped: Fusion refused the credentials: GET {emulator.url}/api/spark/"
        "configurations/crawl: 401 Unauthorized: unauthorized; check FUSION_USER and "
        "FUSION_PASSWORD (fusion.auth basic)",
        "fusion-run: plan plan failed in 0s: 1 not run. Report: fusion-run-report.json",
    ]
    for text in (err, Path("fusion-run-report.json").read_text()):
        assert "Wr0ng-but-also-secret" not in text
        assert base64.b64encode(b"fusion-admin:Wr0ng-but-also-secret").decode() not in text


def test_credentials_forbidden_before_anything_starts_say_what_to_ask_for(
    emulator: Emulator, clock: FakeClock, write_plan: WritePlan
) -> None:
    def forbidden(*_: Any, **__: Any) -> Any:
        raise Reply(403, {"message": "Forbidden"})

    emulator.model.configuration = forbidden  # type: ignore[method-assign]
    emulator.model.all_runs = forbidden  # type: ignore[method-assign]
    plan = write_plan("version: 1\nfusion: {auth: basic}\nsteps: [crawl]\n")
    code, _, err = fusion_run(plan, "--url", emulator.url, env=CREDENTIALS, clock=clock)
    assert code == 3
    stopped = next(line for line in err.splitlines() if line.startswith("fusion-run stopped: "))
    assert stopped.endswith(
        ": 403 Forbidden: Forbidden; Fusion knows these credentials, but they may not do this: "
        "give that user or key a role in Fusion that may read and start the plan's jobs"
    )
    closing = err.splitlines()[-1]
    assert closing.startswith("fusion-run: plan plan failed in ")
    assert closing.endswith(": 1 not run. Report: fusion-run-report.json")


def test_an_error_line_that_quotes_the_credentials_masks_them(
    emulator: Emulator, clock: FakeClock, write_plan: WritePlan
) -> None:
    """Fusion refuses the credentials in words that quote them: the one line fusion-run prints
    on stderr, the report and JUnit mask them."""
    password = CREDENTIALS["FUSION_PASSWORD"]
    pair = base64.b64encode(f"{CREDENTIALS['FUSION_USER']}:{password}".encode()).decode()

    def refusing(job_id: str) -> Any:
        raise Reply(401, {"message": f"Basic {pair} ({password}) may not read {job_id}"})

    emulator.model.configuration = refusing  # type: ignore[method-assign]
    plan = write_plan("version: 1\nfusion: {auth: basic}\nsteps: [crawl]\n")
    code, _, err = fusion_run(
        plan, "--url", emulator.url, "--junit", "j.xml", env=CREDENTIALS, clock=clock
    )
    assert code == 3
    refused = (
        f"Fusion refused the credentials: GET {emulator.url}/api/spark/configurations/crawl: "
        "401 Unauthorized: Basic *** (***) may not read crawl; check FUSION_USER and "
        "FUSION_PASSWORD (fusion.auth basic)"
    )
    assert err.splitlines()[-2:] == [
        f"fusion-run stopped: {refused}",
        "fusion-run: plan plan failed in 0s: 1 not run. Report: fusion-run-report.json",
    ]
    report = read_report()
    assert report["error"] == refused
    failure = ET.parse("j.xml").getroot().find(".//testcase[@classname='fusion-run']/failure")
    assert failure is not None
    assert failure.get("message") == f"exit 3: {refused}; step 'crawl' did not run"


STATUS_FAULTS: list[int | str] = [429, 502, 503, 504, "reset"]


def run_live(
    model: EmulatedFusion, clock: FakeClock, plan_text: str, tmp_path: Path
) -> dict[str, Any]:
    """Engine and real HTTP client against the live emulator, both on one fake clock."""
    path = tmp_path / "plan.yaml"
    path.write_text(plan_text)
    plan = load_plan(str(path))
    reports: list[dict[str, Any]] = []
    with Emulator(model) as running:
        fusion = FusionClient(url=running.url, api=plan.fusion.api)
        engine = Engine(
            plan,
            fusion,
            clock,
            url=running.url,
            rng=random.Random(5),
            reporter=Journal(lambda report: reports.append(valid(report))),
        )
        engine.preflight()
        engine.execute()
    return reports[-1]


def test_every_status_fault_still_succeeds_with_one_start_per_attempt(tmp_path: Path) -> None:
    """Every fault the emulator injects on status reads, on each job, in one plan."""
    faults = tuple(
        Fault(
            on=FaultTarget.STATUS,
            answer=answer,
            after=2 * index,
            retry_after=1 if answer in (429, 503) else None,
        )
        for index, answer in enumerate(STATUS_FAULTS)
    )
    jobs = {
        job: JobScript(runs=(RunScript(duration=20),), faults=faults, stale_reads=1) for job in "ab"
    }
    clock = FakeClock()
    model = EmulatedFusion(Scenario(jobs=jobs), clock=clock, epoch=EPOCH)
    report = run_live(model, clock, "version: 1\nsteps: [a, b]\n", tmp_path)
    assert report["outcome"] == "succeeded"
    for step in report["steps"]:
        assert model.starts(step["job"]) == len(step["attempts"]) == 1


def test_the_flaky_gateway_example_succeeds(tmp_path: Path) -> None:
    scenario = load_scenario(str(EXAMPLES / "scenarios" / "flaky-gateway.yaml"))
    clock = FakeClock()
    model = EmulatedFusion(scenario, clock=clock, epoch=EPOCH)
    text = (EXAMPLES / "quickstart.yaml").read_text().replace("auth: basic", "auth: none")
    report = run_live(model, clock, text, tmp_path)
    assert report["outcome"] == "succeeded"
    assert {s["job"]: model.starts(s["job"]) for s in report["steps"]} == {
        "my-python-job": 1,
        # its start's answer was lost: followed, not repeated
        "products_click_signals_aggregation": 1,
        "products_query_rewrite": 1,
    }


# --- never lost: a full disk ---------------------------------------------------------------------


def test_a_full_disk_mid_run_orphans_no_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The report stops being writable once six runs have started: fusion-run warns once,
    follows them to their end, starts nothing it cannot record, and exits 3 with the final
    state on stderr. With the space back, a resume picks the runs up and starts only the rest."""
    first = [f"a{i}" for i in range(6)]
    then = [f"b{i}" for i in range(6)]
    scenario = Scenario(
        jobs={job: JobScript(runs=(RunScript(duration=0.5),)) for job in first + then}
    )
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "version: 1\nfusion: {auth: none}\nmax_parallel: 6\nsteps:\n"
        + "".join(f"  - job: {job}\n    depends_on: []\n" for job in first)
        + "".join(
            f"  - job: {b}\n    depends_on: [{a}]\n" for a, b in zip(first, then, strict=True)
        )
    )
    report = tmp_path / "r.json"
    from runner.report import journal as reports  # noqa: PLC0415

    full = False
    real = reports.write_text_atomically

    def full_once_six_runs_are_named(path: str, text: str) -> None:
        nonlocal full
        if full:
            raise OSError(28, "No space left on device")
        real(path, text)
        full = sum(bool(s["run_id"]) for s in json.loads(text)["steps"]) == 6

    clock = FakeClock()
    model = EmulatedFusion(scenario, clock=clock, epoch=EPOCH)
    with Emulator(model) as emulator:
        monkeypatch.setattr(reports, "write_text_atomically", full_once_six_runs_are_named)
        code, _, err = fusion_run(
            str(plan), "--url", emulator.url, "--report", str(report), env={}, clock=clock
        )
        monkeypatch.setattr(reports, "write_text_atomically", real)
        assert code == 3
        lines = err.splitlines()
        closing = [line for line in lines if line.startswith("fusion-run: plan ")]
        assert closing[-1].endswith(
            f"6 succeeded, 6 not run. The report {report} could not be written: its final "
            "state follows"
        )  # not "Report: ...": the file there is an older one
        warned = [line for line in lines if line.startswith("fusion-run: cannot write the report")]
        assert warned == [
            f"fusion-run: cannot write the report {report}: No space left on device; the last "
            "good one stays in place, and fusion-run tries again at every change",
            f"fusion-run: cannot write the report {report}: No space left on device; its final "
            "state is printed above",
        ]
        final = valid(json.loads(err[err.index("\n{") + 1 : err.rindex("\n}") + 2]))
        assert [s["outcome"] for s in final["steps"]] == ["succeeded"] * 6 + ["not_run"] * 6
        assert final["steps"][6]["reason"].startswith(
            "not started: the report cannot be written (No space left on device)"
        )
        on_disk = read_report(report)  # the last good one: every run named
        assert [bool(s["run_id"]) for s in on_disk["steps"]] == [True] * 6 + [False] * 6
        assert {job: model.starts(job) for job in first + then} == dict.fromkeys(
            first, 1
        ) | dict.fromkeys(then, 0)

        code, _, err = fusion_run(
            str(plan),
            "--url",
            emulator.url,
            "--report",
            str(report),
            "--resume",
            str(report),
            env={},
            clock=clock,
        )
        assert code == 0, err
        assert all(model.starts(job) == 1 for job in first + then)  # nothing started twice
