"""What a run really did: the work check, warn-level criteria and the last good run (`previous`),
end to end on the emulator. A warning is said in every output and never changes an outcome or the
exit code; `min_documents` and `expect` fail the step."""

from __future__ import annotations

import io
from random import Random
from typing import Any
from xml.etree import ElementTree as ET

from runner.emulator.model import EmulatedFusion
from runner.emulator.scenario import RunScript
from runner.events import CriterionNoted, CriterionWarned
from runner.report.console import Console
from runner.report.github import summary_markdown, warning_annotations
from runner.report.junit import junit_xml
from runner.verdict import verdict
from tests.helpers.engine import jobs, plan_of, random_plan, run, runs
from tests.helpers.fakes import FakeClock, step
from tests.helpers.outputs import checked

CRAWL = "datasource:web"


def counted(output: int) -> dict[str, Any]:
    return {"counter.input": output, "counter.output": output, "counter.failed": 0}


def earlier(*scripts: RunScript) -> Any:
    """A `before` hook: the crawl ran once per script before the plan (its history)."""

    def before(model: EmulatedFusion, clock: FakeClock) -> None:
        for _ in scripts:
            model.start(CRAWL)
            clock.advance(3600)

    return before


def test_a_crawl_that_indexed_nothing_succeeds_with_a_warning_in_every_output() -> None:
    scenario = jobs(**{CRAWL: runs(RunScript(duration=5, state="success", result=counted(0)))})
    crawl = step("crawl", job=CRAWL, states=("success",))
    console = io.StringIO()
    printer = Console(stream=console, live=False)
    result = run([crawl], scenario, reporter=printer)
    engine_result = result.engine.result
    printer.finish(engine_result)
    assert result.outcome == "succeeded"
    assert int(verdict(engine_result).code) == 0
    run_id = result.step("crawl")["run_id"]
    said = f"run {run_id} indexed 0 documents (counter.output - counter.failed): it did no work"
    assert result.lines(CriterionWarned) == [f"crawl: {said}"]
    assert result.report["warnings"] == [{"step": "crawl", "text": said}]
    lines = console.getvalue().splitlines()
    assert any(line.endswith(f" crawl: warning: {said}") for line in lines)  # as it happened
    assert lines[-2] == f"crawl: warning: {said}"  # and again at the end, before the outcome
    # JUnit: in the step's system-err, counted, and failing nothing
    code, _ = checked(engine_result)
    assert code == 0
    suite = ET.fromstring(junit_xml(engine_result))[0]
    [case] = [c for c in suite.findall("testcase") if c.get("name") == "crawl"]
    assert case.findtext("system-err") == f"warning: {said}"
    assert case.find("failure") is None
    # GitHub: a ::warning at the step's line, and a list in the summary
    plan = plan_of([crawl])
    assert warning_annotations(result.report, plan) == [
        f"::warning file=plan.yaml,line=1,col=1,title=fusion-run%3A step crawl warning::{said}"
    ]
    summary = summary_markdown(result.report, plan)
    assert f"#### ⚠️ 1 warning(s)\n\n- **crawl**: {said}" in summary
    assert summary.startswith("### ✅ fusion-run: plan `test` succeeded")


def test_min_documents_fails_the_step_and_retry_on_criteria_retries_it() -> None:
    scenario = jobs(
        **{
            CRAWL: runs(
                RunScript(duration=5, state="success", result=counted(40)),
                RunScript(duration=5, state="success", result=counted(150)),
            )
        }
    )
    crawl = step(
        "crawl", job=CRAWL, states=("success",), min_documents=100, retries=1, retry_delay=1
    )
    result = run([crawl], scenario)
    assert result.outcome == "failed"  # criteria are not retried unless retry_on says so
    first = result.step("crawl")["attempts"][0]["run_id"]
    assert result.step("crawl")["reason"] == (
        f"run {first} indexed 40 documents (counter.output - counter.failed), "
        "fewer than min_documents 100"
    )
    retried = step(
        "crawl",
        job=CRAWL,
        states=("success",),
        min_documents=100,
        retries=1,
        retry_delay=1,
        retry_on=("criteria",),
    )
    again = run([retried], scenario)
    assert again.outcome == "succeeded"
    assert [a["outcome"] for a in again.step("crawl")["attempts"]] == ["failed", "succeeded"]


def test_a_baseline_compares_with_the_last_good_run_and_records_it() -> None:
    scenario = jobs(
        **{
            CRAWL: runs(
                RunScript(duration=600, state="success", result=counted(900)),
                RunScript(duration=60, state="failed", error="boom"),
                RunScript(duration=5, state="success", result=counted(40)),
            )
        }
    )
    baseline = "ratio(documents, previous.documents) >= `0.7`"
    crawl = step("crawl", job=CRAWL, states=("success",), warn=(baseline,))
    result = run([crawl], scenario, before=earlier(RunScript(), RunScript()))
    assert result.outcome == "succeeded"
    [attempt] = result.step("crawl")["attempts"]
    good = result.model.runs_of(CRAWL)[0]
    assert attempt["previous"]["run"] == good.run_id
    assert (attempt["previous"]["state"], attempt["previous"]["documents"]) == ("success", 900)
    assert attempt["previous"]["status"]["extra"]["counter.output"] == 900
    interrupted = result.model.runs_of(CRAWL)[1].run_id
    assert attempt["remainder_of"] == interrupted  # the run just before ours failed
    ratio = "0.04444"  # said to 4 significant digits; the criterion keeps 40 / 900
    assert result.lines(CriterionWarned) == [
        f"crawl: warn {baseline} is false (ratio(documents, previous.documents): {ratio})"
    ]
    assert result.lines(CriterionNoted) == [
        f"crawl: run {attempt['run_id']} crawled only what run {interrupted}, interrupted, "
        "left: its counts cover that remainder"
    ]


def test_a_first_run_has_no_baseline_and_says_so() -> None:
    scenario = jobs(**{CRAWL: runs(RunScript(duration=5, state="success", result=counted(40)))})
    baseline = "ratio(documents, previous.documents) >= `0.7`"
    result = run([step("crawl", job=CRAWL, states=("success",), expect=(baseline,))], scenario)
    assert result.outcome == "succeeded"
    assert result.step("crawl")["attempts"][0]["previous"] is None
    assert result.lines(CriterionNoted) == [
        f"crawl: expect {baseline} not judged: no earlier good run of the job to compare with"
    ]
    assert result.report["warnings"] == []


def test_a_warning_never_changes_the_verdict_of_a_random_plan() -> None:
    """The same plans with and without a warn that never holds: the same outcomes, the same
    exit code, and a warning for each run judged."""
    for seed in range(30):
        steps, scenario = random_plan(Random(seed))
        plain = run(steps, scenario)
        warned_steps = [
            step(
                s.name,
                *s.depends_on,
                run_if=s.run_if.value,
                allow_failure=s.allow_failure,
                timeout=s.timeout,
                retries=s.retries,
                retry_delay=s.retry_delay,
                warn=("`false`",),
            )
            for s in steps
        ]
        warned = run(warned_steps, scenario)
        assert warned.outcomes() == plain.outcomes(), seed
        assert verdict(warned.engine.result).code == verdict(plain.engine.result).code, seed
        judged = sum(
            1
            for s in warned.report["steps"]
            for a in s["attempts"]
            if a["criteria"]
            and a["outcome"] in ("succeeded", "failed")
            and a["criteria"][0]["passed"]
        )
        assert len(warned.report["warnings"]) >= judged, seed
        checked(warned.engine.result)
