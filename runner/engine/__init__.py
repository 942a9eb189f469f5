"""The engine: runs a plan's steps against Fusion as one state machine per step.

`phases` holds the phases, the table of moves between them and each phase's data; `handlers` is the
table of one handler per phase, which live in `starting` and `following` and share `context`;
`stops` is the table of what each phase does when the plan stops, and `stopping` the plan's own
state and stops; `faults` what a failed request does to a step; `judge` checks a run against the
plan's criteria; `scheduler` says which steps may start; `preflight` checks that the jobs exist;
`carry` says where each step begins (what a resumed step carries on from, and which steps
--select leaves out); `driver` holds `Engine`, the loop that joins them to a clock and the
reporters (`reporter`).
"""

from runner.engine.carry import Resume
from runner.engine.driver import Engine
from runner.engine.preflight import JobsNotFound, ScheduledByFusion, Unreachable

__all__ = ["Engine", "JobsNotFound", "Resume", "ScheduledByFusion", "Unreachable"]
