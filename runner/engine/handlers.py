"""The one table that selects a step's handler by its phase. Each handler asks Fusion what it
needs, records what it learnt in the step's result and its phase data, and returns the next phase;
faults of Fusion's are raised as `FusionError` and handled by the engine, alike for every phase."""

from __future__ import annotations

from runner.engine import following, starting
from runner.engine.context import Handler
from runner.engine.phases import Phase

HANDLERS: dict[Phase, Handler] = {
    Phase.PICK_UP: starting.pick_up,
    Phase.CHECK: starting.check,
    Phase.WAIT_OTHER: starting.wait_other,
    Phase.START: starting.start,
    Phase.VERIFY: starting.verify,
    Phase.FOLLOW: following.follow,
    Phase.CANCEL: following.cancel,
    Phase.RETRY_DELAY: following.retry_delay,
}
