"""`require:` steps in a plan: what they take, what they refuse, and where the refusal points."""

from __future__ import annotations

import pytest

from runner.plan import DEFAULT_STATES, Gate, RunIf
from runner.plan.loader import load_plan
from runner.plan.problems import InvalidPlan
from tests.helpers.paths import WritePlan


def problems(write_plan: WritePlan, text: str) -> list[str]:
    with pytest.raises(InvalidPlan) as raised:
        load_plan(write_plan(text))
    return [str(problem) for problem in raised.value.problems]


def test_a_gate_checks_its_job_and_takes_run_if_depends_on_and_allow_failure(
    write_plan: WritePlan,
) -> None:
    plan = load_plan(
        write_plan(
            "version: 1\n"
            "defaults: {retries: 3, timeout: 5m, success: {states: [error], max_duration: 1m}}\n"
            "steps:\n"
            "  - build\n"
            "  - name: fresh\n"
            "    require: {job: signals, succeeded_within: 26h}\n"
            "    run_if: all_done\n"
            "    allow_failure: true\n"
            "  - require: {job: datasource:movies, succeeded_within: 90m}\n"
            "    depends_on: [build]\n"
            "    success: {states: [success, failed]}\n"
        )
    )
    fresh, movies = plan.steps[1], plan.steps[2]
    assert (fresh.name, fresh.job, fresh.gate) == ("fresh", "signals", Gate(succeeded_within=93600))
    assert (fresh.depends_on, fresh.implicit_dependency) == (("build",), True)
    assert (fresh.run_if, fresh.allow_failure, fresh.retries) == (RunIf.ALL_DONE, True, 0)
    # defaults: gives a gate its states, never the settings about a run
    assert (fresh.success.states, fresh.success.max_duration) == (("error",), None)
    assert movies.name == "datasource:movies"  # named after the job it checks
    assert movies.gate == Gate(succeeded_within=5400)
    assert movies.success.states == ("success", "failed")
    assert plan.steps[0].gate is None


def test_a_gate_accepts_by_default_what_its_kind_of_job_ends_in(write_plan: WritePlan) -> None:
    plan = load_plan(
        write_plan(
            "version: 1\n"
            "steps:\n"
            "  - require: {job: spark:a, succeeded_within: 1h}\n"
            "  - require: {job: datasource:b, succeeded_within: 1h}\n"
            "  - require: {job: task:c, succeeded_within: 1h}\n"
        )
    )
    assert [s.success.states for s in plan.steps] == [
        DEFAULT_STATES["spark"],
        DEFAULT_STATES["datasource"],
        DEFAULT_STATES["task"],
    ]


def test_a_step_with_neither_or_both_is_refused_saying_which(write_plan: WritePlan) -> None:
    assert problems(
        write_plan,
        "version: 1\n"
        "steps:\n"
        "  - {name: lonely}\n"
        "  - {job: a, require: {job: b, succeeded_within: 1h}}\n",
    ) == [
        "plan.yaml:3:5: $.steps[0]: missing 'job' or 'require' or 'request' or 'webhook': "
        "a step runs a job (job:), checks one (require:), calls Fusion (request:) "
        "or posts to a webhook (webhook:)",
        "plan.yaml:4:14: $.steps[1].require: 'job' and 'require' together: "
        "a step runs a job (job:), checks one (require:), calls Fusion (request:) "
        "or posts to a webhook (webhook:), not several",
    ]


def test_the_settings_about_a_run_are_refused_on_a_gate_at_their_keys(
    write_plan: WritePlan,
) -> None:
    keys = ["timeout: 1h", "poll_interval: 5s", "retries: 2", "retry_delay: 1m"]
    keys += ["retry_backoff: 1", "retry_on: [state]", "on_running: adopt"]
    text = "version: 1\nsteps:\n  - require: {job: a, succeeded_within: 1h}\n"
    text += "".join(f"    {key}\n" for key in keys)
    text += "    success: {states: [finished], max_duration: 1h, expect: ['a']}\n"
    said = "does not apply to a step with 'require:': it starts no run; remove it"
    names = [key.split(":")[0] for key in keys]
    assert problems(write_plan, text) == [
        *(
            f"plan.yaml:{4 + i}:5: $.steps[0].{name}: {name!r} {said}"
            for i, name in enumerate(names)
        ),
        f"plan.yaml:11:35: $.steps[0].success.max_duration: 'max_duration' {said}",
        f"plan.yaml:11:53: $.steps[0].success.expect: 'expect' {said}",
    ]


def test_a_gate_needs_its_job_and_window(write_plan: WritePlan) -> None:
    assert problems(
        write_plan,
        "version: 1\n"
        "steps:\n"
        "  - require: {job: a}\n"
        "  - require: {job: b, succeeded_within: 0, states: [x]}\n"
        "  - require: {job: ' c', succeeded_within: 1h}\n"
        "  - require: {job: datasource:d, succeeded_within: 1h}\n"
        "    success: {states: [finished]}\n",
    ) == [
        "plan.yaml:3:14: $.steps[0].require: missing required key 'succeeded_within'",
        "plan.yaml:4:41: $.steps[1].require.succeeded_within: expected a duration of more than "
        "zero: whole seconds, or a string such as 90s, 5m, 2h, 1h30m, got 0",
        "plan.yaml:4:44: $.steps[1].require.states: unknown key 'states' "
        "(expected one of: job, succeeded_within)",
        "plan.yaml:5:20: $.steps[2].require.job: a job id may not start or end with white space, "
        "nor hold a line break, got ' c'",
        "plan.yaml:7:24: $.steps[3].success.states[0]: a datasource job never ends 'finished': "
        "it ends success, failed, aborted",
    ]


def test_a_gate_and_a_step_of_the_same_job_need_distinct_names(write_plan: WritePlan) -> None:
    assert problems(
        write_plan,
        "version: 1\nsteps:\n  - require: {job: a, succeeded_within: 1h}\n  - a\n",
    ) == [
        "plan.yaml:4:5: $.steps[1]: duplicate step name 'a' (first at line 3): "
        "give one of them a distinct 'name:'",
    ]
