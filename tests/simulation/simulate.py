"""fusion-run on a simulated Fusion: the real client, engine, journal and console, on one fake
clock, crashed at random durable points and resumed from the report on disk, as a CI runner
that dies would leave it. Each read of its run that fusion-run gives its stall clock
(`runner.engine.watch.counted`) is observed on its way in (`Simulation.shown`), for the stall
invariant.

A durable point is a moment after which something outside fusion-run has changed: just before
and just after each request, and each report write. At each, fusion-run dies with the case's
`crash_chance` (at most `crashes` times); it then resumes from what is on disk, as `--resume`
does. An interrupt (a CI job cancelled) ends the run: nothing resumes after it.
"""

from __future__ import annotations

import io
import json
import random
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from runner.commands.resume import load_resume
from runner.commands.run import _begin
from runner.engine import Engine, following
from runner.errors import FatalError
from runner.events import Event
from runner.fusion import routes
from runner.fusion.client import FusionClient
from runner.fusion.status import RunStatus
from runner.fusion.transport import Answer
from runner.plan import Auth
from runner.plan.problems import InvalidPlan
from runner.plan.quickcheck import fits
from runner.report import Reporters
from runner.report.console import Console
from runner.report.journal import Journal
from runner.result import PlanResult
from runner.schemas import load_schema
from tests.helpers.fakes import FakeClock
from tests.helpers.reports import REPORTS
from tests.simulation.plans import Case
from tests.simulation.world import SimulatedFusion, Truth

URL = "http://fusion.sim"
USER = "sim-user"
_SCHEMA = load_schema("report.schema.json")
GIVE_UP = 40_000.0  # clock seconds: a plan still going then never ends (a second signal stops it)


class Crash(BaseException):
    """fusion-run dies here: nothing in it can catch this and go on."""


@dataclass
class Points:
    """The durable points of one fusion-run process; it dies at one with `chance`."""

    rng: random.Random
    chance: float
    left: int  # crashes this case still allows
    count: int = 0

    def reach(self, what: str) -> None:
        self.count += 1
        if self.left > 0 and self.rng.random() < self.chance:
            self.left -= 1
            raise Crash(what)


class Dying:
    """The simulated Fusion behind a durable point on each side of every request: "after" means
    Fusion did it, but fusion-run never saw the answer."""

    def __init__(self, inner: SimulatedFusion, points: Points) -> None:
        self.inner = inner
        self.points = points

    def send(self, method: str, url: str, **kwargs: Any) -> Answer:
        self.points.reach(f"before {method} {url}")
        try:
            return self.inner.send(method, url, **kwargs)
        finally:
            self.points.reach(f"after {method} {url}")


@dataclass
class Disk:
    """The report file: what the last write that completed put there, checked at each write."""

    text: str | None = None
    writes: list[str] = field(default_factory=list)  # every report written, as on disk
    invalid: list[str] = field(default_factory=list)
    _checked: dict[int, dict[str, Any]] = field(default_factory=dict)  # kept alive: ids stay

    def writer(self, points: Points) -> Callable[[dict[str, Any]], None]:
        def write(report: dict[str, Any]) -> None:
            points.reach("before a report write")
            text = json.dumps(report, ensure_ascii=False)
            text.encode("utf-8")  # as the report's file takes it: every character must be one
            why = self.check(report)
            if why:
                self.invalid.append(f"write {len(self.writes)}: {why}")
            self.text = text
            self.writes.append(text)
            points.reach("after a report write")

        return write

    def check(self, report: dict[str, Any]) -> str | None:
        """Why `report` is not valid against the report schema, or None. A step's record the
        journal wrote before (the same object: an ended step's) was checked then."""
        fresh = [step for step in report["steps"] if id(step) not in self._checked]
        head = {**report, "steps": fresh}
        if not fits(head, _SCHEMA):
            errors = [f"{list(e.absolute_path)}: {e.message}" for e in REPORTS.iter_errors(head)]
            if errors:
                return errors[0]
        self._checked.update((id(step), step) for step in fresh)
        return None

    def report(self) -> dict[str, Any] | None:
        return None if self.text is None else json.loads(self.text)


class Recorder:
    """Every event, with the clock time it happened at."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.events: list[tuple[float, Event]] = []

    def handle(self, event: Event, result: PlanResult) -> None:
        self.events.append((self.clock.now, event))

    def finish(self, result: PlanResult) -> None:
        pass


@dataclass
class Process:
    """One fusion-run process: how it ended."""

    how: str  # "crashed", "ended", "stopped" (a stop before anything started), "internal error"
    result: PlanResult | None = None
    console: str = ""
    error: str | None = None
    restarted_succeeded: list[str] = field(default_factory=list)  # steps started again


@dataclass
class Simulation:
    case: Case
    clock: FakeClock
    truth: Truth
    fusion: SimulatedFusion
    disk: Disk
    environ: Mapping[str, str]
    attributed: dict[int, tuple[str, int]] = field(default_factory=dict)  # start -> step, attempt
    unrecorded: list[str] = field(default_factory=list)  # starts with no intent on disk
    unordered: list[str] = field(default_factory=list)  # cancels with no order on disk
    # what each read fusion-run took for its run showed (the stall clock's input): when, and what
    shown: list[tuple[float, RunStatus]] = field(default_factory=list)
    processes: list[Process] = field(default_factory=list)
    events: list[tuple[float, Event]] = field(default_factory=list)

    @property
    def last(self) -> Process:
        return self.processes[-1]


def simulate(case: Case) -> Simulation:
    clock = FakeClock()
    truth = Truth()
    for run in sorted(case.earlier, key=lambda run: run.started):  # each job's runs in order
        truth.of(run.job).append(run)
    disk = Disk()
    sim: Simulation

    def attribute(job: str, start: int) -> None:
        """A start of fusion-run's began a run: the attempt the report on disk holds for it."""
        steps = (disk.report() or {"steps": []})["steps"]
        entry = next((s for s in steps if routes.key(s["job"]) == job), None)
        last = entry["attempts"][-1] if entry and entry["attempts"] else None
        if entry is None or last is None or last["outcome"] is not None or not last["requested_at"]:
            sim.unrecorded.append(f"start {start} of {job}: no open intent on disk")
            return
        sim.attributed[start] = (entry["name"], last["number"])

    def cancelled(job: str) -> None:
        """A cancel of fusion-run's reached Fusion: the report on disk must order it."""
        steps = (disk.report() or {"steps": []})["steps"]
        entry = next((s for s in steps if routes.key(s["job"]) == job), None)
        last = entry["attempts"][-1] if entry and entry["attempts"] else None
        if last is None or last.get("cancel") is None:
            sim.unordered.append(f"a cancel of {job} at {clock.now:.1f}s")

    fusion = SimulatedFusion(
        truth,
        case.behaviour,
        case.scripts,
        clock,
        random.Random(case.seed * 7 + 1),
        echo=f"user {USER} password {case.secret}",
        attribute=attribute,
        cancelled=cancelled,
    )
    environ = {"FUSION_USER": USER, "FUSION_PASSWORD": case.secret}
    sim = Simulation(case, clock, truth, fusion, disk, environ)
    points_rng = random.Random(case.seed * 7 + 2)
    crashes_left = case.crashes
    while True:
        points = Points(points_rng, case.crash_chance, crashes_left)
        process = _process(sim, points, len(sim.processes))
        crashes_left = points.left
        sim.processes.append(process)
        if process.how != "crashed":
            return sim
        clock.advance(points_rng.uniform(1, 60))  # dead a while; Fusion's runs go on
        if case.interrupt is not None and clock.now >= case.interrupt.at:
            return sim  # the CI job was cancelled meanwhile: nothing resumes


def _process(sim: Simulation, points: Points, number: int) -> Process:
    case, clock, disk = sim.case, sim.clock, sim.disk
    plan = case.plan()
    before = disk.report()
    succeeded = {
        s["job"]: s["name"]
        for s in (before or {"steps": []})["steps"]
        if s["outcome"] == "succeeded"
    }
    starts = {job: _starts(sim, job) for job in succeeded}
    try:
        resume = load_resume(_file(disk), plan, force=False) if disk.text is not None else None
    except Exception as error:
        return Process("internal error", error=f"--resume refused its own report: {error}")
    client = FusionClient(
        url=URL,
        api="/api",
        auth=Auth.BASIC,
        environ=sim.environ,
        transport=Dying(sim.fusion, points),
        spark_start=case.spark_start(),
        monotonic=clock.monotonic,
    )
    stream = io.StringIO()
    console = Console(stream, live=False, heartbeat=0, report="report.json")
    recorder = Recorder(clock)
    interrupt = case.interrupt

    def interrupts() -> int:
        if clock.now >= GIVE_UP:
            return 2
        if interrupt is None or clock.now < interrupt.at:
            return 0
        return 2 if interrupt.twice and clock.now >= interrupt.at + 5 else 1

    engine = Engine(
        plan,
        client,
        clock,
        url=URL,
        rng=random.Random(case.seed * 100 + number),
        reporter=Reporters(Journal(disk.writer(points)), recorder, console),
        interrupts=interrupts,
        detach=interrupt is not None and interrupt.detach,
        resume=resume,
    )
    how = "ended"
    names = vars(following)  # the stall clock's input, observed as it is (`Simulation.shown`)
    counted = names["counted"]

    def shown(data: Any, status: RunStatus, now: float) -> None:
        sim.shown.append((now, status))
        counted(data, status, now)

    names["counted"] = shown
    try:
        try:
            _begin(engine, plan, URL)
        except (InvalidPlan, FatalError, KeyboardInterrupt):
            how = "stopped"
        console.finish(engine.result)
    except Crash:
        return Process("crashed")
    except Exception:
        return Process("internal error", error=traceback.format_exc(limit=-8))
    finally:
        names["counted"] = counted
        sim.events += recorder.events
    again = [name for job, name in succeeded.items() if _starts(sim, job) != starts[job]]
    return Process(how, result=engine.result, console=stream.getvalue(), restarted_succeeded=again)


def _starts(sim: Simulation, job: str) -> int:
    return sum(1 for run in sim.truth.of(job) if run.by is not None)


def _file(disk: Disk) -> str:
    """The report on disk as a file, for `load_resume`: one per process, in a temporary folder."""
    import tempfile  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    assert disk.text is not None
    folder = Path(tempfile.gettempdir()) / "fusion-run-simulation"
    folder.mkdir(exist_ok=True)
    path = folder / f"report-{id(disk)}.json"
    path.write_text(disk.text, encoding="utf-8")
    return str(path)
