"""poll_interval as the plan says it, and the request budget, on the fake clock: every request the
client sends is timed where it leaves (`Timed`), after the budget let it go."""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import pytest

from runner.emulator.adapter import ModelFusion
from runner.emulator.model import EmulatedFusion
from runner.emulator.scenario import (
    Fault,
    FaultTarget,
    JobScript,
    PastRun,
    RunScript,
    Scenario,
    Stall,
)
from runner.engine import Engine
from runner.engine.polling import FLOOR
from runner.fusion import ErrorKind, FusionError
from runner.fusion.budget import Budget
from runner.fusion.transport import Answer, Transport
from runner.outcomes import PlanOutcome
from runner.plan import AUTO_POLL_CEILING, OnStall, Step
from runner.signals import Interrupts
from tests.helpers.engine import jobs, plan_of, runs
from tests.helpers.fakes import EPOCH, FakeClock, step


@dataclass
class Timed:
    """A transport that notes when each request left, and what it was."""

    inner: Transport
    clock: FakeClock
    sent: list[tuple[float, str, str]] = field(default_factory=list)
    refused: list[float] = field(default_factory=list)  # when a 429 or 503 came back
    latency: float = 0.0  # seconds each answer takes to come

    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: bytes | None,
        connect_timeout: float,
        read_timeout: float,
        deadline: float,
    ) -> Answer:
        self.sent.append((self.clock.now, method, url))
        answer = self.inner.send(
            method,
            url,
            headers=headers,
            body=body,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            deadline=deadline,
        )
        if answer.status in (429, 503):
            self.refused.append(self.clock.now)
        self.clock.sleep(self.latency)
        return answer

    def reads(self, job: str) -> list[float]:
        """When the status of `job` was read after its start."""
        path = f"/spark/jobs/{job}"
        start = next(at for at, method, url in self.sent if method == "POST" and url.endswith(path))
        return [
            at
            for at, method, url in self.sent
            if method == "GET" and url.endswith(path) and at > start
        ]


def run(steps: list[Step], scenario: Scenario, rate: int = 10, **settings: object) -> Timed:
    clock = FakeClock()
    model = EmulatedFusion(scenario, clock=clock, epoch=EPOCH, extra_jobs=[s.job for s in steps])
    budget = Budget(rate, monotonic=clock, sleep=clock.sleep)
    fusion = ModelFusion(model, budget=budget)
    timed = Timed(fusion.transport, clock)
    fusion.transport = timed
    fusion_settings = {"max_requests_per_second": rate, **settings.pop("fusion", {})}  # type: ignore[dict-item]
    plan = plan_of(steps, fusion=fusion_settings, **settings)
    engine = Engine(plan, fusion, clock, url="http://emulated", rng=random.Random(7))
    engine.preflight()
    assert engine.execute() is PlanOutcome.SUCCEEDED
    assert engine.result.to_dict()["fusion"]["max_requests_per_second"] == rate
    return timed


@pytest.mark.parametrize(("interval", "duration"), [(1, 3), (1, 20), (10, 95), (30, 200)])
def test_an_explicit_poll_interval_is_the_gap_between_reads_after_the_first(
    interval: int, duration: float
) -> None:
    timed = run(
        [step("j", poll_interval=interval, poll_auto=False)],
        jobs(j=runs(RunScript(duration=duration))),
    )
    reads = timed.reads("j")
    gaps = [later - earlier for earlier, later in itertools.pairwise(reads)]
    assert gaps == pytest.approx([interval] * len(gaps))
    assert reads[0] - timed.sent[-len(reads) - 1][0] == pytest.approx(min(interval, FLOOR))
    assert len(reads) <= duration / interval + 2


@pytest.mark.parametrize("duration", [2, 5, 30, 37, 120, 600, 3600, 7200])
def test_auto_reads_as_often_as_every_ten_seconds_once_runs_are_long(duration: float) -> None:
    timed = run(
        [step("j", poll_interval=AUTO_POLL_CEILING)], jobs(j=runs(RunScript(duration=duration)))
    )
    reads = timed.reads("j")
    start = next(at for at, method, _ in timed.sent if method == "POST")
    late = reads[-1] - (start + duration)
    assert 0 <= late <= min(AUTO_POLL_CEILING, max(FLOOR, duration)) + 1e-9
    if duration >= 120:  # the read before the start is counted, as a fixed loop's first is
        assert len(reads) + 1 <= 1.3 * (duration // AUTO_POLL_CEILING + 1)


def test_auto_reads_just_after_the_last_good_runs_duration() -> None:
    scenario = jobs(j=runs(RunScript(duration=7)))
    clock = FakeClock()
    model = EmulatedFusion(scenario, clock=clock, epoch=EPOCH)
    fusion = ModelFusion(model, budget=Budget(10, monotonic=clock, sleep=clock.sleep))
    plan = plan_of([step("j")], fusion={})
    Engine(plan, fusion, clock, url="http://emulated", rng=random.Random(7)).execute()
    timed = Timed(fusion.transport, clock)
    fusion.transport = timed
    Engine(plan, fusion, clock, url="http://emulated", rng=random.Random(8)).execute()
    start = next(at for at, method, _ in timed.sent if method == "POST")
    reads = timed.reads("j")
    assert reads[-1] - start == pytest.approx(7.05)  # EXPECTED_SLACK after the last good run
    assert len(reads) == 3  # 2 s, 4 s, and then 7.05 s


def test_a_429_with_retry_after_holds_every_request_of_every_step() -> None:
    faults = (Fault(on=FaultTarget.STATUS, answer=429, after=3, retry_after=20),)
    scenario = jobs(
        a=runs(RunScript(duration=60), faults=faults),
        b=runs(RunScript(duration=60)),
        c=runs(RunScript(duration=60)),
    )
    timed = run([step("a"), step("b"), step("c")], scenario)
    (refused,) = timed.refused
    after = [at for at, _, _ in timed.sent if at > refused]
    assert after
    assert min(after) >= refused + 20  # none sent before it passes, any step's


def test_a_retry_after_of_zero_still_holds_every_request_a_second() -> None:
    faults = (Fault(on=FaultTarget.STATUS, answer=503, after=3, retry_after=0, times=3),)
    scenario = jobs(a=runs(RunScript(duration=30), faults=faults), b=runs(RunScript(duration=30)))
    timed = run([step("a"), step("b")], scenario)
    times = [at for at, _, _ in timed.sent]
    assert len(timed.refused) == 3
    for at in timed.refused:
        assert not [later for later in times if at < later < at + 1]


def test_the_rate_never_passes_the_budget_and_starts_are_not_starved_by_500_runs() -> None:
    names = [f"j{index:04d}" for index in range(1000)]
    scenario = jobs(**{name: runs(RunScript(duration=2)) for name in names})
    timed = run([step(name, job=name) for name in names], scenario, max_parallel=500)
    times = sorted(at for at, _, _ in timed.sent)
    peak = max(
        sum(1 for later in times[index : index + 11] if later - at < 1 - 1e-9)
        for index, at in enumerate(times)
    )
    assert peak <= 10
    starts = [at for at, method, _ in timed.sent if method == "POST"]
    assert len(starts) == 1000
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert max(gaps) < 60  # a start waits for the reads due before it, never for all of them


def test_an_explicit_poll_interval_holds_while_the_budget_keeps_reads_waiting() -> None:
    """100 runs read every 5 s would be 20 reads a second: the budget lets 10 go, and a read
    that waited its turn counts its next wait from when it was sent, not from when it fell due."""
    names = [f"j{index:03d}" for index in range(100)]
    scenario = jobs(**{name: runs(RunScript(duration=60)) for name in names})
    steps = [step(name, job=name, poll_interval=5, poll_auto=False) for name in names]
    timed = run(steps, scenario, max_parallel=100)
    for name in names:
        reads = timed.reads(name)
        assert min(b - a for a, b in itertools.pairwise(reads)) >= 5 - 1e-9, name
        assert len(reads) <= 60 / 5 + 2, name


def test_auto_reads_soon_once_the_counters_reach_the_last_good_runs_work() -> None:
    """Last time the job wrote 4,000 documents in 40 s; tonight it is slower, and spends 10 s
    committing after its last document: the read that shows 4,000 written brings the next ones
    close, so the end is seen within a second rather than up to 10 s late."""
    last = PastRun(ended_ago=3600, run=RunScript(duration=40, result={"docsWritten": 4000}))
    tonight = RunScript(duration=60, counters={"docsWritten": 80}, stalls=(Stall(at=50),))
    timed = run([step("j")], Scenario(jobs={"j": JobScript(runs=(tonight,), history=(last,))}))
    start = next(at for at, method, _ in timed.sent if method == "POST")
    reads = [at - start for at in timed.reads("j")]
    assert reads[-1] - 60 <= 1  # without the counters: 66.05, auto's 10 s wait after 56.05
    assert reads[:3] == pytest.approx([2, 4, 8])


@pytest.mark.parametrize("method", ["start", "cancel"])
def test_a_signal_cuts_short_a_request_waiting_its_turn_and_nothing_is_sent(method: str) -> None:
    """A budget of 1 a second, and a request just sent: Ctrl-C while the next waits its turn
    cuts the wait short, whatever the request, and it is known never to have gone."""
    clock = FakeClock()
    interrupts = Interrupts(clock)
    model = EmulatedFusion(jobs(j=runs(RunScript(duration=60))), clock=clock, epoch=EPOCH)

    def sleep(seconds: float) -> None:  # Ctrl-C comes while the budget holds the request
        interrupts.receive(2, None)
        clock.sleep(seconds)

    budget = Budget(1, monotonic=clock, sleep=sleep)
    fusion = ModelFusion(model, budget=budget)
    fusion.guard = interrupts.request
    budget.wait()
    with pytest.raises(FusionError) as caught:
        getattr(fusion, method)("j")
    assert caught.value.kind is ErrorKind.INTERRUPTED
    assert not caught.value.maybe_applied
    assert (interrupts(), model.requests) == (1, [])


def test_a_retry_after_holds_a_request_without_waiting_and_a_cancel_goes() -> None:
    """Under a hold a request is not sent and says for how long (the engine keeps its deadlines
    meanwhile); a cancel, the one request that lightens Fusion's load, goes at once."""
    clock = FakeClock()
    model = EmulatedFusion(jobs(j=runs(RunScript(duration=60))), clock=clock, epoch=EPOCH)
    budget = Budget(10, monotonic=clock, sleep=clock.sleep)
    fusion = ModelFusion(model, budget=budget)
    fusion.start("j")
    budget.hold(10**10)  # far past what time_t holds: kept to RETRY_AFTER_AT_MOST
    with pytest.raises(FusionError) as caught:
        fusion.status("j")
    assert caught.value.held
    assert str(caught.value) == (
        "GET http://emulated/api/spark/jobs/j: not sent: Fusion asked for quiet (Retry-After), "
        "300s more"
    )
    fusion.cancel("j")
    assert [kind for kind, _ in model.requests] == [FaultTarget.START, FaultTarget.CANCEL]
    assert clock.now == 0


def test_a_start_the_budget_held_when_ctrl_c_came_is_not_run_and_never_sent() -> None:
    clock = FakeClock()
    interrupts = Interrupts(clock)
    model = EmulatedFusion(jobs(j=runs(RunScript(duration=60))), clock=clock, epoch=EPOCH)
    fusion = ModelFusion(model)
    timed = Timed(fusion.transport, clock)
    fusion.transport = timed

    def sleep(seconds: float) -> None:  # the status and the list went; the start waits
        if len(timed.sent) == 2 and interrupts() == 0:
            interrupts.receive(2, None)
        clock.sleep(seconds)

    fusion.budget = Budget(1, monotonic=clock, sleep=sleep)
    fusion.guard = interrupts.request
    plan = plan_of([step("j")], fusion={"max_requests_per_second": 1})
    engine = Engine(
        plan, fusion, clock, url="http://emulated", rng=random.Random(7), interrupts=interrupts
    )
    assert engine.execute() is PlanOutcome.INTERRUPTED
    assert [method for _, method, _ in timed.sent] == ["GET", "GET"]
    report = engine.result.to_dict()["steps"][0]
    assert (report["outcome"], report["reason"]) == (
        "not_run",
        "not started: fusion-run was interrupted",
    )
    assert [attempt["outcome"] for attempt in report["attempts"]] == ["not_started"]


def test_auto_reads_half_a_second_after_a_read_shows_finishing() -> None:
    """The emulator shows a Spark run `finishing` in its last second: the read at 16 s sees it,
    and the next comes 0.5 s later, when the run has ended (not 10 s later, at 26 s)."""
    timed = run([step("j")], jobs(j=runs(RunScript(duration=16.5))))
    start = next(at for at, method, _ in timed.sent if method == "POST")
    assert [at - start for at in timed.reads("j")] == pytest.approx([2, 4, 8, 16, 16.5])


def test_a_stall_is_seen_when_the_read_that_shows_it_takes_time() -> None:
    """Each answer takes 0.3 s to come: the stall is judged on the read that showed the run
    going, whenever the answer came."""
    crawl = RunScript(duration=3600, counters={"counter.input": 30}, stalls=(Stall(at=2),))
    stalling = replace(step("d", job="datasource:d"), stall_after=6, on_stall=OnStall.CANCEL)
    clock = FakeClock()
    model = EmulatedFusion(jobs(**{"datasource:d": runs(crawl)}), clock=clock, epoch=EPOCH)
    fusion = ModelFusion(model)
    fusion.transport = Timed(fusion.transport, clock, latency=0.3)
    engine = Engine(plan_of([stalling]), fusion, clock, url="http://emulated", rng=random.Random(7))
    assert engine.execute() is PlanOutcome.FAILED
    report = engine.result.to_dict()["steps"][0]
    assert report["reason_fact"]["cause"]["kind"] == "stalled"


def test_a_long_retry_after_holds_no_deadline_and_no_start_goes_after_the_plan_timeout() -> None:
    """Fusion answers a read with 429 and Retry-After: 20 at 2 s; the plan's timeout is 8 s. It
    is kept at 8 s, not when the quiet ends: the runs going are cancelled then (a cancel goes
    during the quiet), and `after`, whose upstream ended at 3 s, never starts (its start would
    have gone out at 22 s)."""
    faults = (Fault(on=FaultTarget.STATUS, answer=429, after=2, retry_after=20),)
    scenario = jobs(
        slow=runs(RunScript(duration=60), faults=faults),
        quick=runs(RunScript(duration=3)),
        after=runs(RunScript(duration=60)),
    )
    steps = [
        step("slow", poll_interval=1, poll_auto=False),
        step("quick", poll_interval=1, poll_auto=False),
        step("after", "quick"),
    ]
    clock = FakeClock()
    model = EmulatedFusion(scenario, clock=clock, epoch=EPOCH)
    fusion = ModelFusion(model, budget=Budget(10, monotonic=clock, sleep=clock.sleep))
    timed = Timed(fusion.transport, clock)
    fusion.transport = timed
    plan = replace(plan_of(steps, fusion={}), timeout=8)
    engine = Engine(plan, fusion, clock, url="http://emulated", rng=random.Random(7))
    assert engine.execute() is PlanOutcome.FAILED
    cancels = [(at, url.rsplit("/", 1)[-1]) for at, method, url in timed.sent if method == "DELETE"]
    assert [name for _, name in cancels] == ["slow", "quick"]
    assert [at for at, _ in cancels] == pytest.approx([8.05, 8.05])
    starts = [url.rsplit("/", 1)[-1] for _, method, url in timed.sent if method == "POST"]
    assert starts == ["slow", "quick"]


@pytest.mark.parametrize(("docs_last", "rate"), [(200, 100), (12_000, 100)])
def test_a_run_past_last_nights_work_or_time_costs_few_reads_more(
    docs_last: int, rate: int
) -> None:
    """Last night: 120 s. Tonight: 127 s, writing `rate` documents a second, so it passes last
    night's documents at 2 s (more to do tonight: no sign of the end) or at 120 s (its end in
    sight, just as it runs past last night's time). Fixed reads every 10 s cost 13."""
    last = PastRun(ended_ago=3600, run=RunScript(duration=120, result={"docsWritten": docs_last}))
    tonight = RunScript(duration=127, counters={"docsWritten": rate})
    timed = run([step("j")], Scenario(jobs={"j": JobScript(runs=(tonight,), history=(last,))}))
    start = next(at for at, method, _ in timed.sent if method == "POST")
    reads = [at - start for at in timed.reads("j")]
    assert reads[-1] - 127 <= 1.5
    assert len(reads) <= 1.3 * 13 + 2


def test_an_explicit_poll_interval_holds_when_reads_fail() -> None:
    """Six 503s in a row (no Retry-After) are tried again no sooner than poll_interval: a Fusion
    that struggles is not read faster than the plan asked."""
    faults = (Fault(on=FaultTarget.STATUS, answer=503, after=1, times=6),)
    timed = run(
        [step("j", poll_interval=20, poll_auto=False)],
        jobs(j=runs(RunScript(duration=100), faults=faults)),
    )
    reads = timed.reads("j")
    assert min(b - a for a, b in itertools.pairwise(reads)) >= 20 - 1e-9
    assert len(reads) <= 100 / 20 + 2


def test_a_run_that_ended_unseen_within_its_timeout_is_judged_as_it_ended_not_retried() -> None:
    """A 2 s run, timeout 6 s, retry_on timeout; a 429 with Retry-After: 15 at 1 s hides its
    end. The timeout's cancel goes at 6 s; the read after the quiet shows the run `finished`
    within 2 s: it succeeded, and the job is not started again."""
    faults = (Fault(on=FaultTarget.STATUS, answer=429, after=1, retry_after=15),)
    scenario = jobs(j=runs(RunScript(duration=2), RunScript(duration=2), faults=faults))
    timed = run([step("j", timeout=6, retries=1, retry_on=("timeout",))], scenario)
    assert [method for _, method, _ in timed.sent].count("POST") == 1


def test_reads_answered_429_for_longer_than_the_retry_budget_do_not_give_the_run_up() -> None:
    """Three reads answered 429 with Retry-After: 15 (45 s of quiet) against a retry_budget of
    20 s: Fusion answered each, so the run is followed to its end, and the next step runs."""
    faults = (Fault(on=FaultTarget.STATUS, answer=429, after=1, retry_after=15, times=3),)
    scenario = jobs(a=runs(RunScript(duration=60), faults=faults), b=runs(RunScript(duration=2)))
    timed = run([step("a"), step("b", "a")], scenario, fusion={"retry_budget": 20})
    assert [url.rsplit("/", 1)[-1] for _, m, url in timed.sent if m == "POST"] == ["a", "b"]
