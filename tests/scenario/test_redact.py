"""Every output of a plan whose Fusion echoes secrets in its error bodies masks them and drops
terminal codes, on a fake clock (tests/unit/test_redact.py holds the one module that does it;
tests/scenario/test_resilience.py sweeps the same over HTTP, for each kind of auth)."""

from __future__ import annotations

import base64
import io
import json
import random
from pathlib import Path
from typing import Any

from runner.emulator.adapter import ModelFusion
from runner.emulator.model import EmulatedFusion, Reply
from runner.emulator.scenario import JobScript, RunScript, Scenario
from runner.engine import Engine
from runner.redact import Redactor
from runner.report import Reporters
from runner.report.console import Console
from runner.report.github import GitHubActions
from runner.report.journal import Journal
from runner.report.junit import JUnitFile
from tests.helpers.engine import plan_of
from tests.helpers.fakes import CREDENTIALS, EPOCH, FakeClock, step
from tests.helpers.reports import valid

PASSWORD, API_KEY, TOKEN = (
    CREDENTIALS[name] for name in ("FUSION_PASSWORD", "FUSION_API_KEY", "FUSION_TOKEN")
)
PAIR = base64.b64encode(f"{CREDENTIALS['FUSION_USER']}:{PASSWORD}".encode()).decode()
OBTAINED = "oauth2-t0ken-fusion-handed-out"  # a token the client got from Fusion
ECHO = f"\x1b[31mdenied\x1b[0m for {PASSWORD} key={API_KEY} Bearer {OBTAINED} Basic {PAIR}"
MASKED = "\x1b[31mdenied\x1b[0m for *** key=*** Bearer *** Basic ***"  # in JSON, codes stay
SHOWN = "denied for *** key=*** Bearer *** Basic ***"  # in text


def echoing_fusion(clock: FakeClock, echo: str = ECHO) -> EmulatedFusion:
    """Fusion as a careless proxy: its error bodies quote the request's credentials, in colour."""
    scenario = Scenario(
        jobs={
            "crawl": JobScript(
                runs=(RunScript(duration=400, result={"docsWritten": 3, "note": f"t={TOKEN}"}),)
            ),
            "train": JobScript(runs=(RunScript(duration=5, state="error", error=echo),)),
            "publish": JobScript(),
        }
    )
    model = EmulatedFusion(scenario, clock=clock, epoch=EPOCH)
    status, start = model.status, model.start
    reads = {"crawl": 0}

    def status_echoing(job_id: str) -> Any:
        if job_id == "crawl" and reads["crawl"] < 2:  # two 500s, ridden out: a warning line
            reads["crawl"] += 1
            raise Reply(500, {"message": echo})
        return status(job_id)

    def start_refused(job_id: str) -> Any:
        if job_id == "publish":
            raise Reply(400, {"message": echo, "details": "no"})
        return start(job_id)

    model.status = status_echoing  # type: ignore[method-assign]
    model.start = start_refused  # type: ignore[method-assign]
    return model


def every_output(tmp_path: Path, credentials: dict[str, str], echo: str = ECHO) -> dict[str, str]:
    """Run a plan against `echoing_fusion` and collect what each output of fusion-run said."""
    clock = FakeClock()
    redact = Redactor.from_environ(credentials)
    redact.add(OBTAINED)
    stderr, stdout, reports = io.StringIO(), list[str](), list[str]()
    summary = tmp_path / "summary.md"
    plan = plan_of([step("crawl"), step("train", allow_failure=True), step("publish", "crawl")])
    console = Console(stderr, live=False, verbose=True, heartbeat=60)
    journal = Journal(lambda report: reports.append(json.dumps(valid(report))))
    environ = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    final = Reporters(
        JUnitFile(str(tmp_path / "junit.xml")),
        GitHubActions(plan, environ, stdout.append),
    )
    engine = Engine(
        plan,
        ModelFusion(echoing_fusion(clock, echo), redact=redact),  # as the run command gives it
        clock,
        url="http://emulated",
        rng=random.Random(3),
        reporter=Reporters(journal, console),
    )
    engine.preflight()
    engine.execute()
    final.finish(engine.result)
    console.finish(engine.result)
    return {
        "console": stderr.getvalue(),
        "annotations": "\n".join(stdout),
        "report": reports[-1],
        "every report": "\n".join(reports),
        "junit": (tmp_path / "junit.xml").read_text(),
        "summary": summary.read_text(),
    }


def test_no_output_shows_a_secret_fusion_echoes(tmp_path: Path) -> None:
    outputs = every_output(tmp_path, CREDENTIALS)
    for name, text in outputs.items():
        for secret in (PASSWORD, API_KEY, TOKEN, OBTAINED, PAIR):
            assert secret[:6] not in text, (name, secret)  # nor a secret cut short
        if name not in ("report", "every report"):  # JSON escapes them instead
            assert "\x1b" not in text, name
    report = json.loads(outputs["report"])
    crawl, train, publish = report["steps"]
    assert train["attempts"][0]["error"] == MASKED
    refused = "could not start job publish: POST http://emulated/api/spark/jobs/publish: "
    assert publish["reason"] == f"{refused}400 Bad Request: {MASKED}"
    assert crawl["attempts"][0]["result"] == {
        "jobConfigId": "crawl",
        "jobRunId": crawl["run_id"],
        "docsWritten": 3,
        "note": "t=***",
    }
    lines = outputs["console"].splitlines()
    assert (
        "   0:00 crawl: lost contact with Fusion (GET http://emulated/api/spark/jobs/crawl: "
        f"500 Internal Server Error: {SHOWN}); trying again"
    ) in lines
    assert f"   1:08 crawl: still running (run {crawl['run_id']}, 1m6s)" in lines  # began at 0:02
    said = f"   6:48 crawl: Fusion's final status of run {crawl['run_id']}: "
    [status] = [line.removeprefix(said) for line in lines if line.startswith(said)]
    assert json.loads(status)["result"]["note"] == "t=***"
    assert (
        "::error file=plan.yaml,line=1,col=1,title=fusion-run%3A step publish failed::"
        f"{refused}400 Bad Request: {SHOWN}"
    ) in outputs["annotations"].splitlines()
    assert outputs["annotations"].splitlines()[-1] == (
        "::warning file=plan.yaml,line=1,col=1,title=fusion-run%3A step train failed::"
        f"allowed to fail; failed: run {train['run_id']} ended error: {SHOWN}"
    )


def test_no_output_shows_any_spelling_of_a_secret_nor_obeys_a_message(tmp_path: Path) -> None:
    """A password with a slash, a quote, a percent sign and a non-ASCII letter, echoed in every
    spelling a server may use, and a message that tries to become workflow commands."""
    password = 'S3cr/t"p\u00e4%ss'
    credentials = {"FUSION_USER": "admin", "FUSION_PASSWORD": password}
    pair = f"admin:{password}"
    spellings = {  # spelled here, not by `forms`: the test must not trust what it tests
        password,
        "S3cr%2Ft%22p%C3%A4%25ss",  # URL-encoded
        "s3cr%2ft%22p%c3%a4%25ss".replace("s3cr", "S3cr"),  # ... lower-case hex
        "S3cr/t%22p%C3%A4%25ss",  # ... keeping "/", as JavaScript's encodeURI does
        'S3cr/t\\"p\\u00e4%ss',  # JSON, ASCII only
        'S3cr/t\\"p\\u00E4%ss',  # ... as Jackson writes it
        'S3cr\\/t\\"p\\u00e4%ss',  # ... with "/" escaped
        base64.b64encode(pair.encode()).decode(),  # Basic, UTF-8
        base64.b64encode(pair.encode("latin-1")).decode(),  # Basic, as requests sends it
        base64.urlsafe_b64encode(pair.encode()).decode().rstrip("="),  # base64url, no padding
    }
    echo = " | ".join(sorted(spellings)) + "\n::error file=evil.yaml::x\n::stop-commands::y"
    outputs = every_output(tmp_path, credentials, echo)
    for name, text in outputs.items():
        for spelling in spellings:
            assert spelling not in text, (name, spelling)
    assert not [line for line in outputs["console"].splitlines() if line.startswith("::")]
    for line in outputs["annotations"].splitlines():  # each command is fusion-run's own
        assert line.startswith(("::error file=plan.yaml,", "::warning file=plan.yaml,")), line
