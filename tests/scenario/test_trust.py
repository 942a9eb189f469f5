"""Each way fusion-run once broke its promises on a Fusion that lags, drops or disagrees, as a
scenario of its own on the simulated Fusion (`tests.simulation`), with every invariant checked
after it. Each scenario is one combination the variant matrix never tried: its switches were on
one at a time, and the emulator's channels always agreed.
"""

from __future__ import annotations

from typing import Any

import pytest

from runner.fusion import routes
from runner.plan import Step
from tests.helpers.fakes import step
from tests.simulation import invariants
from tests.simulation.plans import Case
from tests.simulation.simulate import Simulation, simulate
from tests.simulation.world import Behaviour, Script, TrueRun

JOBS = ("datasource", "task")
SHAPES = ("4.2", "5.x")


def scenario(
    steps: list[Step],
    behaviour: Behaviour,
    runs: dict[str, list[Script]],
    *,
    earlier: tuple[TrueRun, ...] = (),
    secret: str = "Pa55-w0rd-for-tests",
    crash_chance: float = 0.0,
    crashes: int = 0,
    spark_start: str = "spark-api",
) -> Simulation:
    """`steps` on a Fusion that behaves as `behaviour` says, each job's starts running `runs`;
    every invariant is checked before the simulation is handed back."""
    sim = simulate(
        Case(
            seed=1,
            steps=steps,
            settings={"max_parallel": 4, "fusion": {"spark_start": spark_start}},
            behaviour=behaviour,
            scripts={routes.key(job): scripts for job, scripts in runs.items()},
            earlier=list(earlier),
            secret=secret,
            crash_chance=crash_chance,
            crashes=crashes,
            interrupt=None,
        )
    )
    assert invariants.violations(sim) == []
    return sim


def succeeded_earlier(job: str, *, at: float = -3600.0, run_id: str = "0ldrunid00") -> TrueRun:
    """A run of `job` that someone started an hour before the plan, and that succeeded."""
    script = Script(duration=60, final="finished", counters={"counter.input": 9})
    return TrueRun(job=routes.key(job), ids=(run_id, run_id), started=at, script=script, by=None)


def outcome(sim: Simulation, name: str) -> str:
    report = sim.disk.report()
    assert report is not None
    return str(next(s for s in report["steps"] if s["name"] == name)["outcome"])


def entry(sim: Simulation, name: str) -> dict[str, Any]:
    report = sim.disk.report()
    assert report is not None
    return dict(next(s for s in report["steps"] if s["name"] == name))


def starts(sim: Simulation) -> int:
    return len(sim.truth.ours())


# --- "False success": a view with the new start time and the old status, a history late -------


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind", JOBS)
@pytest.mark.parametrize("ended_only", [False, True], ids=["history lists all", "ended only"])
def test_a_view_with_the_new_start_and_the_old_success_never_ends_a_step(
    kind: str, shape: str, ended_only: bool
) -> None:
    """The run fails at 5 s; the view shows its start time at once, with the previous run's
    `success` for 20 s; the history is 6 s late. It was reported succeeded at 0.45 s."""
    job = f"{kind}:web"
    behaviour = Behaviour(
        shape=shape,
        lag={"view": 0.0, "view_status": 20.0, "history": 6.0},
        steady=True,
        view_mixes=True,
        history_ended_only=ended_only,
    )
    sim = scenario(
        [step("crawl", job=job, states=("success",))],
        behaviour,
        {job: [Script(duration=5, final="error", error="crawl failed")]},
        earlier=(succeeded_earlier(job),),
    )
    assert outcome(sim, "crawl") == "failed"
    assert entry(sim, "crawl")["reason"].endswith("ended failed: crawl failed")


# --- "Double start": a lost answer, a run that shows late ----------------------------------------


@pytest.mark.parametrize("on_running", ["wait", "fail", "adopt"])
def test_a_lost_start_whose_run_shows_late_is_found_not_started_again(on_running: str) -> None:
    """The start's answer drops after Fusion began the run; the status and /all show it 10 s
    later (5.12 made them asynchronous). It was looked for two reads, then started again."""
    behaviour = Behaviour(lag={"status": 10.0, "all": 10.0}, steady=True, lost_answers=1)
    sim = scenario(
        [step("train", job="train", on_running=on_running)],
        behaviour,
        {"train": [Script(duration=30, final="finished", counters={"docsWritten": 5})]},
    )
    assert starts(sim) == 1
    assert outcome(sim, "train") == "succeeded"
    [attempt] = entry(sim, "train")["attempts"]
    assert attempt["run_id"] == sim.truth.ours()[0].ids[0]


# --- "Crash": adopt, a refused start, then the active run shows --------------------------------


def test_adopting_the_run_that_refused_a_start_is_a_move_the_table_allows() -> None:
    """A run began 30 s before the plan; the status lags 40 s, so the check sees none and the
    start is refused (409); the run then shows, and is adopted. It was 'internal error:
    AssertionError: ... WAIT_OTHER -> FOLLOW', exit 3."""
    other = TrueRun(
        job="train",
        ids=("0th3rrun00", "0th3rrun00"),
        started=-30,
        script=Script(duration=60, final="finished", counters={"docsWritten": 3}),
        by=None,
    )
    behaviour = Behaviour(lag={"status": 40.0, "all": 40.0}, steady=True)
    sim = scenario(
        [step("train", job="train", on_running="adopt")],
        behaviour,
        {"train": [Script(duration=5, final="finished")]},
        earlier=(other,),
    )
    assert starts(sim) == 0
    assert outcome(sim, "train") == "succeeded"
    assert entry(sim, "train")["attempts"][-1]["adopted"]


# --- "Endless loop": starts refused, no active run ever shows ------------------------------------


@pytest.mark.parametrize("spark_start", ["spark-api", "jobs-api"])
@pytest.mark.parametrize("refusal", ["conflict", "not_accepted"])
def test_starts_refused_with_no_run_in_sight_end_by_the_steps_timeout(
    refusal: str, spark_start: str
) -> None:
    """It was 66 start requests and 66 empty attempts in 45 s under `timeout: 5s`, going on.
    `accepted: false` from the Spark API (which documents no such answer) was taken for a
    start that named its run by the answer's own hash: a run that never was."""
    behaviour = Behaviour(refuse_starts=refusal)
    sim = scenario(
        [step("train", job="train", timeout=5)],
        behaviour,
        {"train": [Script(duration=5, final="finished")]},
        spark_start=spark_start,
    )
    record = entry(sim, "train")
    assert record["outcome"] == "timed_out"
    assert record["reason"] == (
        f"Fusion refused {len(record['attempts'])} start(s), saying a run is active, and showed "
        "no active run within 5s"
    )
    assert len(record["attempts"]) <= 4  # 1, 2 and 4 s apart: backed off
    assert sim.clock.now < 10
    assert sim.last.console.count("train: waiting for its run, already running, to end") == 1


# --- "Lost run": a 2xx start answer that is not JSON ---------------------------------------------


def test_a_start_answered_2xx_with_no_json_is_followed() -> None:
    behaviour = Behaviour(garbled_answers=1.0)
    sim = scenario(
        [step("train", job="train")],
        behaviour,
        {"train": [Script(duration=8, final="finished", counters={"docsWritten": 5})]},
    )
    assert (starts(sim), outcome(sim, "train")) == (1, "succeeded")
    assert entry(sim, "train")["attempts"][0]["accepted"]


# --- "Stall": a view stuck at running, a history that shows the end -------------------------------


@pytest.mark.parametrize("kind", JOBS)
def test_a_view_stuck_at_running_does_not_hide_the_end_the_history_shows(kind: str) -> None:
    """It was cancelled at its timeout and left running, while the history said success."""
    job = f"{kind}:web"
    sim = scenario(
        [step("crawl", job=job, states=("success",), timeout=600)],
        Behaviour(view_stuck=True),
        {job: [Script(duration=2, final="finished", counters={"pipeline.out": 3})]},
    )
    assert outcome(sim, "crawl") == "succeeded"
    assert sim.clock.now < 30


@pytest.mark.parametrize("on_running", ["adopt", "wait", "fail"])
@pytest.mark.parametrize("kind", JOBS)
def test_a_view_stuck_at_running_on_a_run_that_ended_long_ago_is_no_run_going(
    kind: str, on_running: str
) -> None:
    """The view still says `running` for a run the history shows ended an hour ago: adopting
    it passed the step on that old run; waiting for it, or failing on it, is for nothing."""
    job = f"{kind}:web"
    sim = scenario(
        [step("crawl", job=job, states=("success",), on_running=on_running, timeout=600)],
        Behaviour(view_stuck=True),
        {job: [Script(duration=2, final="error", error="boom")]},
        earlier=(succeeded_earlier(job),),
    )
    record = entry(sim, "crawl")
    assert (record["outcome"], starts(sim), record["attempts"][0]["adopted"]) == (
        "failed",
        1,
        False,
    )
    assert sim.clock.now < 30


@pytest.mark.parametrize(
    "pre_start",
    [b', "lastStartTime": NaN', b""],
    ids=["a start time no calendar holds", "no start time"],
)
def test_a_latest_run_with_nothing_to_know_it_by_is_read_again_before_starting(
    pre_start: bytes,
) -> None:
    """The view read before the start showed the latest run with no start time, and the
    history, cut short, did not list it: after the start, the lagging view showed that old
    run's start time, and the step passed on it while its own run went on, named nowhere."""
    job = "datasource:web"
    good = Script(duration=60, final="finished")
    earlier = tuple(
        TrueRun(job=job, ids=(f"old{i}", f"old{i}"), started=-3600 + 600 * i, script=good, by=None)
        for i in range(3)
    )
    view = b'{"resource": "datasource:web", "status": "success"'
    behaviour = Behaviour(
        odd=(view + b"}", view + pre_start + b"}"),  # the job's check, then the pre-start read
        order="oldest",
        list_limit=2,
        lag={"view": 10.0},
    )
    sim = scenario(
        [step("crawl", job=job, states=("success",))],
        behaviour,
        {job: [Script(duration=300, final="error", error="boom")]},
        earlier=earlier,
    )
    assert (outcome(sim, "crawl"), starts(sim)) == ("running", 1)
    assert (
        "crawl: Fusion shows job datasource:web's latest run with no id and no start time; "
        "reading again before starting, so that a new run can be told from it"
    ) in sim.processes[0].console


def test_a_latest_run_never_knowable_ends_the_step_at_its_timeout_without_a_start() -> None:
    job = "datasource:web"
    view = b'{"resource": "datasource:web", "status": "success"}'
    sim = scenario(
        [step("crawl", job=job, states=("success",), timeout=20)],
        Behaviour(odd=(view,) * 100),
        {job: [Script(duration=5, final="finished")]},
        earlier=(succeeded_earlier(job),),
    )
    assert (outcome(sim, "crawl"), starts(sim)) == ("timed_out", 0)
    assert entry(sim, "crawl")["reason"] == (
        "Fusion showed job datasource:web's latest run with no id and no start time for 20s: a "
        "run started then could not be told from it, so none was"
    )


def test_a_stuck_view_on_a_run_the_cut_list_never_shows_is_waited_for_never_adopted() -> None:
    """The list of runs, oldest first and cut at two, never shows the view's run: looking it
    up once, the step took it for going and adopted it, and passed on a run that ended an hour
    and a half before the plan."""
    job = "datasource:web"
    good = Script(duration=60, final="finished")
    earlier = tuple(
        TrueRun(job=job, ids=(f"old{i}", f"old{i}"), started=-7200 + 600 * i, script=good, by=None)
        for i in range(4)
    )
    sim = scenario(
        [step("crawl", job=job, states=("success",), on_running="adopt", timeout=600)],
        Behaviour(view_stuck=True, order="oldest", list_limit=2),
        {job: [Script(duration=5, final="error", error="boom")]},
        earlier=earlier,
    )
    record = entry(sim, "crawl")
    assert (record["outcome"], starts(sim), record["attempts"]) == ("timed_out", 0, [])
    assert record["reason"] == (
        "the job's view said run started 2025-12-31T22:30:00.000Z was running for 10m, and its "
        "list of runs never showed it going: it was not adopted (on_running: adopt)"
    )


# --- "Criteria on bad times" ---------------------------------------------------------------------


def test_identical_start_and_end_times_do_not_pass_max_duration() -> None:
    """4.2.1 lists start and end times as identical: the duration was 0, and passed a 4 s run."""
    job = "datasource:web"
    sim = scenario(
        [step("crawl", job=job, states=("success",), max_duration=2)],
        Behaviour(identical_times=True, shape="4.2"),
        {job: [Script(duration=4, final="finished", counters={"counter.input": 1})]},
    )
    assert outcome(sim, "crawl") == "failed"
    assert "more than max_duration 2s" in entry(sim, "crawl")["reason"]


@pytest.mark.parametrize("unit", ["s", "ms"])
def test_a_duration_of_unknown_unit_is_read_the_way_max_duration_cannot_wrongly_pass(
    unit: str,
) -> None:
    """Across noon on 5.9.11 the end time is 12 hours before the start: only Fusion's
    `duration` is left, and its unit is undocumented. Read as milliseconds, a 15 s run given
    in seconds took 0.015 s, and passed `max_duration: 2s`."""
    behaviour = Behaviour(
        noon_bug=True,
        clock_offset=12 * 3600 - 5,  # the plan starts at 11:59:55; the run ends after noon
        duration_unit=unit,
        hidden_for=16.0,  # first seen ended: nothing fusion-run saw of it going
    )
    sim = scenario(
        [step("train", job="train", max_duration=2)],
        behaviour,
        {"train": [Script(duration=15, final="finished")]},
    )
    record = entry(sim, "train")
    took = 16.0 if unit == "s" else 15.0  # whole seconds hide up to one more
    assert (record["outcome"], record["attempts"][0]["duration"]) == ("failed", took)
    assert record["reason"] == f"the run took {took:g}s, more than max_duration 2s"


def test_a_duration_in_whole_seconds_does_not_pass_max_duration_by_its_rounding() -> None:
    """Fusion's `duration` in whole seconds says 2 of a run that took 2.3 s: read as exactly 2,
    it passed `max_duration: 2s`. Whole seconds may hide up to one more, as far as what
    fusion-run saw of the run allows."""
    behaviour = Behaviour(noon_bug=True, clock_offset=12 * 3600 - 1, duration_unit="s")
    sim = scenario(
        [step("train", job="train", max_duration=2)],
        behaviour,
        {"train": [Script(duration=2.3, final="finished", counters={"docsWritten": 1})]},
    )
    record = entry(sim, "train")
    assert record["outcome"] == "failed"
    assert record["reason"].endswith("more than max_duration 2s")
    assert 2.3 <= record["attempts"][0]["duration"] <= 3.0


# --- "Undocumented answers treated as failures" --------------------------------------------------


def test_a_404_for_the_status_of_a_job_that_never_ran_is_no_run() -> None:
    sim = scenario(
        [step("train", job="train")],
        Behaviour(status_404=True),
        {"train": [Script(duration=3, final="finished", counters={"docsWritten": 1})]},
    )
    assert outcome(sim, "train") == "succeeded"


@pytest.mark.parametrize("nested_extra", [False, True], ids=["extra", "extra.extra"])
def test_nested_connector_counters_are_read_by_expect(nested_extra: bool) -> None:
    job = "datasource:web"
    sim = scenario(
        [
            step(
                "crawl",
                job=job,
                states=("success",),
                expect=('extra.counters."pipeline.out".count > `0`',),
            )
        ],
        Behaviour(shape="5.x", nested_extra=nested_extra),
        {job: [Script(duration=3, final="finished", counters={"pipeline.out": 900})]},
    )
    assert outcome(sim, "crawl") == "succeeded"


# --- "An odd answer crashes the whole plan" ------------------------------------------------------

ODD = {
    "null": b"null",
    "a list": b"[]",
    "a number": b"42",
    "NaN start time": b'{"state": "finished", "jobId": "x", "startTime": NaN}',
    "infinite start time": b'{"state": "finished", "jobId": "x", "startTime": 1e999}',
    "millions of years off": b'{"state": "finished", "jobId": "x", "startTime": 1e18}',
    "900 deep": b"[" * 900 + b"]" * 900,
}


@pytest.mark.parametrize("answer", ODD.values(), ids=ODD.keys())
def test_an_answer_that_cannot_be_read_is_a_fault_ridden_out(answer: bytes) -> None:
    """Each ended in 'internal error', exit 3, with every other run left unfollowed."""
    sim = scenario(
        [step("train", job="train"), step("other", job="other")],
        Behaviour(odd=(answer,) * 3),
        {
            "train": [Script(duration=5, final="finished", counters={"docsWritten": 1})],
            "other": [Script(duration=5, final="finished", counters={"docsWritten": 1})],
        },
    )
    assert (outcome(sim, "train"), outcome(sim, "other")) == ("succeeded", "succeeded")


def test_five_unreadable_answers_in_a_row_fail_the_step_with_their_reason() -> None:
    sim = scenario(
        [step("train", job="train")],
        Behaviour(odd=(b"null",) * 10),
        {"train": [Script(duration=60, final="finished")]},
    )
    assert (outcome(sim, "train"), starts(sim)) == ("failed", 0)
    assert entry(sim, "train")["reason"] == (
        "Fusion answered with an error: GET http://fusion.sim/api/spark/jobs/train: Fusion's "
        "answer cannot be read: expected a JSON object for a run status, got NoneType"
    )


# --- "Answers that never end" --------------------------------------------------------------------


def test_two_runs_with_one_id_end_the_step_within_bounds() -> None:
    """The new run takes the id of the run before it: the step waited for 'its' run forever."""
    sim = scenario(
        [step("train", job="train")],
        Behaviour(reused_ids=1.0),
        {"train": [Script(duration=30, final="finished")]},
        earlier=(succeeded_earlier("train"),),
    )
    assert starts(sim) == 1
    assert outcome(sim, "train") == "running"
    assert entry(sim, "train")["reason"] == (
        "Fusion accepted the start of job train, but listed no new run within 2m: its run may "
        "be going (--resume looks for it again)"
    )


# --- "Masking destroys identity" -----------------------------------------------------------------


@pytest.mark.parametrize(
    "password",
    ["z", "0", ":", "train", "a  b\tc"],
    ids=[
        "a letter of the ids",
        "a digit of every time",
        "the colon of every key",
        "a job name",
        "runs of spaces and a tab",
    ],
)
def test_a_password_of_any_content_masks_fusions_words_and_changes_nothing_else(
    password: str,
) -> None:
    """Crashed and resumed twice: with `z` the resume started the job again, with `0` the report
    failed its schema, with a job name a succeeded step ran again; with spaces and a tab, Fusion's
    echo reached every output unmasked. The invariants check every output and every field."""
    behaviour = Behaviour(read_faults=0.3)  # the faults' messages echo the password
    sim = scenario(
        [step("train", job="train"), step("publish", "train", job="publish")],
        behaviour,
        {
            "train": [Script(duration=20, final="error", error=f"denied for password {password}")],
            "publish": [Script(duration=5, final="finished")],
        },
        secret=password,
        crash_chance=0.05,
        crashes=2,
    )
    assert outcome(sim, "train") == "failed"
    assert starts(sim) == 1


# --- "A start answer that repeats an earlier run" ------------------------------------------------


@pytest.mark.parametrize("on_running", ["wait", "adopt", "fail"])
def test_a_start_answered_with_an_earlier_runs_record_is_not_a_run_going(on_running: str) -> None:
    """The start's answer shows the latest run as a status read would, the one an hour old.
    With wait it was 12 starts in 40 s, 12 runs none named; with adopt, a success on the hour-old
    run."""
    sim = scenario(
        [step("train", job="train", on_running=on_running)],
        Behaviour(stale_answers=1.0, lag={"status": 15.0}, steady=True),
        {"train": [Script(duration=10, final="error", error="boom")]},
        earlier=(succeeded_earlier("train"),),
    )
    assert starts(sim) == 1
    assert outcome(sim, "train") == "failed"


# --- found by a breaking pass, on a stand-in Fusion of its own -----------------------------------


@pytest.mark.parametrize(
    ("kind", "ended"),
    [("datasource:web", "running"), ("web", "failed")],
    ids=["history", "/all"],
)
def test_an_old_run_that_slides_into_a_list_cut_short_is_not_taken_for_the_new_one(
    kind: str, ended: str
) -> None:
    """The lists show the oldest four runs (a `limit`, oldest first), so before the start the
    newest old runs were not listed; one slid into view after it. It was the step's 'success'.
    A history that never lists the new run cannot judge it: the step says so, and stays open."""
    old = tuple(
        TrueRun(
            job=routes.key(kind),
            ids=(f"0ld{index:07d}", f"0ld{index:07d}"),
            started=-7200.0 + 600 * index,
            script=Script(duration=30, final="finished", counters={"docsWritten": 1}),
            by=None,
        )
        for index in range(8)
    )
    behaviour = Behaviour(
        order="oldest", list_limit=4, retention=6, lag={"history": 3.0, "all": 3.0}, steady=True
    )
    sim = scenario(
        [step("job", job=kind, states=("success", "finished"))],
        behaviour,
        {kind: [Script(duration=5, final="error", error="boom")]},
        earlier=old,
        spark_start="spark-api",
    )
    assert (outcome(sim, "job"), starts(sim)) == (ended, 1)


def test_fusions_words_with_a_lone_surrogate_are_written_whole() -> None:
    """`"\\ud83d"` is valid JSON, and no character a UTF-8 file can hold: the report could not
    be written, every resume crashed the same way, and no JUnit was written."""
    sim = scenario(
        [step("train", job="train")],
        Behaviour(hostile_text=True),
        {"train": [Script(duration=3, final="error")]},
    )
    assert outcome(sim, "train") == "failed"
    assert entry(sim, "train")["attempts"][0]["error"].startswith("\ufffd failed: user sim-user")


@pytest.mark.parametrize(
    "answer",
    [
        b'{"state": 5, "jobId": 7}',
        b'{"state": {"a": 1}, "jobId": {"x": 1}}',
        b'{"state": "finished", "jobId": "stray", "startTime": "2026-02-30T10:00:00.000Z"}',
    ],
    ids=["numbers for strings", "objects for strings", "a day no calendar has"],
)
def test_a_stray_record_that_cannot_be_read_is_never_the_steps_run(answer: bytes) -> None:
    """A lost start: the step looks for its run, and a status answer shows a 'finished' run
    under an id it never saw. It was taken for the step's run, and judged."""
    sim = scenario(
        [step("train", job="train")],
        Behaviour(lost_answers=1, lag={"status": 5.0, "all": 5.0}, steady=True, odd=(answer,) * 3),
        {"train": [Script(duration=20, final="error", error="boom")]},
    )
    assert (outcome(sim, "train"), starts(sim)) == ("failed", 1)


@pytest.mark.parametrize("password", ["t", "j0", "0"])
def test_what_expect_reads_is_never_masked(password: str) -> None:
    """With the password `t`, `result.jobConfigId` read `nigh***ly`, and the step failed."""
    sim = scenario(
        [step("job", job="j0", expect=('result.jobConfigId == `"j0"`',))],
        Behaviour(),
        {"j0": [Script(duration=3, final="finished", counters={"docsWritten": 1})]},
        secret=password,
    )
    assert outcome(sim, "job") == "succeeded"


def test_a_password_across_the_cut_of_a_quoted_answer_leaves_no_beginning_in_view() -> None:
    """Fusion's answer, not JSON, quotes the password across its 200th character: the answer
    was cut, then masked, and the password's first half reached every output."""
    password = "Long-Secret-Password-1234567890"
    html = b"<html>" + b"x" * 185 + f"password {password}".encode() + b"</html>"
    sim = scenario(
        [step("train", job="train")],
        Behaviour(odd=(html,) * 2),
        {"train": [Script(duration=3, final="finished", counters={"docsWritten": 1})]},
        secret=password,
    )
    assert outcome(sim, "train") == "succeeded"
    assert all(password[:6] not in text for text in [*sim.disk.writes, sim.last.console])


@pytest.mark.parametrize("kind", ["train", "datasource:web"], ids=["spark", "jobs api"])
def test_a_run_across_noon_on_5_9_11_is_followed_though_its_time_goes_back(kind: str) -> None:
    """5.9.11 shows times after noon UTC 12 hours off: the new run's start time is 12 hours
    before the previous run's. Taking runs that began before a listed one for old, the step
    never found its run (a lost start: started again; a Jobs API start: never followed)."""
    behaviour = Behaviour(
        noon_bug=True,
        clock_offset=12 * 3600 + 5,  # the plan starts 5 s after noon
        lost_answers=1,
        hidden_for=2.0,  # the run shows 2 s late, ended (a Spark status has times only then)
    )
    earlier = succeeded_earlier(kind, at=-100.0)  # 11:58:25, before noon
    sim = scenario(
        [step("job", job=kind, states=("success", "finished"))],
        behaviour,
        {kind: [Script(duration=1, final="error", error="boom")]},
        earlier=(earlier,),
    )
    assert (outcome(sim, "job"), starts(sim)) == ("failed", 1)


# --- A Retry-After longer than the step may wait ------------------------------------------------


@pytest.mark.parametrize("retry_after", ["3600", "86400000000"])
def test_a_retry_after_past_the_steps_timeout_ends_it_then_not_after_the_wait(
    retry_after: str,
) -> None:
    """Fusion (or a gateway in front of it) asking to wait an hour, or for ever: the step ends
    at once, timed out with Fusion's words, and the plan does not sleep past the timeout."""
    behaviour = Behaviour(throttle=retry_after)
    sim = scenario(
        [step("train", job="train", timeout=30)],
        behaviour,
        {"train": [Script(duration=5, final="finished")]},
    )
    record = entry(sim, "train")
    assert (record["outcome"], starts(sim), sim.clock.now < 30) == ("timed_out", 0, True)
    assert record["reason"] == (
        "could not start job train: POST http://fusion.sim/api/spark/jobs/train: 429 Too Many "
        "Requests; its next try would come after the step's timeout"
    )


def test_a_retry_after_within_the_timeout_is_waited_and_the_start_retried() -> None:
    behaviour = Behaviour(throttle="4")
    sim = scenario(
        [step("train", job="train", timeout=30)],
        behaviour,
        {"train": [Script(duration=5, final="finished")]},
    )
    posts = [e.began for e in sim.fusion.exchanges if e.method == "POST"]
    assert posts == [0.0, 4.0, 8.0]  # three tries, as Fusion asked: then the step fails
    assert entry(sim, "train")["reason"] == (
        "could not start job train: POST http://fusion.sim/api/spark/jobs/train: 429 Too Many "
        "Requests"
    )


def test_a_timeout_passing_while_reads_are_told_to_wait_sends_the_cancel_at_once() -> None:
    """From 5 s on, every read is answered 503 with `Retry-After: 300`: the step's 10 s
    timeout waited for the next read, at the end of the retry budget (5 min), and no cancel
    was sent. Cancels get through: it is sent at the timeout, and its grace bounds the rest."""
    sim = scenario(
        [step("train", job="train", timeout=10)],
        Behaviour(throttle_reads=(5.0, "300")),
        {"train": [Script(duration=1000, final="finished")]},
    )
    cancels = [e.began for e in sim.fusion.exchanges if e.method == "DELETE"]
    assert (cancels, sim.clock.now) == ([10.0], 70.0)  # then the cancel's grace of 1m
    assert outcome(sim, "train") == "running"  # its run may be going: named, for --resume
