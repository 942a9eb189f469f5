"""One seed, one case: a random plan, a random Fusion, what each run really does, the credential in
play, and when fusion-run is crashed or interrupted. Everything comes from `random.Random(seed)`,
so a seed is a complete reproduction."""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field, replace
from typing import Any

from runner.engine.context import RECORDED_RUNS
from runner.fusion import routes
from runner.fusion.routes import HISTORY_LIMIT
from runner.jobs import job_kind
from runner.plan import OnStall, Plan, SparkStart, Step, WarnAfter
from tests.helpers.engine import RUN_IFS, plan_of
from tests.helpers.fakes import step
from tests.simulation.world import LAG, Behaviour, Script, TrueRun

CHANNELS = ("status", "all", "view", "history")
EXPECT = {
    "spark": "result.docsWritten > `0`",
    "4.2": 'extra."counter.failed" == `0`',
    "5.x": 'extra.counters."pipeline.out".count > `0`',
}
# `success.warn` entries: each holds for some runs and not for others (a task counts no work)
WARN = {
    "spark": ("result.docsWritten > `100`", 'state == `"finished"`'),
    "4.2": ('extra."counter.output" > `100`', 'extra."counter.failed" == `0`'),
    "5.x": ('extra.counters."pipeline.out".count > `100`', 'status == `"success"`'),
}
COMMON_WARN = ("documents >= `1`", "documents >= previous.documents")


@dataclass(frozen=True, kw_only=True)
class Interrupt:
    at: float  # clock time of the first signal
    twice: bool  # a second signal five seconds later
    detach: bool


@dataclass(kw_only=True)
class Case:
    seed: int
    steps: list[Step]
    settings: dict[str, Any]
    behaviour: Behaviour
    scripts: dict[str, list[Script]]  # job key -> the runs fusion-run's starts begin
    earlier: list[TrueRun]  # runs of others, before the plan
    secret: str  # FUSION_PASSWORD
    crash_chance: float  # at each durable point
    crashes: int  # at most this many
    interrupt: Interrupt | None
    notes: list[str] = field(default_factory=list)

    def plan(self) -> Plan:
        return plan_of(self.steps, **self.settings)

    def spark_start(self) -> SparkStart:
        return SparkStart(self.settings.get("fusion", {}).get("spark_start", "spark-api"))

    def brief(self) -> str:
        jobs = ", ".join(
            f"{s.name}({s.job}, on_running={s.on_running}, retries={s.retries}, "
            f"timeout={s.timeout}{_watched(s)})"
            for s in self.steps
        )
        return (
            f"seed {self.seed}: steps {jobs}; plan {self.settings}; Fusion: "
            f"{self.behaviour.brief()}; crashes <= {self.crashes}; interrupt {self.interrupt}"
        )


def case(seed: int, *, adversity: bool = True) -> Case:
    """The case of `seed`; without `adversity`, a Fusion that behaves as documented, never
    crashed or interrupted (what every verdict must match exactly). Switches added later draw
    from a second stream, so that each seed's first draws stay what they were."""
    rng = random.Random(seed)
    later = random.Random(f"{seed} later")
    behaviour = _behaviour(rng) if adversity else Behaviour()
    if adversity and later.random() < 0.3:  # lists cut short, oldest first or not
        behaviour = replace(
            behaviour, list_limit=later.randint(2, 5), retention=later.choice([None, 3, 6])
        )
    if adversity and later.random() < 0.3:
        behaviour = replace(
            behaviour, hostile_text=True, odd_answers=max(0.05, behaviour.odd_answers)
        )
    if adversity:
        behaviour = _rarer(random.Random(f"{seed} rarer"), behaviour)
    crowded = random.Random(f"{seed} crowded")  # a long-lived job: more runs than are kept
    many = crowded.randint(RECORDED_RUNS + 5, 2 * HISTORY_LIMIT) if crowded.random() < 0.1 else 0
    if adversity and many:
        behaviour = replace(behaviour, ignores_limit=crowded.random() < 0.5)
    steps, scripts, earlier = [], {}, []
    names: list[str] = []
    for index in range(rng.randint(1, 4)):
        name = f"s{index}"
        kind = rng.choice(["spark", "spark", "datasource", "task"])
        job = f"j{index}" if kind == "spark" else f"{kind}:j{index}"
        after = rng.sample(names, k=min(len(names), rng.randint(0, 2))) if names else []
        states = ("finished", "skipped") if kind == "spark" else ("success",)
        shape = "spark" if kind == "spark" else behaviour.shape
        steps.append(
            step(
                name,
                *after,
                job=job,
                run_if=rng.choice(RUN_IFS),
                allow_failure=rng.random() < 0.2,
                timeout=rng.choice([5, 30, 120, 600, 7200]),
                poll_interval=rng.choice([1, 5, 10]),
                retries=rng.choice([0, 0, 1, 2]),
                retry_delay=rng.choice([1, 5, 30]),
                retry_on=rng.choice([("state",), ("state", "criteria"), ("state", "timeout")]),
                on_running=rng.choice(["wait", "wait", "adopt", "fail"]),
                states=states,
                max_duration=rng.choice([None, None, None, 2, 10, 60]),
                expect=(EXPECT[shape],) if rng.random() < 0.3 else (),
            )
        )
        names.append(name)
        key = routes.key(job)
        scripts[key] = [_script(rng, kind, behaviour) for _ in range(4)]
        earlier += _earlier(rng, key, kind, behaviour, adversity=adversity)
        if behaviour.list_limit:  # enough earlier runs that the lists cut some
            earlier += _more_earlier(later, key, kind, behaviour)
        if adversity and many:
            earlier += _long_ago(crowded, key, kind, behaviour, many)
    for index, each in enumerate(steps):  # a name a program reads, which masking must keep
        if job_kind(each.job)[0] == "spark" and later.random() < 0.2:
            named = f'result.jobConfigId == `"{routes.key(each.job)}"`'
            steps[index] = replace(each, success=replace(each.success, expect=(named,)))
    settings: dict[str, Any] = {
        "max_parallel": rng.randint(1, 4),
        "fail_fast": rng.random() < 0.15,
        "fusion": {"spark_start": rng.choice(["spark-api", "jobs-api"])},
    }
    if rng.random() < 0.1:
        settings["timeout"] = rng.choice([30, 120, 600])
    interrupt = None
    if adversity and rng.random() < 0.1:
        interrupt = Interrupt(
            at=rng.uniform(0, 120), twice=rng.random() < 0.3, detach=rng.random() < 0.2
        )
    steps = _warned(random.Random(f"{seed} warned"), steps, scripts, earlier, behaviour)
    return Case(
        seed=seed,
        steps=steps,
        settings=settings,
        behaviour=behaviour,
        scripts=scripts,
        earlier=earlier,
        secret=_secret(rng),
        crash_chance=rng.choice([0.0, 0.002, 0.01, 0.03]) if adversity else 0.0,
        crashes=rng.randint(0, 2) if adversity else 0,
        interrupt=interrupt,
    )


def _behaviour(rng: random.Random) -> Behaviour:
    """Each switch on its own: about half of them as documented."""

    def maybe(value: Any, default: Any, chance: float = 0.5) -> Any:
        return value if rng.random() < chance else default

    return Behaviour(
        shape=rng.choice(["4.2", "5.x"]),
        lag={channel: maybe(rng.uniform(0, LAG), 0.0) for channel in CHANNELS},
        view_mixes=maybe(True, False),
        history_ended_only=maybe(True, False, 0.3),
        history_run_ids=maybe(False, True, 0.3),
        history_twice=maybe(True, False, 0.2),
        identical_times=maybe(True, False, 0.2),
        order=rng.choice(["newest", "oldest", "random"]),
        clock_offset=rng.choice([0.0, 0.0, 12 * 3600.0, -12 * 3600.0]),
        duration_unit=rng.choice(["ms", "s"]),
        two_run_ids=maybe(True, False, 0.3),
        while_active=rng.choice(["conflict", "return_active", "not_accepted", "new_run"]),
        stale_answers=maybe(rng.uniform(0, 1), 0.0, 0.3),
        garbled_answers=maybe(rng.uniform(0, 0.5), 0.0, 0.2),
        start_faults=maybe(rng.uniform(0, 0.5), 0.0, 0.3),
        read_faults=maybe(rng.uniform(0, 0.3), 0.0, 0.4),
        odd_answers=maybe(rng.uniform(0, 0.1), 0.0, 0.2),
        slow_answers=maybe(rng.uniform(0, 0.05), 0.0, 0.2),
        status_404=maybe(True, False, 0.3),
        reused_ids=maybe(0.5, 0.0, 0.1),
        nested_extra=maybe(True, False, 0.15),
    )


def _rarer(rng: random.Random, behaviour: Behaviour) -> Behaviour:
    """The switches drawn from a third stream (each seed's earlier draws stay what they were):
    5.9.11's noon, stuck views, runs shown nowhere for a while, lost start answers, starts
    refused or throttled, reads throttled."""
    changes: dict[str, Any] = {}
    if rng.random() < 0.15:  # the plan begins up to two minutes before noon UTC
        changes |= {"noon_bug": True, "clock_offset": 12 * 3600.0 - rng.uniform(0, 120)}
    if rng.random() < 0.1:
        changes["view_stuck"] = True
    if rng.random() < 0.15:
        changes["hidden_for"] = rng.uniform(0, LAG / 2)
    if rng.random() < 0.15:
        changes["lost_answers"] = rng.randint(1, 2)
    if rng.random() < 0.04:
        changes["refuse_starts"] = rng.choice(["conflict", "not_accepted"])
    if rng.random() < 0.04:
        changes["throttle"] = rng.choice(["1", "5", "3600"])
    if rng.random() < 0.05:
        changes["throttle_reads"] = (rng.uniform(0, 60), rng.choice(["1", "30", "300"]))
    return replace(behaviour, **changes)


def _script(rng: random.Random, kind: str, behaviour: Behaviour) -> Script:
    duration = rng.choice([rng.uniform(0.2, 3), rng.uniform(3, 30), rng.uniform(30, 200)])
    finals = ["finished", "finished", "finished", "error"] + (
        ["skipped"] if kind == "spark" else []
    )
    final = rng.choice(finals)
    count = rng.choice([0, 5, 900])
    if kind == "spark":
        counters = {"docsWritten": count}
    elif behaviour.shape == "4.2":
        counters = {"counter.input": count, "counter.output": count, "counter.failed": count % 2}
    else:
        counters = {"pipeline.in": count, "pipeline.out": count}
        counters["content-indexer.completed.count"] = count  # what `work` reads
    return Script(duration=duration, final=final, counters=counters)


def _warned(
    rng: random.Random,
    steps: list[Step],
    scripts: dict[str, list[Script]],
    earlier: list[TrueRun],
    behaviour: Behaviour,
) -> list[Step]:
    """Warnings and stalls, drawn from a stream of their own (each seed's other draws stay what
    they were): on some steps `warn` entries, `min_documents`, `warn_after`, `stall_after` with
    `on_stall`; in some runs, counters that stand still for a while, or to the end."""
    warned = []
    for each in steps:
        kind = job_kind(each.job)[0]
        shape = "spark" if kind == "spark" else behaviour.shape
        success = each.success
        if rng.random() < 0.3:
            pool = [*COMMON_WARN, *(WARN[shape] if kind != "task" else ())]
            success = replace(success, warn=tuple(rng.sample(pool, k=rng.randint(1, 2))))
        if rng.random() < 0.2:
            success = replace(success, min_documents=rng.choice([0, 1, 5, 100, 1000]))
        changes: dict[str, Any] = {"success": success}
        if rng.random() < 0.2:
            changes["warn_after"] = rng.choice(
                [WarnAfter(seconds=rng.choice([2, 10, 60])), WarnAfter(times=rng.choice([0.5, 2]))]
            )
        if rng.random() < 0.35:
            changes["stall_after"] = rng.choice([2, 5, 10, 30, 60])
            changes["on_stall"] = rng.choice([OnStall.WARN, OnStall.CANCEL])
        warned.append(replace(each, **changes))
    for script in [*(s for runs in scripts.values() for s in runs), *(r.script for r in earlier)]:
        if rng.random() < 0.3:
            begin = rng.uniform(0, script.duration * 0.9)
            script.still = (begin, rng.choice([3.0, 15.0, 45.0, 120.0, float("inf")]))
    return warned


def _watched(s: Step) -> str:
    """What `_warned` drew for a step, for a case's brief."""
    drawn = {
        "warn": s.success.warn,
        "min_documents": s.success.min_documents,
        "warn_after": s.warn_after,
        "stall_after": s.stall_after,
    }
    said = [f"{name}={value!r}" for name, value in drawn.items() if value not in (None, ())]
    if s.stall_after is not None:
        said.append(f"on_stall={s.on_stall}")
    return "".join(f", {each}" for each in said)


def _earlier(
    rng: random.Random, job: str, kind: str, behaviour: Behaviour, *, adversity: bool
) -> list[TrueRun]:
    """Runs someone else started before the plan: ended long ago, or (sometimes) going since
    more than LAG seconds, so that the step comes due while it is active."""
    runs = []
    when = -3600.0
    for _ in range(rng.randint(0, 2)):
        script = _script(rng, kind, behaviour)
        script.duration = min(script.duration, 600)
        runs.append(
            TrueRun(job=job, ids=(_id(rng), _id(rng)), started=when, script=script, by=None)
        )
        when += 900
    if adversity and rng.random() < 0.15:
        script = _script(rng, kind, behaviour)
        script.duration = rng.uniform(LAG + 10, LAG + 120)
        runs.append(
            TrueRun(job=job, ids=(_id(rng), _id(rng)), started=-(LAG + 5), script=script, by=None)
        )
    if not behaviour.two_run_ids:
        for run in runs:
            run.ids = (run.ids[0], run.ids[0])
    return runs


# Passwords that are also parts of what a program reads: a digit of every time, the colon of
# every key, a step's and a job's name. Masking them there would change identities and times.
COLLIDING = ["0", "1", "z", ":", "-", ".", "T", "Z", "s0", "j0", "id", "start", "running"]


def _more_earlier(rng: random.Random, job: str, kind: str, behaviour: Behaviour) -> list[TrueRun]:
    runs = []
    for index in range(rng.randint(3, 8)):
        script = _script(rng, kind, behaviour)
        script.duration = min(script.duration, 60)
        first, second = _id(rng), _id(rng)
        ids = (first, second if behaviour.two_run_ids else first)
        started = -7200.0 + index * 120
        runs.append(TrueRun(job=job, ids=ids, started=started, script=script, by=None))
    return runs


def _long_ago(
    rng: random.Random, job: str, kind: str, behaviour: Behaviour, many: int
) -> list[TrueRun]:
    """`many` runs of a long-lived job, a minute apart, ended hours before the plan."""
    runs = []
    for index in range(many):
        script = _script(rng, kind, behaviour)
        script.duration = min(script.duration, 50)
        first, second = _id(rng), _id(rng)
        ids = (first, second if behaviour.two_run_ids else first)
        started = -3 * 3600.0 - index * 60
        runs.append(TrueRun(job=job, ids=ids, started=started, script=script, by=None))
    return runs


def _secret(rng: random.Random) -> str:
    """A password of any length and content: letters, digits, punctuation, runs of spaces, a tab,
    non-ASCII, or one that is a part of an id, a time or a name; never only blanks (a blank
    password cannot be told from the words around it)."""
    if rng.random() < 0.25:
        return rng.choice(COLLIDING)
    alphabet = string.ascii_letters + string.digits + "  \t-_.:/%+=€é"
    length = rng.choice([1, 1, 2, 3, 8, 16, 24])
    secret = "".join(rng.choice(alphabet) for _ in range(length))
    return secret if secret.strip() else secret + "x"


def _id(rng: random.Random) -> str:
    return "".join(rng.choices(string.ascii_lowercase + string.digits, k=10))
