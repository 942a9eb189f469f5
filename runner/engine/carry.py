"""--resume: what each step carries on from, read from the earlier report's record of it.

- A step that succeeded is kept as it is.
- A step whose last attempt has a run that was left going (or is still open) is picked up: that
  attempt follows its run again.
- A step whose last attempt asked for a start that has no answer on record is verified: the run
  is looked for, and the job started again only if Fusion shows none.
- Any other step runs again. Its retries count the failed attempts of its last round; a round
  whose retries are spent (the step failed for good) is followed by a new round, as a repair.

Attempts are kept in every case: their numbers go on across resumes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from runner.outcomes import AttemptOutcome, Outcome
from runner.plan import Step
from runner.result import Attempt, StepResult


class Carry(enum.Enum):
    KEEP = "keep"
    PICK_UP = "pick up"
    VERIFY = "verify"
    RUN = "run"


@dataclass(frozen=True, kw_only=True, slots=True)
class Carried:
    how: Carry
    round: int  # the round the step's next attempts belong to
    attempt: Attempt | None = None  # the attempt to pick up or verify


def carry(step: Step, earlier: StepResult) -> Carried:
    attempts = earlier.attempts
    last = attempts[-1] if attempts else None
    if earlier.outcome is Outcome.SUCCEEDED:
        return Carried(how=Carry.KEEP, round=last.round if last else 1)
    if last is None:
        return Carried(how=Carry.RUN, round=1)
    if last.run_keys and last.outcome in (None, AttemptOutcome.LEFT_RUNNING):
        return Carried(how=Carry.PICK_UP, round=last.round, attempt=last)
    if last.open and last.requested_at is not None and not last.adopted:
        return Carried(how=Carry.VERIFY, round=last.round, attempt=last)
    counted = (AttemptOutcome.FAILED, AttemptOutcome.TIMED_OUT)
    failed = sum(1 for a in attempts if a.round == last.round and a.outcome in counted)
    spent = failed > step.retries
    return Carried(how=Carry.RUN, round=last.round + 1 if spent else last.round)
