"""fusion-run on simulated Fusions that lag, drop and disagree (`tests.simulation`): each seed that
once broke an invariant holds for good, and the invariants catch a fusion-run broken on purpose.
tests/process/test_simulation.py runs thousands of seeds; a failing seed is pinned here once fixed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import pytest

from runner import redact
from runner.criteria import Criterion, Level
from runner.engine import context, following, judge, watch
from runner.engine.handlers import HANDLERS
from runner.engine.phases import Following, Phase, StepState
from runner.errors import ExitCode
from runner.events import Cancelling, CriterionWarned, Event, RunStalled
from runner.fusion.status import RunStatus, parse_job_view
from runner.fusion.work import Work, work
from runner.reasons import Stalled
from runner.redact import Redactor
from runner.result import StepResult
from runner.verdict import Verdict, verdict
from tests.simulation import invariants
from tests.simulation.plans import Case, case
from tests.simulation.seeds import check, reproduction
from tests.simulation.simulate import simulate

BENIGN_HERE = 20  # benign seeds run here, in this process
# Seeds that once broke an invariant, with what they found; each must hold for good.
PINNED = {
    8229: "5.9.11's twelve hours wrong: the invariant took a view's counters for the run's that "
    "fusion-run could not know as its run's, and called a stall unseen",
    9740: "the same, with the history's counters standing still for the stall",
    1951: "a retried step: the invariant took the earlier attempt's run's start for this run's",
    10676: "a stall declared in a pass whose requests hung: the invariant took a later read, "
    "before the event's own time, for the one that declared it",
    4831: "a detached run named by its start time (no run id): the resume refused its own report "
    "as naming a run none of its attempts had",
    35: "the plan's timeout compared clock times differently from when it was due: a busy loop",
    46: "a fault after a run was taken left PICK_UP holding FOLLOW's data: internal error",
    74: "a start answer lost after the run began, looked for twice in a second: a second start",
    75: "a start refused, then the same start answered with an id an earlier run had: 5 starts",
    93: "a start time millions of years off: internal error (OverflowError)",
    137: "an accepted start whose run reused an old id, then a crash: the resume started again",
    159: "two run ids, one of them reused: an attempt named another run",
    202: "an accepted start, a crash, then its window passed on resume: started again",
    332: "identical start and end times after a resume: a 23.7 s run passed max_duration 2s",
    346: "a Spark start answered `accepted: false`: taken, its run named by the answer's hash",
    767: "a resume forgot what earlier runs listed, and a history answer read as no runs: an "
    "hour-old run taken for the new one",
    1891: "a read for one step hung 15 s: another's run, judged with the pass's earlier clock, "
    "measured 0.35 s where it took 14 s, and passed max_duration 2s",
    1725: "reads refused for the whole retry budget: its end, compared one way and scheduled "
    "another, fell on the same float: a busy loop",
    6484: "a resume found its run not listed yet (the lists lagged), took it for gone, and failed "
    "the step as 'already running' on its own run",
    7026: "two run ids and a crash: a step succeeded on two runs of its own",
    7106: "an attempt named by the hash of a record whose times could not be read",
    12505: "a list cut short (limit 2, random order) showed an hour-old run not listed before the "
    "start: an accepted start's step succeeded on it",
    13319: "an error message quoting the password, cut by hostile text: its stripped form shown",
    13872: "noon on 5.9.11 and a `duration` in whole seconds, 163 for a 162.6 s run seen for "
    "162.6 s: too long for seconds by its rounding, read as ms, it passed max_duration 2s",
    14451: "a history record whose start time could not be read before the start, readable after: "
    "an hour-old run taken for the new one",
    17279: "a list cut short showed an old run, taken for the new one; the new run named nowhere",
    18608: "a list cut short showed an old run while the new one went on: succeeded, run going",
    19754: "the first checks met reads refused to the end of the retry budget: what was left to "
    "sleep fell under a tick of the clock, which never moved: a busy loop",
    21816: "a list cut short and a lagging status: succeeded on an old run, its own still going",
    25434: "a resume skipped (run_if) a step whose run was going, as its upstream ran again: the "
    "run named nowhere, then an internal error",
    1197: "a job view stuck at `running` showed the previous run's frozen counters: taken for "
    "ours, they stood still for stall_after, and a healthy run was cancelled as stalled",
    2636: "a history record with no counters took its view's, of a moment the run went on: a run "
    "that indexed 5 documents passed min_documents 100",
    252: "the same: a run judged on counters of a moment it went on failed min_documents at 0",
}
# Seeds that exercise warnings and stall cancels, with what each must still show.
EXERCISED: dict[int, tuple[str, set[type[Event]]]] = {
    92: ("a stall cancel, a warning, a crash", {Cancelling, CriterionWarned}),
    176: ("a stall cancel, a warning, two crashes", {Cancelling, CriterionWarned}),
    310: ("a stall cancel, a warning, a step failed on min_documents", {Cancelling}),
    2062: ("a crash after a stall cancel was ordered: the resume cancels it again", {Cancelling}),
}


@pytest.mark.parametrize("seed", sorted(PINNED))
def test_pinned_seeds_hold(seed: int) -> None:
    assert invariants.violations(simulate(case(seed))) == [], PINNED[seed]


@pytest.mark.parametrize("seed", sorted(EXERCISED))
def test_seeds_that_cancel_stalled_runs_and_warn_hold(seed: int) -> None:
    what, kinds = EXERCISED[seed]
    sim = simulate(case(seed))
    assert invariants.violations(sim) == [], what
    shown = {type(event) for _, event in sim.events}
    assert kinds <= shown, what
    stalls = [
        e for _, e in sim.events if isinstance(e, Cancelling) and isinstance(e.cause, Stalled)
    ]
    assert stalls, what


def test_the_seeds_draw_warnings_stalls_and_min_documents() -> None:
    """Of the first 250 seeds, enough warn, cancel stalled runs and fail on min_documents."""
    sims = [simulate(case(seed)) for seed in range(250)]

    def seeds_with(kind: type, cause: type | None = None) -> int:
        return sum(
            any(
                isinstance(e, kind)
                and (cause is None or isinstance(getattr(e, "cause", None), cause))
                for _, e in sim.events
            )
            for sim in sims
        )

    assert seeds_with(CriterionWarned) > 50
    assert seeds_with(RunStalled) > 5
    assert seeds_with(Cancelling, Stalled) > 2
    below = sum(
        any(
            c["name"] == "work" and c["level"] == "fail" and not c["passed"]
            for step in (sim.disk.report() or {"steps": []})["steps"]
            for a in step["attempts"]
            for c in a["criteria"]
        )
        for sim in sims
    )
    assert below > 10


def _stripped(given: Case) -> Case:
    """`given` without its warn entries."""
    steps = [replace(s, success=replace(s.success, warn=())) for s in given.steps]
    return replace(given, steps=steps)


def test_a_plan_ends_as_it_would_without_its_warn_entries() -> None:
    """Seeds with warn entries and no crash, each run again with them taken out: every step ends
    as it did, and the exit code is the same."""
    seeds = [
        seed
        for seed in range(300)
        if any(s.success.warn for s in case(seed).steps)
        and (case(seed).crash_chance == 0 or case(seed).crashes == 0)
    ][:25]
    assert len(seeds) == 25
    warned = 0
    for seed in seeds:
        full, plain = simulate(case(seed)), simulate(_stripped(case(seed)))
        warned += any(isinstance(e, CriterionWarned) for _, e in full.events)
        assert full.last.result is not None, seed
        assert plain.last.result is not None, seed
        assert [(s.name, s.outcome) for s in full.last.result.steps] == [
            (s.name, s.outcome) for s in plain.last.result.steps
        ], seed
        assert verdict(full.last.result).code == verdict(plain.last.result).code, seed
    assert warned > 10


def test_on_a_documented_fusion_the_first_seeds_judge_each_run_as_it_ended() -> None:
    """The first of the seeds `test_on_a_documented_fusion_every_verdict_is_the_truth` runs in a
    pool of processes (tests/process/test_simulation.py), here in this one."""
    found = check(range(BENIGN_HERE), benign=True)
    assert found.judged > BENIGN_HERE, found
    assert not found.failing, reproduction(found.failing, benign=True)


# --- the invariants are not blind -----------------------------------------------------------------


@pytest.fixture
def trusting_views(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fusion-run that takes a Jobs API job view for its run's own record."""

    def parse(view: Any, job: str) -> RunStatus:
        return replace(parse_job_view(view, job), view=False)

    monkeypatch.setattr("runner.fusion.client.parse_job_view", parse)


def _first_failing(seeds: Iterable[int]) -> list[str]:
    for seed in seeds:
        found = invariants.violations(simulate(case(seed)))
        if found:
            return found
    return []


def test_the_invariants_catch_a_runner_that_trusts_the_job_view(trusting_views: None) -> None:
    found = _first_failing(range(2000))
    assert any("succeeded, but" in line or "names another run" in line for line in found), found


def test_the_invariants_catch_a_runner_that_starts_again_too_soon(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two reads in a second, as before: a start whose run shows late is started again."""
    monkeypatch.setattr(context, "IDENTIFY_WITHIN", 1.0)
    monkeypatch.setattr("runner.engine.starting.IDENTIFY_WITHIN", 1.0)
    monkeypatch.setattr("runner.engine.following.IDENTIFY_WITHIN", 1.0)
    found = _first_failing(range(2000))
    assert any("double start" in line or "named nowhere" in line for line in found), found


def test_the_invariants_catch_masking_that_changes_what_a_program_reads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The report masked whole, as it once was: with the password `0`, every time and many ids
    change, and so do names with the password `s0`."""
    seeds = [seed for seed in range(400) if case(seed).secret in ("0", "s0", ":")]
    assert seeds
    masked_whole = StepResult.to_dict

    def to_dict(self: StepResult) -> dict[str, Any]:
        redact = Redactor([SECRET[0]])

        def masked(value: Any) -> Any:
            if isinstance(value, str):
                return redact.mask(value)
            if isinstance(value, dict):
                return {key: masked(item) for key, item in value.items()}
            if isinstance(value, list):
                return [masked(item) for item in value]
            return value

        whole: dict[str, Any] = masked(masked_whole(self))
        return whole

    monkeypatch.setattr(StepResult, "to_dict", to_dict)
    found = []
    for seed in seeds:
        SECRET[:] = [case(seed).secret]
        found += invariants.violations(simulate(case(seed)))
    assert any("no run has" in line or "report write invalid" in line for line in found), found


SECRET: list[str] = []


def test_the_invariants_catch_a_spelling_masking_misses(monkeypatch: pytest.MonkeyPatch) -> None:
    """Masking that knows only the secret as is, and JSON's escapes: Fusion's echoes as a
    gateway's HTML page or Gson spell them pass, and the invariants find them without asking
    masking's own list of spellings. Only a Fusion of hostile text spells its echoes otherwise:
    the seeds of one are the ones searched."""
    monkeypatch.setattr(
        redact, "forms", lambda secret: {secret, json.dumps(secret, ensure_ascii=False)[1:-1]}
    )
    found = _first_failing(seed for seed in range(3000) if case(seed).behaviour.hostile_text)
    assert any("a credential in an output" in line for line in found), found


# --- the invariants of warnings, min_documents and stalls are not blind ---------------------------


def _finds(text: str, seeds: Iterable[int] = range(1000)) -> list[str]:
    """The violations of the first seed that breaks an invariant saying `text`."""
    for seed in seeds:
        found = invariants.violations(simulate(case(seed)))
        if any(text in line for line in found):
            return found
    return []


def test_the_invariants_catch_a_runner_that_judges_warn_entries_as_expect(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def as_expect(*args: Any, **kwargs: Any) -> list[Criterion]:
        return [replace(c, level=Level.FAIL) for c in judge.judge(*args, **kwargs)]

    monkeypatch.setattr(following, "judge", as_expect)
    assert _finds("judged at fail")


def test_the_invariants_catch_a_runner_whose_exit_code_counts_warnings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def strict(result: Any) -> Verdict:
        found = verdict(result)
        if result.warnings and found.succeeded:
            return Verdict(code=ExitCode.PLAN_FAILED, causes=("warnings",))
        return found

    monkeypatch.setattr(invariants, "verdict", strict)
    assert _finds("without its warnings, another")


def test_the_invariants_catch_a_runner_that_miscounts_documents(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Counts off by a factor: runs below min_documents pass, and runs above it fail."""
    counted = work

    def tenfold(status: RunStatus) -> Work | None:
        did = counted(status)
        return None if did is None else replace(did, documents=did.documents * 10 + 1)

    def none(status: RunStatus) -> Work | None:
        did = counted(status)
        return None if did is None else replace(did, documents=0)

    monkeypatch.setattr(judge, "work", tenfold)
    assert _finds("documents (min")
    monkeypatch.setattr(judge, "work", none)
    assert _finds("failed on min_documents")


def test_the_invariants_catch_a_runner_that_cancels_before_the_order_is_on_disk(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ordered = following.order_cancel

    def hasty(ctx: Any, s: StepState, now: float, *args: Any) -> None:
        ctx.fusion.cancel(s.step.job)
        ordered(ctx, s, now, *args)

    monkeypatch.setattr(following, "order_cancel", hasty)
    assert _finds("no cancel was ordered in the report on disk")


def test_the_invariants_catch_a_runner_that_takes_a_cancel_sent_for_one_confirmed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cancel = following.cancel

    def trusting(ctx: Any, s: StepState, now: float) -> Any:
        phase = cancel(ctx, s, now)
        data = s.data
        if isinstance(data, Following) and data.cancel is not None and data.cancel.sent:
            gone = RunStatus(job=s.step.job, run_id=data.label, state="cancelled")
            return following.ended(ctx, s, now, gone)
        return phase

    monkeypatch.setitem(HANDLERS, Phase.CANCEL, trusting)
    assert _finds("ended before its run")


def test_the_invariants_catch_a_runner_that_never_sees_counters_move_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The stall clock started at the first counters shown, and never again."""

    def once(data: Following, status: RunStatus, now: float) -> None:
        if data.still_since is None:
            watch.counted(data, status, now)

    monkeypatch.setattr(following, "counted", once)
    assert _finds("declared its run")
