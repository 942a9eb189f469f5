"""Every sentence fusion-run says about a run, written once: reasons, causes and event lines.

The engine and the scheduler record typed facts (`runner.reasons`, `runner.events`); the console,
the report, JUnit and the GitHub summary all put them in the words below, so one fact never reads
two ways.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from functools import singledispatch
from typing import Any

from runner import events as ev
from runner import reasons as why
from runner.criteria import Criterion, CriterionName, Level
from runner.durations import format_duration
from runner.outcomes import Outcome

_UPSTREAM = {
    Outcome.FAILED: "failed",
    Outcome.TIMED_OUT: "timed out",
    Outcome.CANCELLED: "was cancelled",
    Outcome.SKIPPED: "was skipped",
    Outcome.NOT_RUN: "did not run",
}


def outcome_words(outcome: str) -> str:
    """`timed_out` as `timed out`."""
    return outcome.replace("_", " ")


def step_ended(status: str) -> str:
    """How a step ended, for its closing line: `timed out`; `may still be running in Fusion`
    for a step whose run was left going."""
    return _STEP_ENDED["running"] if status == "running" else outcome_words(status)


def run_words(run_id: str | None) -> str:
    """`run ID`; `its run` while Fusion has not named it (a Jobs API run just started)."""
    return f"run {run_id}" if run_id else "its run"


# --- causes and reasons ---------------------------------------------------------------------------


@singledispatch
def text(fact: object) -> str:
    """A cause or a reason in words."""
    raise TypeError(f"no words for {fact!r}")


@text.register
def _(fact: why.StepTimeout) -> str:
    return f"the step's timeout of {format_duration(fact.limit)} passed"


@text.register
def _(fact: why.PlanTimeout) -> str:
    return f"the plan's timeout of {format_duration(fact.limit)} passed"


@text.register
def _(_: why.Interrupted) -> str:
    return "fusion-run was interrupted"


@text.register
def _(_: why.InterruptedBeforeStart) -> str:
    return "interrupted before anything started"


@text.register
def _(fact: why.FailFast) -> str:
    return f"step {fact.step!r} {'was skipped' if fact.skipped else 'failed'} and fail_fast is on"


@text.register
def _(_: why.Detached) -> str:
    return "fusion-run detached"


@text.register
def _(fact: why.CredentialsRefused) -> str:
    return f"Fusion refused the credentials: {fact.error}"


@text.register
def _(fact: why.PlanRefused) -> str:
    return f"the plan did not run: {fact.error}"


@text.register
def _(fact: why.JobsMissing) -> str:
    return f"{fact.count} job(s) have no configuration in Fusion"


@text.register
def _(fact: why.LostContact) -> str:
    took = format_duration(fact.seconds)
    return f"lost contact with Fusion for {took} (last error: {fact.error})"


@text.register
def _(fact: why.HostNotFound) -> str:
    return (
        f"Fusion's host {fact.host} is not known ({fact.error}): check fusion.url, --url or "
        "FUSION_URL"
    )


@text.register
def _(fact: why.NoFirstContact) -> str:
    return (
        f"Fusion at {fact.url} did not answer for {format_duration(fact.seconds)} "
        f"(last error: {fact.error}): check that Fusion is up there, and fusion.url, --url or "
        "FUSION_URL (fusion.first_contact sets how long to try)"
    )


@text.register
def _(fact: why.ReportUnwritable) -> str:
    return f"the report cannot be written ({fact.error}), so the start could not be recorded first"


@text.register
def _(fact: why.Stalled) -> str:
    return (
        f"no counter moved for {format_duration(round(fact.still, 1))} (stall_after "
        f"{format_duration(fact.limit)}): {counters(fact.counters)}"
    )


SHOWN_COUNTERS = 5  # counters named in a line; the others are counted


def counters(shown: tuple[tuple[str, int | float], ...]) -> str:
    """`counter.input 1200, counter.output 1180`: the first few, and how many more."""
    words = ", ".join(f"{name} {_number(value)}" for name, value in shown[:SHOWN_COUNTERS])
    more = len(shown) - SHOWN_COUNTERS
    return words + (f" and {more} more" if more > 0 else "")


@text.register
def _(fact: why.Carried) -> str:
    return fact.text


@text.register
def _(fact: why.AlreadyRunning) -> str:
    which = f" ({run_words(fact.run_id)})" if fact.run_id else ""
    return f"job {fact.job} is already running{which} and on_running is fail"


@text.register
def _(fact: why.LatestRunUnknown) -> str:
    return (
        f"Fusion showed job {fact.job}'s latest run with no id and no start time for "
        f"{format_duration(fact.limit)}: a run started then could not be told from it, so none "
        "was"
    )


@text.register
def _(fact: why.OtherRunOutlasted) -> str:
    if fact.run_id is None and fact.refused:
        return (
            f"Fusion refused {fact.refused} start(s), saying a run is active, and showed no "
            f"active run within {format_duration(fact.limit)}"
        )
    if fact.unadopted:
        return (
            f"the job's view said {run_words(fact.run_id)} was running for "
            f"{format_duration(fact.limit)}, and its list of runs never showed it going: it was "
            "not adopted (on_running: adopt)"
        )
    return (
        f"{run_words(fact.run_id)} was still running after {format_duration(fact.limit)} "
        "(on_running: wait)"
    )


@text.register
def _(fact: why.StartFailed) -> str:
    return f"could not start job {fact.job}: {fact.error}"


@text.register
def _(fact: why.NoNewRun) -> str:
    return (
        f"Fusion accepted the start of job {fact.job}, but listed no new run within "
        f"{format_duration(fact.waited)}: its run may be going (--resume looks for it again)"
    )


@text.register
def _(fact: why.HistorySilent) -> str:
    return (
        f"the job's view says {run_words(fact.run_id)} ended, but its history did not list it "
        f"within {format_duration(fact.waited)}: not judged on the view (its status may be "
        "another run's); the run may still be going"
    )


@text.register
def _(fact: why.Cancelled) -> str:
    return f"{text(fact.cause)}; {run_words(fact.run_id)} cancelled"


@text.register
def _(fact: why.CancelUnconfirmed) -> str:
    if fact.why is why.Unconfirmed.INTERRUPTED_AGAIN:
        waited = "interrupted again before Fusion confirmed the cancel"
    else:
        waited = f"Fusion did not confirm the cancel within {format_duration(fact.grace)}"
    return f"{text(fact.cause)}; {waited}: {run_words(fact.run_id)} may still be going"


@text.register
def _(fact: why.MayBeRunning) -> str:
    return f"{text(fact.why)}; {run_words(fact.run_id)} may still be going"


@text.register
def _(fact: why.RetryStopped) -> str:
    return f"{text(fact.failure)}; not retried: {text(fact.cause)}"


@text.register
def _(fact: why.CriteriaFailed) -> str:
    return "; ".join(criterion(c) for c in fact.criteria)


def criterion(c: Criterion) -> str:
    """Why a criterion failed, in words; '' for one that passed."""
    if c.passed:
        return ""
    if c.name is CriterionName.STATE:
        ended = f"run {c.run} ended {c.actual}"
        return (
            f"{ended}: {c.message}" if c.message else f"{ended} (accepted: {', '.join(c.expected)})"
        )
    if c.name is CriterionName.MAX_DURATION:
        limit = format_duration(c.expected)
        return f"the run took {_took(c.actual, c.expected)}, more than max_duration {limit}"
    if c.name is CriterionName.WORK:
        return _work(c)
    if c.name is CriterionName.STATUS:
        return f"the answer's status was {c.actual} (accepted: {_statuses(c.expected)})"
    keyword = "warn" if c.level is Level.WARN else "expect"
    if c.error is not None:
        return f"{keyword} {c.expected} could not be evaluated: {c.error}"
    said = f"{keyword} {c.expected} is {_json(c.actual)}"
    if c.operands:
        said += f" ({', '.join(f'{source}: {_json(value)}' for source, value in c.operands)})"
    if c.hint is not None:
        said += f"; {c.hint}"
    return said


def _statuses(accepted: list[int]) -> str:
    """A request's accepted statuses: those listed, or any 2xx when none is."""
    return ", ".join(str(status) for status in accepted) if accepted else "2xx"


def _work(c: Criterion) -> str:
    """A run that did less work than the plan asks: none (a warning), or fewer documents than
    `min_documents`, or no count at all."""
    least = "" if c.level is Level.WARN else f", fewer than min_documents {c.expected}"
    if c.actual is None:
        said = f"Fusion reported no count of the documents {run_words(c.run)} indexed or wrote"
        return f"{said}, and min_documents is {c.expected}"
    if c.counted == "state skipped":
        said = f"{run_words(c.run)} ended skipped: it wrote no documents{least}"
    else:
        verb = "wrote" if c.counted == "docsWritten" else "indexed"
        count = f"{_number(c.actual)} document{'' if c.actual == 1 else 's'} ({c.counted})"
        said = f"{run_words(c.run)} {verb} {count}{least or ': it did no work'}"
    if c.remainder_of:
        said += f"; it crawled only what {run_words(c.remainder_of)}, interrupted, left"
    return said


def note(c: Criterion) -> str:
    """What a criterion that held has to say, in words; '' for most."""
    if not c.passed:
        return ""
    if c.no_previous:
        keyword = "warn" if c.level is Level.WARN else "expect"
        return f"{keyword} {c.expected} not judged: no earlier good run of the job to compare with"
    if c.remainder_of:
        return (
            f"{run_words(c.run)} crawled only what {run_words(c.remainder_of)}, interrupted, "
            "left: its counts cover that remainder"
        )
    return ""


def _took(seconds: float | None, limit: float) -> str:
    """A run's duration beside the limit it passed: to the millisecond when the plan's spelling,
    rounded, would not show it longer (60.3 s over 60 s is not "1m, more than 1m")."""
    if seconds is None:
        return "an unknown time"
    took = format_duration(seconds)
    if took == format_duration(limit) or seconds - limit < 1:
        return f"{seconds:.3f}".rstrip("0").rstrip(".") + "s"
    return took


def _json(value: object) -> str:
    """A value as JSON, a fraction to 4 significant digits (the report keeps it whole).

    >>> _json(40 / 900), _json(0.5), _json(1 / 3 * 1e9), _json("café")
    ('0.04444', '0.5', '333333333.3', '"café"')
    """
    if isinstance(value, float) and math.isfinite(value) and not value.is_integer():
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.1f}"
    return json.dumps(value, ensure_ascii=False)


@text.register
def _(fact: why.AnswerUnknown) -> str:
    lost = f"{fact.error}; " if fact.error else "an earlier fusion-run stopped before its answer; "
    return (
        f"{fact.sent} may have reached Fusion and its answer is unknown: {lost}it is not sent "
        "again, as it is not repeat_safe: check what it did in Fusion, then rerun, or add "
        "repeat_safe: true to the step if sending it twice does no harm"
    )


@text.register
def _(fact: why.GateFailed) -> str:
    said = (
        f"no run of job {fact.job} ended {' or '.join(fact.states)} in the last "
        f"{format_duration(fact.within)}: "
    )
    if fact.ended is not None and fact.ago is not None:
        said += (
            f"the newest that did, {run_words(fact.run_id)} ({fact.state}), ended {fact.ended}, "
            f"{format_duration(fact.ago)} ago"
        )
    else:
        said += "Fusion lists none that did"
    if fact.cut:
        said += " among the newest runs it lists (it lists 100 at most)"
    if fact.future:
        said += (
            f"; {fact.future} run(s) that ended in the future by Fusion's clock, more than "
            "1m ahead of this machine's, were not trusted"
        )
    return said


@text.register
def _(fact: why.FusionAnswered) -> str:
    return f"Fusion answered with an error: {fact.error}"


@text.register
def _(fact: why.StillRunning) -> str:
    return f"still running in Fusion ({run_words(fact.run_id)}); {text(fact.cause)}"


@text.register
def _(fact: why.StartUnconfirmed) -> str:
    return f"a start was sent but its answer was lost; check Fusion; {text(fact.cause)}"


@text.register
def _(fact: why.NotStarted) -> str:
    return f"not started: {text(fact.cause)}"


@text.register
def _(fact: why.NotSelected) -> str:
    if fact.run_id:
        return f"not selected; {run_words(fact.run_id)}, left going earlier, was not followed"
    if fact.unverified:
        return "not selected; a start sent earlier, with no answer on record, was not verified"
    return "not selected"


@text.register
def _(fact: why.UpstreamFailed) -> str:
    ended = _UPSTREAM[fact.outcome] if fact.outcome else _STEP_ENDED["running"]
    words = f"upstream {fact.upstream!r} {ended}"
    return words + (f" (and {fact.more} more)" if fact.more else "")


_STEP_ENDED = {
    **{str(outcome): words for outcome, words in _UPSTREAM.items()},
    "running": "may still be running in Fusion",
    "pending": "did not end",
}


@text.register
def _(fact: why.StepsFailed) -> str:
    """The first three steps, grouped by how they ended: `steps 'a', 'b' failed, step 'c' was
    skipped (and 2 more)`."""
    groups: dict[str, list[str]] = {}
    for name, status in fact.steps[:3]:
        groups.setdefault(status, []).append(repr(name))
    words = ", ".join(_steps_ended(names, _STEP_ENDED[status]) for status, names in groups.items())
    more = len(fact.steps) - 3
    return words + (f" (and {more} more)" if more > 0 else "")


def _steps_ended(names: list[str], ended: str) -> str:
    if len(names) == 1:
        return f"step {names[0]} {ended}"
    return f"steps {', '.join(names)} {ended.replace('was ', 'were ', 1)}"


@text.register
def _(fact: why.ReportLost) -> str:
    return f"the report could not be written ({fact.error})"


def verdict(code: int, causes: Iterable[object]) -> str:
    """Why fusion-run exits `code`, e.g. `exit 1: step 'train' failed`."""
    return f"exit {code}: " + ("; ".join(text(cause) for cause in causes) or "the plan failed")


def allowed_failure(outcome: str, reason: str) -> str:
    """A step that failed as it was allowed to: what JUnit says instead of a failure."""
    return f"allowed to fail; {outcome_words(outcome)}: {reason}"


def allowed_failures(steps: tuple[tuple[str, str], ...]) -> str:
    """The warning beside the verdict: `1 allowed failure: step 'crawl' failed`."""
    count = f"{len(steps)} allowed failure{'' if len(steps) == 1 else 's'}"
    return f"{count}: {text(why.StepsFailed(steps=steps))}"


@text.register
def _(_: why.NoUpstreamSucceeded) -> str:
    return "no upstream succeeded"


@text.register
def _(_: why.NoUpstreamFailed) -> str:
    return "no upstream failed (run_if: at_least_one_failed)"


@text.register
def _(fact: why.UpstreamDidNotFail) -> str:
    return f"upstream {fact.upstream!r} did not fail (run_if: all_failed)"


@text.register
def _(_: why.EveryUpstreamExcluded) -> str:
    return "every upstream was excluded"


def gate_found(gate: dict[str, Any]) -> str:
    """What a `require:` step found, from the report's `steps[].gate`: for JUnit's output."""
    window = f"within {format_duration(gate['succeeded_within'])}"
    if gate["checked_at"] is None:
        return f"checks, starts nothing: not checked ({window})"
    if gate["run_id"] is None:
        return f"checked, started nothing: no run ended in an accepted state ({window})"
    run = run_words(str(gate["run_id"]))
    return f"checked, started nothing: {run} {gate['state']}, ended {gate['ended_at']} ({window})"


# --- event lines ----------------------------------------------------------------------------------


@singledispatch
def line(event: ev.Event) -> str:
    """What the console prints for `event`, after the time and the step's name."""
    raise TypeError(f"no words for {event!r}")


@line.register
def _(event: ev.Started) -> str:
    verb = "adopted" if event.adopted else "started"
    which = run_words(event.run_id) if event.run_id else "a run; its id comes from the history"
    again = f" (attempt {event.attempt})" if event.attempt > 1 else ""
    return f"{verb} {which}{again}"


@line.register
def _(event: ev.RunPickedUp) -> str:
    which = f"{run_words(event.run_id)} (attempt {event.attempt})"
    return f"following {which} again, where an earlier fusion-run left it"


@line.register
def _(event: ev.StartRequested) -> str:
    return f"starting (attempt {event.attempt})"


@line.register
def _(event: ev.RunIdentified) -> str:
    return f"{run_words(event.run_id)} {event.state}"


@line.register
def _(event: ev.StateChanged) -> str:
    return event.state


@line.register
def _(event: ev.StepEnded) -> str:
    if event.outcome is None or isinstance(event.reason, why.NotStarted):
        assert event.reason is not None
        return text(event.reason)  # says the outcome already: not started, or may still be going
    took = "" if event.duration is None else f" in {format_duration(event.duration)}"
    words = outcome_words(event.outcome) + took
    if event.reason is not None:
        words += f": {text(event.reason)}"
    if event.run_id and event.outcome is Outcome.SUCCEEDED:
        words += f" ({run_words(event.run_id)})"
    return words


@line.register
def _(event: ev.FinalStatus) -> str:
    status = json.dumps(event.status, ensure_ascii=False, separators=(",", ":"), default=str)
    return f"Fusion's final status of {run_words(event.run_id)}: {status}"


def heartbeat(run: ev.ActiveRun) -> str:
    """A run still going, for logs that have no live line: Fusion's state and counters."""
    age = format_duration(int(run.age))
    words = f"still {run.state or run.phase} ({run_words(run.run_id)}, {age})"
    counters = ", ".join(f"{name} {_number(value)}" for name, value in run.counters)
    return f"{words}: {counters}" if counters else words


def _number(value: float) -> str:
    """
    >>> _number(1200), _number(3.0), _number(0.12345), _number(12345678901)
    ('1200', '3', '0.123', '12345678901')
    """
    if isinstance(value, int) or value.is_integer():
        return str(int(value))
    return str(round(value, 3))


@line.register
def _(event: ev.CriterionWarned) -> str:
    return criterion(event.criterion)


@line.register
def _(event: ev.CriterionNoted) -> str:
    return note(event.criterion)


@line.register
def _(event: ev.Answered) -> str:
    return f"{event.sent} answered {event.code} {event.phrase} (attempt {event.attempt})"


@line.register
def _(event: ev.Checked) -> str:
    checked = f"checked job {event.job}, started nothing"
    if event.ago is None or not event.passed:
        return checked
    return (
        f"{checked}: {run_words(event.run_id)} ended {event.state} "
        f"{format_duration(event.ago)} ago, within {format_duration(event.within)}"
    )


@line.register
def _(event: ev.EndInFuture) -> str:
    return (
        f"{run_words(event.run_id)} of job {event.job} ended {format_duration(event.ahead)} in "
        "the future by Fusion's clock: its time is not trusted and the run does not count; "
        "check the clocks of Fusion and of this machine"
    )


@line.register
def _(event: ev.Retrying) -> str:
    return (
        f"attempt {event.attempt} failed ({text(event.reason)}); "
        f"retrying in {format_duration(event.delay)}"
    )


@line.register
def _(event: ev.DriverLogKept) -> str:
    run = run_words(event.run_id)
    if event.note is not None:
        return f"no driver log of {run} in the report: {event.note}"
    if event.lines == 0:
        return f"the driver log of {run} is empty"
    last, verb = (
        ("the last line", "is") if event.lines == 1 else (f"the last {event.lines} lines", "are")
    )
    kept = f"{last} of {run}'s driver log {verb} in the report"
    return kept if event.error is None else f"{kept}; the last error in it: {event.error}"


def driver_log_unread(error: str, *, missing: bool, refused: bool) -> str:
    """Why a failed run's driver log could not be kept: one line, from the request's error."""
    if missing:
        return (
            f"Fusion has none ({error}): the driver pod is deleted, or this Fusion has no "
            "driver log endpoint (Fusion 4.x)"
        )
    if refused:
        return f"Fusion refused it ({error}): the credentials may not read Spark driver logs"
    return f"it could not be read ({error})"


@line.register
def _(event: ev.WaitingForOther) -> str:
    return f"waiting for {run_words(event.run_id)}, already running, to end"


@line.register
def _(event: ev.WaitingToKnowLatest) -> str:
    return (
        f"Fusion shows job {event.job}'s latest run with no id and no start time; "
        "reading again before starting, so that a new run can be told from it"
    )


@line.register
def _(event: ev.Cancelling) -> str:
    return f"cancelling {run_words(event.run_id)}: {text(event.cause)}"


@line.register
def _(event: ev.CancelFailed) -> str:
    return f"cancelling {run_words(event.run_id)} failed: {event.error}"


@line.register
def _(event: ev.RunLate) -> str:
    limit = format_duration(event.limit)
    if event.times is not None and event.expected is not None:
        limit += f" ({event.times:g}x its last good run, {format_duration(event.expected)})"
    age = format_duration(round(event.age, 1))
    return f"{run_words(event.run_id)} has run {age}, longer than warn_after {limit}"


@line.register
def _(event: ev.NoBaseline) -> str:
    return (
        f"no last good run of the job is known, so warn_after {event.times:g}x gives no "
        "warning for this run"
    )


@line.register
def _(event: ev.RunStalled) -> str:
    return (
        f"{run_words(event.run_id)} may be stuck: {text(event.stall)}; it goes on "
        "(on_stall: cancel would cancel it)"
    )


@line.register
def _(event: ev.ContactLost) -> str:
    return f"lost contact with Fusion ({event.error}); trying again"


# What each kind of failure retry_on names is, in a sentence about retries left unused.
_RETRY_KINDS = {
    "state": "a run that ended in a state not accepted",
    "criteria": "a failed criterion (max_duration, expect, min_documents, a stall)",
    "timeout": "a run cancelled by the step's timeout",
}
_CALL_RETRY_KINDS = {  # the same, of a request: or webhook: step
    "state": "an answer whose status is not accepted",
    "criteria": "an expect that does not hold",
}


@line.register
def _(event: ev.RetriesUnused) -> str:
    retries = f"{event.retries} retr{'y' if event.retries == 1 else 'ies'}"
    return (
        f"{retries} left unused: retry_on [{', '.join(event.retry_on)}] does not retry "
        f"{(_CALL_RETRY_KINDS if event.call else _RETRY_KINDS)[event.failure]}; "
        f"add {event.failure} to retry_on to retry it"
    )


@line.register
def _(event: ev.StartRetrying) -> str:
    if event.looked:
        return (
            f"no run of the start showed in {format_duration(event.looked)} (its answer was "
            f"lost: {event.error}); starting again"
        )
    return f"start failed ({event.error}); trying again"


@line.register
def _(event: ev.StartAnswerLost) -> str:
    return f"the start's answer was lost ({event.error}); looking for its run"


@line.register
def _(event: ev.LostStartFound) -> str:
    return f"following {run_words(event.run_id)}, which the lost start began"


@line.register
def _(event: ev.RunGone) -> str:
    return f"{run_words(event.run_id)} is not in Fusion any more; starting the job"


@line.register
def _(_: ev.ConfigurationsUnreadable) -> str:
    return (
        "these credentials may not read job configurations (403), "
        "so fusion-run cannot check that every job exists before starting"
    )


@line.register
def _(event: ev.FusionMayStart) -> str:
    head = (
        f"Fusion's own scheduler may start job {event.job} during the plan: "
        f"its {event.trigger} trigger ({event.says})"
    )
    if event.trigger == "chain":
        return (
            f"{head} follows another job of the plan; disable that trigger in Fusion, "
            "since the plan orders its jobs itself"
        )
    when = (
        f"starts it next at {event.next_start}, inside the plan's expected window"
        if event.next_start
        else "is enabled and its next start is unknown (Fusion gives none)"
    )
    return f"{head} {when}; disable that trigger in Fusion, since the plan starts the job itself"


@line.register
def _(event: ev.SchedulesUnreadable) -> str:
    return (
        f"Fusion's schedule of job {event.job} cannot be read ({event.error}), so fusion-run "
        "cannot tell whether Fusion may start the plan's jobs itself; set fusion.schedules: off "
        "to skip this check"
    )


def trigger_says(
    kind: str,
    *,
    expression: str | None = None,
    interval: float | None = None,
    unit: str | None = None,
    start_time: str | None = None,
    other_job: str | None = None,
    on: tuple[str, ...] = (),
) -> str:
    """What a trigger of Fusion's scheduler says, in a few words.

    >>> trigger_says("cron", expression="0 0 6 ? * MON-FRI")
    '0 0 6 ? * MON-FRI'
    >>> trigger_says("interval", interval=1, unit="hour", start_time="2018-10-25T20:31:44.158Z")
    'every 1 hour from 2018-10-25T20:31:44.158Z'
    >>> trigger_says("chain", other_job="spark:als", on=("success", "failure"))
    'after job spark:als succeeds or fails'
    """
    if kind == "cron":
        return expression or "no expression given"
    if kind == "interval":
        every = "at an interval Fusion does not give"
        if interval is not None:
            every = f"every {_number(interval)}" + (f" {unit}" if unit else "")
        return f"{every} from {start_time}" if start_time else every
    ends = " or ".join(_ENDS[end] for end in on) or "ends"
    return f"after job {other_job or '(not named)'} {ends}"


_ENDS = {"success": "succeeds", "failure": "fails", "abort": "is aborted"}


def scheduled_problem(event: ev.FusionMayStart) -> str:
    """The problem at a step whose job Fusion may start, with fusion.schedules: fail."""
    return f"{line(event)} (fusion.schedules: fail stops the plan before anything starts)"


@text.register
def _(fact: why.TriggersFound) -> str:
    """Why the plan stopped before anything started, with fusion.schedules: fail."""
    return (
        f"{fact.count} trigger(s) of Fusion's own scheduler may start the plan's jobs during the "
        "plan (fusion.schedules: fail)"
    )


@line.register
def _(event: ev.InterruptReceived) -> str:
    if event.detach:
        return "interrupted: detaching, the active runs go on in Fusion"
    return "interrupted: cancelling active runs (interrupt again to stop waiting)"


def missing_job(job: str, url: str) -> str:
    """The preflight's problem with a step whose job Fusion does not know."""
    return f"job {job!r} has no configuration in Fusion at {url}"
