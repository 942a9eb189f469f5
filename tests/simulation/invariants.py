"""What must hold after every simulated run, whatever Fusion did: each check returns the
violations it found, in words that name the step, the attempt and the run.

- no step `succeeded` unless its own run ended in an accepted state (and within max_duration,
  and its `expect` holds) in Fusion's truth;
- an attempt that names a run names the run its own start began (or, adopted, one run);
- at most one run per attempt;
- every run fusion-run began is named in the report: by its keys, or by an attempt that says
  its run may be going (open, or left running); never by one that says no run began;
- a run still going in Fusion at the end is one the report says may be going;
- a step that succeeded on disk is never started again after a crash;
- every step ends within its timeout plus a stated slack; every request within its deadline,
  reading a bounded answer; the simulation itself ends;
- no internal error, and no exit code but 0, 1 and 130 (3 only for a Fusion out of reach);
- no credential in any output (the report at every write, the console, JUnit, the summary);
- the report valid against its schema at every write;
- the exit code, the report, JUnit, the GitHub summary and the console's closing line agree;
- a warning never changes a verdict: a judged attempt failed exactly when a criterion of level
  fail did not hold; a `warn` entry is judged at level warn, the work check at level warn unless
  `min_documents` is set; no step's reason holds a criterion of level warn; the exit code is the
  one of the same result without its warnings and warn-level criteria;
- a step that succeeded with `min_documents` ran a run that did that many documents; one that
  failed on it, a run whose documents were fewer (or that Fusion did not count);
- a cancel is ordered in the report on disk before its request reaches Fusion; an attempt
  cancelled because its run stalled ends failed only once Fusion showed the run ended; and a
  stall is declared only when every read fusion-run took for its run over `stall_after` showed
  the same counters, counters the run really had then.
"""

from __future__ import annotations

import copy
import html
import json
import re
from collections.abc import Iterable
from typing import Any

import jmespath

from runner.clock import parse_time
from runner.criteria import Level
from runner.engine.context import CANCEL_GRACE, IDENTIFY_WITHIN
from runner.events import Cancelling, PlanStarted, Retrying, StepEnded
from runner.fusion import routes
from runner.fusion.status import RunStatus
from runner.fusion.transport import MAX_ANSWER
from runner.jobs import TERMINAL, job_kind
from runner.reasons import HostNotFound, LostContact, NoFirstContact, Stalled
from runner.report.github import summary_markdown
from runner.report.junit import junit_xml
from runner.verdict import verdict
from tests.helpers.outputs import checked
from tests.simulation.simulate import GIVE_UP, Simulation
from tests.simulation.world import JOBS_STATUS, LAG, TrueRun

SHORT = 8  # a secret shorter than this may occur in an id by chance: its echo is looked for
TALLY = {"checks": 0}  # invariant checks made, for the figures


def count(checks: int = 1) -> None:
    TALLY["checks"] += checks


def violations(sim: Simulation) -> list[str]:
    found: list[str] = []
    checks = (_process, _fields, _runs, _success, _bounds, _credentials, _outputs)
    for check in (*checks, _warnings, _min_documents, _cancels, _stalls):
        try:
            found += check(sim)
        except Exception as error:
            found.append(f"{check.__name__}: could not check: {error!r}")
    return found


def keys(sim: Simulation, run: TrueRun) -> set[str]:
    """Every key fusion-run may know `run` by: its ids, its start time as Fusion writes it."""
    started = parse_time(sim.fusion._time(run.started))
    assert started is not None
    return {
        f"id:{run.ids[0]}",
        f"id:{run.ids[1]}",
        "start:" + started.isoformat(timespec="milliseconds"),
    }


def _report(sim: Simulation) -> dict[str, Any]:
    report = sim.disk.report()
    assert report is not None, "no report on disk"
    return report


def _entry(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in report["steps"] if s["name"] == name)


def _attempt(entry: dict[str, Any], number: int) -> dict[str, Any] | None:
    return next((a for a in entry["attempts"] if a["number"] == number), None)


# --- the processes --------------------------------------------------------------------------------


def _process(sim: Simulation) -> list[str]:
    count(4 * len(sim.processes) + len(sim.disk.writes))
    found = [f"internal error: {p.error}" for p in sim.processes if p.how == "internal error"]
    found += [f"a start went out that the report on disk did not hold: {u}" for u in sim.unrecorded]
    found += [f"report write invalid: {why}" for why in sim.disk.invalid]
    for process in sim.processes:
        found += [
            f"{name} had succeeded, and was started again" for name in process.restarted_succeeded
        ]
    if sim.clock.now >= GIVE_UP:
        found.append(f"the plan had not ended after {GIVE_UP:g}s")
    return found


# --- what a program reads ------------------------------------------------------------------------


def _fields(sim: Simulation) -> list[str]:
    """Masking never changes what a program reads: step and job names, run ids and keys (times
    are checked by the schema at every write)."""
    report = sim.disk.report()
    if report is None:
        return []
    found = []
    plan = [(step.name, step.job) for step in sim.case.steps]
    if [(entry["name"], entry["job"]) for entry in report["steps"]] != plan:
        found.append(f"the report's steps are not the plan's: {report['steps'][0]['name']!r}...")
    for entry in report["steps"]:
        known = set().union(*(keys(sim, run) for run in sim.truth.of(entry["job"])))
        for attempt in entry["attempts"]:
            count(3)
            named = (attempt["result"] or {}).get("jobConfigId")
            if named is not None and named != routes.key(entry["job"]):  # what expect reads
                found.append(f"{entry['name']} attempt {attempt['number']}: result names {named!r}")
            held = set(attempt["run_keys"]) | ({f"id:{attempt['run_id']}"} - {"id:None"})
            if held - known:
                found.append(
                    f"{entry['name']} attempt {attempt['number']}: {held - known} no run has"
                )
    return found


# --- runs and attempts ----------------------------------------------------------------------------


def _runs(sim: Simulation) -> list[str]:
    """Beyond the evidence, a Fusion that gives a new run an earlier run's id makes a run that
    was never seen going indistinguishable from the earlier one: fusion-run never judges one
    by the other (`_success`), but whether a start began a run may then be undecidable, so
    naming and double starts are not asserted there."""
    if sim.case.behaviour.reused_ids:
        return []
    if sim.disk.text is None:
        return [] if not sim.truth.ours() else ["runs began, and no report is on disk"]
    report, found = _report(sim), []
    by_attempt: dict[tuple[str, int], list[TrueRun]] = {}
    for run in sim.truth.ours():
        assert run.by is not None
        owner = sim.attributed.get(run.by)
        if owner is None:
            continue  # said by _process (no intent on disk)
        by_attempt.setdefault(owner, []).append(run)
        count(3)  # named, not going unnamed, one run per attempt
        entry = _entry(report, owner[0])
        attempt = _attempt(entry, owner[1])
        label = f"{owner[0]} attempt {owner[1]} (run {run.ids[1]}, start {run.by})"
        if attempt is None:
            found.append(f"{label}: the report has no such attempt")
            continue
        named = bool(set(attempt["run_keys"]) & keys(sim, run))
        open_ = attempt["outcome"] in (None, "left_running")
        if not named and not open_:
            found.append(f"{label}: named nowhere; the attempt says {attempt['outcome']}")
        if not run.ended(sim.clock.now) and not (open_ and entry["outcome"] == "running"):
            found.append(
                f"{label}: still going in Fusion; the report says the step {entry['outcome']}, "
                f"the attempt {attempt['outcome']}"
            )
    for (name, number), runs in by_attempt.items():
        if len(runs) > 1:
            ids = [run.ids[1] for run in runs]
            found.append(f"{name} attempt {number}: {len(runs)} runs began ({ids}): a double start")
    for entry in report["steps"]:
        for attempt in entry["attempts"]:
            if not attempt["run_keys"]:
                continue
            count()
            held = set(attempt["run_keys"])
            matching = [run for run in sim.truth.of(entry["job"]) if held & keys(sim, run)]
            label = f"{entry['name']} attempt {attempt['number']}"
            if attempt["adopted"]:
                if not matching:
                    found.append(f"{label}: adopted a run Fusion never had ({sorted(held)})")
                elif all(run.ended(-LAG) for run in matching):  # the plan began at 0
                    found.append(f"{label}: adopted {sorted(held)}, ended before the plan began")
                continue
            own = by_attempt.get((entry["name"], attempt["number"]), [])
            if not own:
                found.append(f"{label}: names {sorted(held)}, but its start began no run")
            elif own[0] not in matching:
                found.append(f"{label}: names another run than its own {own[0].ids[1]}")
            elif (
                len(matching) > 1
                and not sim.case.behaviour.reused_ids  # another run may take its id later
                and not any(k.startswith("start:") for k in held & keys(sim, own[0]))
            ):
                found.append(f"{label}: its keys {sorted(held)} fit {len(matching)} runs")
    return found


# --- verdicts -------------------------------------------------------------------------------------


def _success(sim: Simulation) -> list[str]:
    if sim.disk.text is None:
        return []
    report, found = _report(sim), []
    steps = {step.name: step for step in sim.case.steps}
    for entry in report["steps"]:
        if entry["outcome"] != "succeeded" or not entry["attempts"]:
            continue
        step, last = steps[entry["name"]], entry["attempts"][-1]
        count(2 + len(step.success.expect) + (step.success.max_duration is not None))
        if last["adopted"]:
            held = set(last["run_keys"])
            runs = [run for run in sim.truth.of(entry["job"]) if held & keys(sim, run)]
        else:
            runs = [
                run
                for run in sim.truth.ours()
                if run.by is not None
                and sim.attributed.get(run.by) == (entry["name"], last["number"])
            ]
        label = f"{entry['name']} succeeded"
        if sim.case.behaviour.reused_ids and _shared(sim, entry["job"], last, runs):
            continue
        if len(runs) > 1 and sim.case.behaviour.reused_ids:  # then the one its keys name
            held = set(last["run_keys"])
            named = [run for run in runs if held & keys(sim, run)]
            started = [
                run for run in named if {k for k in held if k.startswith("start:")} & keys(sim, run)
            ]
            runs = (started or named)[-1:]
        if len(runs) != 1:
            found.append(f"{label}, on {len(runs)} runs of its own")
            continue
        run = runs[0]
        if not run.ended(sim.clock.now):
            found.append(f"{label}, but its run {run.ids[1]} is still going")
            continue
        final = _state(run, entry["job"])
        if final not in step.success.states:
            found.append(f"{label}, but its run {run.ids[1]} ended {final}")
        took = run.end() - run.started
        limit = step.success.max_duration
        if limit is not None and took > limit + 0.01:
            found.append(f"{label}, but its run took {took:.1f}s, more than max_duration {limit}s")
        for expression in step.success.expect:
            value = jmespath.search(expression, _truth_record(run, entry["job"], sim))
            if value in (None, False, "", [], {}):
                found.append(f"{label}, but on its run {run.ids[1]}, {expression} is {value!r}")
        least, did = step.success.min_documents, documents(run, entry["job"])
        if least and (did is None or did < least):
            found.append(f"{label}, but its run {run.ids[1]} did {did} documents (min {least})")
    return found


def _shared(sim: Simulation, job: str, attempt: dict[str, Any], own: list[TrueRun]) -> bool:
    """The attempt's run went by an id that an earlier run of the job had, and what it named
    is that earlier run. Fusion documents `jobId` as "the unique job run ID"; a Fusion that
    gives it twice makes the two runs one to every answer but their start times, and those
    are never compared with fusion-run's clock (Fusion's may be hours off, or go back at
    noon). Which run a verdict was on is then undecidable: it is not asserted."""
    held = set(attempt["run_keys"])
    others = [r for r in sim.truth.of(job) if r not in own and held & keys(sim, r)]
    return any(f"id:{r.ids[1]}" in held or f"id:{r.ids[0]}" in held for r in others)


def _state(run: TrueRun, job: str) -> str:
    final = run.final()
    return final if job_kind(job)[0] == "spark" else JOBS_STATUS[final]


def _truth_record(run: TrueRun, job: str, sim: Simulation) -> dict[str, Any]:
    """What the run really reported, as a plan's `expect` reads it."""
    if job_kind(job)[0] == "spark":
        result = {"jobConfigId": run.job, "jobRunId": run.ids[1], **run.script.counters}
        return {"state": run.final(), "result": result}
    counters = run.script.counters
    if sim.case.behaviour.shape == "4.2":
        extra: dict[str, Any] = dict(counters)
    else:
        extra = {"counters": {name: {"count": value} for name, value in counters.items()}}
    return {"status": _state(run, job), "extra": extra}


# --- bounds ---------------------------------------------------------------------------------------


def _bounds(sim: Simulation) -> list[str]:
    found = []
    settings = sim.case.plan().fusion
    count(2 * len(sim.fusion.exchanges) + len(sim.case.steps) + 1)
    for exchange in sim.fusion.exchanges:
        read = (
            min(settings.read_timeout, 15)
            if exchange.method in ("GET", "DELETE")
            else settings.read_timeout
        )
        deadline = settings.connect_timeout + 2 * read
        took = (exchange.ended if exchange.ended is not None else sim.clock.now) - exchange.began
        if took > deadline + 1e-6:
            found.append(
                f"{exchange.method} {exchange.path} took {took:.1f}s, deadline {deadline}s"
            )
        if exchange.bytes > MAX_ANSWER + 1024 * 1024:
            found.append(f"{exchange.method} {exchange.path} read {exchange.bytes} bytes")
    spans: list[tuple[str, float]] = []  # each fusion-run's span of each step, on its own
    first: dict[str, float] = {}
    ended: dict[str, float] = {}
    for at, event in [*sim.events, (sim.clock.now, PlanStarted())]:
        if isinstance(event, PlanStarted):  # a fusion-run (re)starts, or the last one ended
            spans += [(name, ended.get(name, at) - since) for name, since in first.items()]
            first, ended = {}, {}
        if event.step is None:
            continue
        first.setdefault(event.step, at)
        if isinstance(event, StepEnded):
            ended[event.step] = at
    steps = {step.name: step for step in sim.case.steps}
    for name, span in spans:
        step = steps[name]
        delays = sum(step.retry_delay * step.retry_backoff**k * 1.1 for k in range(step.retries))
        attempt = step.timeout + IDENTIFY_WITHIN + CANCEL_GRACE + settings.retry_budget + 2 * 130
        bound = (step.retries + 1) * attempt + delays
        if span > bound:
            found.append(
                f"{name} took {span:.0f}s in one fusion-run from its first event there; the "
                f"bound is {bound:.0f}s"
            )
    return found


# --- outputs --------------------------------------------------------------------------------------


def _outputs_text(sim: Simulation) -> Iterable[str]:
    yield from sim.disk.writes
    for process in sim.processes:
        yield process.console
        if process.result is not None:
            yield junit_xml(process.result)
            report = process.result.to_dict()
            yield summary_markdown(report, sim.case.plan(), verdict(process.result).words())


def _credentials(sim: Simulation) -> list[str]:
    secret = sim.case.secret
    if len(secret.strip()) >= SHORT:
        forms = {secret, " ".join(secret.split()), json.dumps(secret, ensure_ascii=False)[1:-1]}
        forms |= {form[:6] for form in forms}  # nor its beginning, as a message cut short shows
    else:
        phrase = f"password {secret}"
        forms = {phrase, " ".join(phrase.split()), json.dumps(phrase, ensure_ascii=False)[1:-1]}
    forms = {form for form in forms if form.strip()}
    for text in _outputs_text(sim):
        count()
        for seen in (text, _unescaped(text)):
            for form in forms:
                if form in seen:
                    at = seen.index(form)
                    return [f"a credential in an output: …{seen[max(0, at - 60) : at + 60]!r}…"]
    return []


def _unescaped(text: str) -> str:
    """`text` as a person reads it: HTML entities and `\\u` escapes decoded, white space of
    any kind one space. Found this way, the secret is found in whatever spelling it took,
    without asking fusion-run's own list of spellings."""
    text = html.unescape(text)
    text = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m[1], 16)), text)
    return " ".join(text.split())


def _outputs(sim: Simulation) -> list[str]:
    last = sim.last
    if last.result is None:
        return []
    result, found = last.result, []
    count(5)
    judged = verdict(result)
    code = int(judged.code)
    allowed = {0, 1, 130}
    if isinstance(result.error, LostContact | NoFirstContact | HostNotFound):
        allowed.add(3)
    if code not in allowed:
        found.append(f"exit {code}: {judged.words()}")
    report = sim.disk.report()
    if report is not None and report["outcome"] != str(result.outcome):
        found.append(f"the report says {report['outcome']}, the result {result.outcome}")
    try:
        checked(result)
    except AssertionError as error:
        found.append(f"JUnit disagrees with exit {code}: {error}")
    summary = summary_markdown(
        result.to_dict(), sim.case.plan(), None if judged.succeeded else judged.words()
    )
    if f"plan `{result.plan_name}` {result.outcome}" not in summary.splitlines()[0]:
        found.append(f"the summary's first line disagrees: {summary.splitlines()[0]}")
    closing = last.console.rstrip("\n").rsplit("\n", 1)[-1]
    if not closing.startswith(f"fusion-run: plan {result.plan_name} {result.outcome}"):
        found.append(f"the console's closing line disagrees: {closing}")
    return found


# --- how often the verdict is the truth -----------------------------------------------------------


def disagreements(sim: Simulation) -> tuple[list[str], int]:
    """The attempts judged against what their run really did, with each one that disagrees
    (a failure the run did not have, a success it did not earn), and how many were judged. On a
    documented Fusion every one must agree; on an adversarial one, safety allows caution (a run
    that cannot be identified is not judged), so this is a figure, not an invariant."""
    report = sim.disk.report()
    if report is None:
        return [], 0
    steps = {step.name: step for step in sim.case.steps}
    owners = {owner: run for run in sim.truth.ours() if (owner := sim.attributed.get(run.by or 0))}
    found, judged = [], 0
    for entry in report["steps"]:
        step = steps[entry["name"]]
        for attempt in entry["attempts"]:
            run = owners.get((entry["name"], attempt["number"]))
            if run is None or attempt["outcome"] not in ("succeeded", "failed"):
                continue
            judged += 1
            took = run.end() - run.started
            good = _state(run, entry["job"]) in step.success.states
            good = good and (step.success.max_duration is None or took <= step.success.max_duration)
            record = _truth_record(run, entry["job"], sim)
            good = good and all(
                jmespath.search(e, record) not in (None, False, "", [], {})
                for e in step.success.expect
            )
            least, did = step.success.min_documents, documents(run, entry["job"])
            good = good and not (least and (did is None or did < least))
            if good != (attempt["outcome"] == "succeeded"):
                found.append(
                    f"{entry['name']} attempt {attempt['number']} {attempt['outcome']}; its run "
                    f"{run.ids[1]} ended {_state(run, entry['job'])} in {took:.1f}s"
                )
    for entry in report["steps"]:
        if entry["outcome"] in ("running", "pending"):
            found.append(f"{entry['name']} ended {entry['outcome']}")
    return found, judged


# --- warnings, min_documents, stalls --------------------------------------------------------------


def documents(run: TrueRun, job: str) -> int | None:
    """The documents `run` really indexed or wrote, as `runner.fusion.work` counts them."""
    kind, counters = job_kind(job)[0], run.script.counters
    if kind == "spark":
        return 0 if run.final() == "skipped" else counters.get("docsWritten")
    if kind != "datasource":
        return None
    if "counter.output" in counters:
        return max(counters["counter.output"] - counters.get("counter.failed", 0), 0)
    return counters.get("content-indexer.completed.count")


def _run_of(sim: Simulation, entry: dict[str, Any], attempt: dict[str, Any]) -> TrueRun | None:
    """The run the attempt was on: the one its start began, or, adopted, the one its keys name."""
    if attempt["adopted"]:
        held = set(attempt["run_keys"])
        runs = [run for run in sim.truth.of(entry["job"]) if held & keys(sim, run)]
    else:
        owner = (entry["name"], attempt["number"])
        runs = [run for run in sim.truth.ours() if sim.attributed.get(run.by or 0) == owner]
    return runs[0] if len(runs) == 1 else None


def _levels(value: Any) -> Iterable[str]:
    """Every criterion's level anywhere in a fact."""
    if isinstance(value, dict):
        if "level" in value and "passed" in value:
            yield value["level"]
        for item in value.values():
            yield from _levels(item)
    elif isinstance(value, list):
        for item in value:
            yield from _levels(item)


def _warnings(sim: Simulation) -> list[str]:
    report = sim.disk.report()
    if report is None:
        return []
    found, steps = [], {step.name: step for step in sim.case.steps}
    for entry in report["steps"]:
        step = steps[entry["name"]]
        for attempt in entry["attempts"]:
            criteria = attempt["criteria"]
            if not criteria or attempt["outcome"] not in ("succeeded", "failed"):
                continue
            count(1 + len(criteria))
            label = f"{entry['name']} attempt {attempt['number']}"
            failing = [c["name"] for c in criteria if not c["passed"] and c["level"] == "fail"]
            if (attempt["outcome"] == "failed") != bool(failing):
                found.append(
                    f"{label} {attempt['outcome']}; unmet criteria of level fail: {failing}"
                )
            for c in criteria:
                if c["name"] == "expect" and c["expected"] not in step.success.expect:
                    level = "warn"
                elif c["name"] == "work":
                    level = "warn" if step.success.min_documents is None else "fail"
                else:
                    continue
                if c["level"] != level:
                    found.append(f"{label}: {c['name']} {c['expected']!r} judged at {c['level']}")
        count()
        if "warn" in set(_levels(entry.get("reason_fact"))):
            found.append(f"{entry['name']} {entry['outcome']}: its reason holds a warning")
    result = sim.last.result
    if result is not None:
        plain = copy.deepcopy(result)
        plain.warnings = []
        for each in plain.steps:
            for attempt in each.attempts:
                attempt.criteria = [c for c in attempt.criteria if c.level is Level.FAIL]
        if verdict(plain).code != verdict(result).code:
            found.append(f"exit {int(verdict(result).code)}; without its warnings, another")
    return found


def _min_documents(sim: Simulation) -> list[str]:
    """A step failed on min_documents on a run whose documents were fewer, or not counted by
    Fusion (a task's; a Jobs API history that gives no `extra`)."""
    report = sim.disk.report()
    if report is None or sim.case.behaviour.reused_ids:
        return []
    found = []
    for entry in report["steps"]:
        for attempt in entry["attempts"]:
            unmet = [
                c
                for c in attempt["criteria"]
                if c["name"] == "work" and c["level"] == "fail" and not c["passed"]
            ]
            run = _run_of(sim, entry, attempt) if unmet else None
            if run is None:
                continue
            count()
            did, least = documents(run, entry["job"]), unmet[0]["expected"]
            label = f"{entry['name']} attempt {attempt['number']} failed on min_documents {least}"
            if unmet[0]["actual"] is None:
                if did is not None and sim.case.behaviour.history_run_ids:
                    found.append(f"{label} as not counted; its run {run.ids[1]} did {did}")
            elif did != unmet[0]["actual"] or did >= least:
                found.append(f"{label} at {unmet[0]['actual']}; its run {run.ids[1]} did {did}")
    return found


def _cancels(sim: Simulation) -> list[str]:
    """Each cancel ordered on disk before it went out; an attempt that ends by its cancel (a
    stall's: failed) ends only once Fusion showed its run ended."""
    found = [f"{sent}: no cancel was ordered in the report on disk" for sent in sim.unordered]
    report = sim.disk.report()
    if report is None:
        return found
    ends: dict[tuple[str | None, int | None], float] = {}  # (step, attempt or None) -> when
    for at, event in sim.events:
        if isinstance(event, StepEnded):
            ends[event.step, None] = at
        elif isinstance(event, Retrying):
            ends[event.step, event.attempt] = at
    for entry in report["steps"]:
        for attempt in entry["attempts"]:
            order = attempt["cancel"]
            if order is None or attempt["outcome"] in (None, "left_running"):
                continue  # left running: Fusion did not confirm the cancel; the run may be going
            count(2)
            cause = (order.get("cause") or {}).get("kind")
            label = f"{entry['name']} attempt {attempt['number']}, cancelled ({cause}),"
            if attempt["state"] not in TERMINAL:
                found.append(f"{label} ended {attempt['outcome']} in state {attempt['state']}")
            if cause == "stalled" and attempt["outcome"] != "failed":
                found.append(f"{label} ended {attempt['outcome']}")
            run = None if sim.case.behaviour.reused_ids else _run_of(sim, entry, attempt)
            key = (entry["name"], attempt["number"])
            at = ends.get(key, ends.get((entry["name"], None), sim.clock.now))
            if run is not None and not run.ended(at):
                found.append(f"{label} ended before its run {run.ids[1]} did")
    return found


def _stalls(sim: Simulation) -> list[str]:
    found = []
    steps = {step.name: step for step in sim.case.steps}
    declared = set()  # a resume orders again the cancel its report holds: declared once
    for at, event in sim.events:
        if isinstance(event, Cancelling) and isinstance(event.cause, Stalled):
            if (event.step, event.cause) in declared:
                continue
            declared.add((event.step, event.cause))
            count(3)
            found += _stalled(sim, steps[event.step or ""].job, at, event, _starts(sim, event))
    return found


def _starts(sim: Simulation, event: Cancelling) -> list[float]:
    """The start times (epoch ms) by which fusion-run knew the run it declared stalled: a job
    view's counters are its run's when they carry one of them (`runner.engine.watch`). As
    fusion-run knows them: with 5.9.11's twelve hours wrong, a view's counters are never taken
    for its run's, and the invariant asks no more of fusion-run than it can know."""
    report = sim.disk.report() or {"steps": []}
    label = event.run_id or ""
    named = f"id:{label}"
    if label.startswith("started "):
        started = parse_time(label.removeprefix("started "))
        named = "" if started is None else "start:" + started.isoformat(timespec="milliseconds")
    keys = [  # of the attempt whose run it was: an earlier attempt's run is another run
        key
        for entry in report["steps"]
        if entry["name"] == event.step
        for attempt in entry["attempts"]
        if named in attempt["run_keys"]
        for key in attempt["run_keys"]
        if key.startswith("start:")
    ]
    times = [parse_time(key.removeprefix("start:")) for key in keys]
    return [time.timestamp() * 1000 for time in times if time is not None]


def _stalled(
    sim: Simulation, job: str, at: float, event: Cancelling, starts: list[float]
) -> list[str]:
    """From the stall clock's start to the read that declared the stall, every read fusion-run
    took for its run that showed the run's own counters (a job view's may be another run's:
    those carry another start time) showed the cause's; those counters were the run's, at some
    moment from the first read (less the lag) to the declaration."""
    cause = event.cause
    assert isinstance(cause, Stalled)
    label = f"{event.step} declared its run {event.run_id} stalled at {at:.1f}s"
    limit = next(s.stall_after for s in sim.case.steps if s.job == job)
    reads = [(now, status) for now, status in sim.shown if status.job == job and now <= at]
    if cause.limit != limit or cause.still < limit - 1e-6 or not reads:
        return [f"{label}: still {cause.still}s, limit {cause.limit}, stall_after {limit}"]
    run = None if sim.case.behaviour.reused_ids else _named(sim, job, event.run_id)
    if run is None:
        return []  # which run's counters a read showed cannot be told
    # the read that declared it: the last one whose time less the stillness is a read's time (a
    # read after it, in the same pass as the event, may come before the event's own time)
    times = sorted({now for now, _ in reads})
    declared = max(
        (t for t in times if any(abs(t - cause.still - u) < 1e-6 for u in times)),
        default=times[-1],
    )
    since = declared - cause.still
    going = [
        (now, tuple(c for c in status.counters if c[0] not in ("startTime", "endTime")))
        for now, status in reads
        if since - 1e-6 <= now <= declared + 1e-6
        and status.active
        and status.visible
        and (not status.view or any(_at(status, started) for started in starts))
    ]
    going = [(now, shown) for now, shown in going if shown]
    moved = [(now, shown) for now, shown in going if shown != cause.counters]
    if moved or not going or abs(going[0][0] - since) > 1e-6:
        return [f"{label}: reads since {since:.1f}s showed {moved[:1] or going[:1]}"]
    lag = max(sim.case.behaviour.lag.values(), default=0.0)
    low, high = run.going_counters(since - lag), run.going_counters(at)
    for name, value in cause.counters:
        base = name.removeprefix("counters.")
        if base not in low or not low[base] <= value <= high[base]:
            return [f"{label}: {name} {value} shown; the run had {low.get(base)}..{high.get(base)}"]
    return []


def _at(view: RunStatus, started: float) -> bool:
    """The view's counters carry the start time `started` (epoch ms), within a second."""
    own = (view.reported or {}).get("startTime")
    return isinstance(own, int | float) and abs(own - started) <= 1000


def _named(sim: Simulation, job: str, label: str | None) -> TrueRun | None:
    """The one run of `job` a label (an id, or `started <time>`) names, if one."""
    if label is None:
        return None
    key = f"id:{label}"
    if label.startswith("started "):
        started = parse_time(label.removeprefix("started "))
        key = "" if started is None else "start:" + started.isoformat(timespec="milliseconds")
    runs = [run for run in sim.truth.of(job) if key in keys(sim, run)]
    return runs[0] if len(runs) == 1 else None
