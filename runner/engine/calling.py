"""The handler of a `request:` or `webhook:` step: it sends one request per attempt and judges
the answer; it starts no job, ever.

Every request is written ahead, as a start is: the attempt records when it was asked
(`StartRequested`, on disk before the request goes out), and its answer as soon as it arrives
(`Answered`, on disk at once). So a crash between the two leaves an open attempt whose answer is
unknown. Such a request is sent again (on --resume, or after a fault that may have let it reach
Fusion) only when it is repeat-safe (GET, HEAD, or `repeat_safe: true`); otherwise the step
fails with `AnswerUnknown`, naming the fix. A fault before the request left (no connection) is
ridden out as for any read (`runner.engine.faults`), within the plan's retry budget: a step's
`timeout` does not apply (validation refuses it), as each request waits at most
fusion.read_timeout.

An answer is judged by its status (the step's list, else any 2xx), then by `expect` and `warn`
on `{status, body, headers}`. A status or an expect that does not hold is retried as a job's
end state or criteria are (`retry_on: state`, `criteria`).
"""

from __future__ import annotations

import json
from typing import Any

from runner.criteria import CriterionName, Level
from runner.engine.context import Context
from runner.engine.following import _retry
from runner.engine.judge import judge_answer
from runner.engine.phases import Phase, StepState
from runner.engine.reporter import NotDurable
from runner.events import Answered, CriterionWarned, StartRequested
from runner.fusion import ErrorKind, FusionError
from runner.outcomes import AttemptOutcome, Outcome
from runner.plan import Call, CallKind, RetryOn
from runner.plan.calls import shown_host, shown_path
from runner.reasons import (
    AnswerUnknown,
    CriteriaFailed,
    NotStarted,
    ReportUnwritable,
)
from runner.result import Attempt, CallRecord

KEPT = 2000  # characters of an answer's body the report keeps


def call_record(call: Call) -> CallRecord:
    """What the report may say a step sends."""
    return CallRecord(
        kind=str(call.kind),
        method=call.method,
        sent=sent(call).split(" ", 1)[1],
        params=tuple(name for name, _ in call.params),
        body=call.body is not None,
        repeat_safe=call.may_repeat,
    )


def sent(call: Call) -> str:
    """The method and path, or a webhook's host: what outputs may show of a request."""
    where = shown_path(call.target) if call.kind is CallKind.REQUEST else shown_host(call.target)
    return f"{call.method} {where}"


def send_call(ctx: Context, s: StepState, now: float) -> Phase:
    """Send the step's request (once per attempt), judge the answer, and end the step or wait
    to retry."""
    step, call = s.step, s.step.call
    assert call is not None
    attempt = _attempt(s)
    if attempt.requested_at is not None and not call.may_repeat:  # an earlier fusion-run's
        return _unknown(ctx, s, attempt, None)
    attempt.requested_at = ctx.clock.wall()
    try:
        ctx.emit(StartRequested(step=step.name, attempt=attempt.number))  # on disk first
    except NotDurable as unwritten:  # a request the report cannot name is never sent
        attempt.outcome = AttemptOutcome.NOT_STARTED
        return ctx.end(s, Outcome.NOT_RUN, NotStarted(cause=ReportUnwritable(error=unwritten.why)))
    try:
        answer = ctx.fusion.call(call)
    except FusionError as error:
        return _fault(ctx, s, attempt, error)
    s.contact = None
    wall = ctx.clock.wall()
    attempt.started_at, attempt.ended_at = attempt.requested_at, wall
    attempt.duration = max(0.0, (wall - attempt.requested_at).total_seconds())
    attempt.state = str(answer.status)
    attempt.result = {"status": answer.status, "body": _kept(answer.body)}
    attempt.criteria = judge_answer(
        answer.status, answer.body, answer.headers, call.statuses, step.success
    )
    failed = tuple(c for c in attempt.criteria if not c.passed and c.level is Level.FAIL)
    attempt.outcome = AttemptOutcome.FAILED if failed else AttemptOutcome.SUCCEEDED
    ctx.emit(
        Answered(
            step=step.name,
            sent=sent(call),
            code=answer.status,
            phrase=answer.reason,
            attempt=attempt.number,
        )
    )
    for criterion in attempt.criteria:
        if criterion.level is Level.WARN and not criterion.passed:
            ctx.warn(CriterionWarned(step=step.name, run_id=None, criterion=criterion))
    if not failed:
        return ctx.end(s, Outcome.SUCCEEDED, None)
    reason = CriteriaFailed(criteria=failed)
    status_failed = failed[0].name is CriterionName.STATUS
    if _retry(ctx, s, now, RetryOn.STATE if status_failed else RetryOn.CRITERIA, reason):
        return Phase.RETRY_DELAY
    return ctx.end(s, Outcome.FAILED, reason)


def _attempt(s: StepState) -> Attempt:
    """The open attempt (its request not answered yet), or a new one."""
    attempts = s.result.attempts
    if attempts and attempts[-1].open:
        return attempts[-1]
    attempt = Attempt(number=len(attempts) + 1, round=s.round)
    attempts.append(attempt)
    return attempt


def _fault(ctx: Context, s: StepState, attempt: Attempt, error: FusionError) -> Phase:
    """A request that got no answer. One that never left is as if not asked; one that may have
    reached Fusion is sent again only if it is repeat-safe. Either way, when it is to be sent
    again, the engine's fault handling decides when (`runner.engine.faults`)."""
    call = s.step.call
    assert call is not None
    reached = error.maybe_applied and error.kind is not ErrorKind.CREDENTIALS
    if reached and not call.may_repeat:
        return _unknown(ctx, s, attempt, str(error))
    if not reached:
        attempt.requested_at = None  # it never left: nothing to be unknown about
    raise error


def _unknown(ctx: Context, s: StepState, attempt: Attempt, error: str | None) -> Phase:
    """The request may have done its work, and is not sent again: the step fails, saying so."""
    assert s.step.call is not None
    attempt.outcome = AttemptOutcome.FAILED
    attempt.ended_at = ctx.clock.wall()
    return ctx.end(s, Outcome.FAILED, AnswerUnknown(sent=sent(s.step.call), error=error))


def _kept(body: Any) -> Any:
    """An answer's body as the report keeps it: whole up to KEPT characters of JSON, else the
    start of its text, cut."""
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    if len(text) <= KEPT:
        return body
    return text[: KEPT - 1] + "…"
