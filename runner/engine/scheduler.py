"""Which steps may start, as a pure state machine: no HTTP, no threads, no clock.

The driver reports what happens (`started`, `finished`); the scheduler answers with the steps that
are ready, in plan order and within `max_parallel`, and skips every step whose `run_if` can no
longer hold, in one cascade. Its work per event is proportional to the edges it touches, never
to the size of the plan.

`run_if` follows Databricks Jobs. Each finished upstream counts as succeeded, failed (failed, timed
out, cancelled, or skipped because its own upstream failed), allowed (failed so, with
`allow_failure`: a success for a dependent's run_if, as GitLab's `allow_failure` and GitHub's
`continue-on-error` have it, unless the dependent says `allowed_failures: fail`) or excluded
(skipped because its failure-handling `run_if` did not hold; counts as success, but not as having
run). For the plan

    a (fails) -> b (all_success) -> c (all_done)
              -> d (at_least_one_failed)

`finished("a", FAILED)` skips b ("upstream 'a' failed") and makes c and d ready: c runs whatever
its upstreams did, d runs because a failed. Had a succeeded, d would be excluded and b would run.
"""

from __future__ import annotations

import enum
import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from runner.outcomes import Outcome
from runner.plan import AllowedFailures, RunIf, Step
from runner.reasons import (
    EXCLUSIONS,
    EveryUpstreamExcluded,
    NoUpstreamFailed,
    NoUpstreamSucceeded,
    SkipReason,
    UpstreamDidNotFail,
    UpstreamFailed,
)


class _Class(enum.Enum):
    SUCCESS = "success"
    FAILURE = "failure"
    EXCLUDED = "excluded"
    ALLOWED = "allowed"  # failed, and allowed to: a pass unless the dependent says otherwise


@dataclass(frozen=True, slots=True)
class Skip:
    name: str
    reason: SkipReason

    @property
    def excluded(self) -> bool:
        """Skipped because a failure it handles did not happen: counts as success."""
        return isinstance(self.reason, EXCLUSIONS)


class Scheduler:
    def __init__(self, steps: Sequence[Step], *, max_parallel: int, fail_fast: bool = False):
        self.steps = {step.name: step for step in steps}
        self.order = {step.name: index for index, step in enumerate(steps)}
        self.max_parallel = max_parallel
        self.fail_fast = fail_fast
        self.dependents: dict[str, list[str]] = {name: [] for name in self.steps}
        self.waiting = {step.name: len(step.depends_on) for step in steps}
        for step in steps:
            for upstream in step.depends_on:
                self.dependents[upstream].append(step.name)
        self.outcomes: dict[str, Outcome | None] = {}  # None: ended with its run left going
        self.classes: dict[str, _Class] = {}
        self.running: set[str] = set()
        self.early: set[str] = set()  # running before their upstream settled (`begin_early`)
        self.stopped = False
        self._ready = [(self.order[s.name], s.name) for s in steps if not s.depends_on]
        heapq.heapify(self._ready)

    @property
    def done(self) -> bool:
        return len(self.outcomes) == len(self.steps)

    def ready(self) -> list[str]:
        """Steps to start now, in plan order, at most enough to fill `max_parallel`."""
        if self.stopped:
            return []
        chosen: list[str] = []
        while self._ready and len(self.running) + len(chosen) < self.max_parallel:
            name = heapq.heappop(self._ready)[1]
            if name not in self.outcomes and name not in self.running:  # carried, or begun early
                chosen.append(name)
        self.running.update(chosen)
        return chosen

    def begin_early(self, names: Iterable[str]) -> None:
        """`names` run now, whatever their upstream: an earlier fusion-run left a run of each
        going, or maybe going (--resume). While they run, their upstream's end does not judge
        them: their run, already begun, decides."""
        fresh = [name for name in names if name not in self.outcomes]
        self.early.update(fresh)
        self.running.update(fresh)

    def rejoin(self, name: str) -> tuple[bool, list[Skip]]:
        """An early step has no run going after all: from now on it waits for its upstream as
        any step does. Whether it may start now; and if run_if rules it out now, the skips (the
        step's own first, then the cascade). A step that was not early may start now."""
        if name not in self.early:
            return True, []
        self.early.discard(name)
        if self.waiting[name]:
            self.running.discard(name)
            return False, []
        skip = self._judge(self.steps[name]) if self.steps[name].depends_on else None
        if skip is None:
            return True, []
        self.running.discard(name)
        self._record(name, Outcome.SKIPPED, self._skipped_class(skip))
        return False, [skip, *self._release(name)]

    def finished(self, name: str, outcome: Outcome | None) -> list[Skip]:
        """Record how `name` ended (None: its run was left going, which counts as a failure);
        return the steps this skips, each with its reason."""
        self.running.discard(name)
        self.early.discard(name)
        self._record(
            name,
            outcome,
            _Class.SUCCESS if outcome is Outcome.SUCCEEDED else self._failure(name, outcome),
        )
        if (
            outcome is not Outcome.SUCCEEDED
            and self.fail_fast
            and not self.steps[name].allow_failure
        ):
            self.stopped = True
        return self._release(name)

    def settle(
        self,
        carried: Iterable[str],
        left_out: Iterable[str] = (),
        failed: Mapping[str, Outcome | None] | None = None,
    ) -> list[Skip]:
        """Steps that will not start: `carried` succeeded in an earlier run that this one
        resumes, `left_out` were not selected (as dbt runs what is selected, as if what it needs
        were there): the steps downstream count both as succeeded. `failed` were not selected
        either, but failed in the earlier run (with the outcome given): they count as failed.
        All are recorded before any is released, so that no step is judged while one of its
        upstreams is still unsettled."""
        carried, left_out, failed = list(carried), list(left_out), dict(failed or {})
        for name in carried:
            self._record(name, Outcome.SUCCEEDED, _Class.SUCCESS)
        for name in left_out:
            self._record(name, Outcome.NOT_RUN, _Class.SUCCESS)
        for name, outcome in failed.items():
            self._record(name, outcome, self._failure(name, outcome))
        return [skip for name in [*carried, *left_out, *failed] for skip in self._release(name)]

    def stop(self) -> list[str]:
        """Start nothing more; return the steps that never started (the caller says why)."""
        self.stopped = True
        pending = [
            name for name in self.steps if name not in self.outcomes and name not in self.running
        ]
        return sorted(pending, key=self.order.__getitem__)

    def skip(self, name: str, outcome: Outcome = Outcome.NOT_RUN) -> None:
        """Close a step that will never start (after `stop`), without cascading."""
        self._record(name, outcome, _Class.FAILURE)

    def _record(self, name: str, outcome: Outcome | None, cls: _Class) -> None:
        if name in self.outcomes:
            raise ValueError(f"step {name!r} already ended ({self.outcomes[name]})")
        self.outcomes[name] = outcome
        self.classes[name] = cls

    def _release(self, name: str) -> list[Skip]:
        skips: list[Skip] = []
        queue = [name]
        while queue:
            for dependent in self.dependents[queue.pop()]:
                self.waiting[dependent] -= 1
                if self.waiting[dependent] or dependent in self.outcomes:
                    continue
                if dependent in self.early:  # its run decides; judged if it rejoins
                    continue
                skip = self._judge(self.steps[dependent])
                if skip is None:
                    heapq.heappush(self._ready, (self.order[dependent], dependent))
                    continue
                self._record(dependent, Outcome.SKIPPED, self._skipped_class(skip))
                skips.append(skip)
                queue.append(dependent)
        return skips

    def _failure(self, name: str, outcome: Outcome | None) -> _Class:
        """The class of `name` ended other than succeeded: allowed when its step may fail, unless
        its run was left going (None), which nobody knows the end of."""
        allowed = self.steps[name].allow_failure and outcome is not None
        return _Class.ALLOWED if allowed else _Class.FAILURE

    def _skipped_class(self, skip: Skip) -> _Class:
        return _Class.EXCLUDED if skip.excluded else self._failure(skip.name, Outcome.SKIPPED)

    def failed(self, name: str) -> bool:
        """`name` has ended other than succeeded or excluded (allowed to or not)."""
        return self.classes.get(name) in (_Class.FAILURE, _Class.ALLOWED)

    def _judge(self, step: Step) -> Skip | None:
        """None when `step` runs; else why it is skipped. Every upstream has ended. An allowed
        failure counts as a success, or with `allowed_failures: fail` as a failure."""
        classes = [self.classes[upstream] for upstream in step.depends_on]
        strict = step.allowed_failures is AllowedFailures.FAIL
        failing = (_Class.FAILURE, _Class.ALLOWED) if strict else (_Class.FAILURE,)
        failed = [u for u in step.depends_on if self.classes[u] in failing]
        if all(cls is _Class.EXCLUDED for cls in classes):
            return Skip(step.name, EveryUpstreamExcluded())
        rule = step.run_if
        if rule is RunIf.ALL_DONE:
            return None
        if rule in (RunIf.ALL_SUCCESS, RunIf.NONE_FAILED) and failed:
            return Skip(step.name, self._upstream_failed(failed))
        if rule is RunIf.AT_LEAST_ONE_SUCCESS and len(failed) == len(classes):
            return Skip(step.name, NoUpstreamSucceeded())
        if rule is RunIf.AT_LEAST_ONE_FAILED and not failed:
            return Skip(step.name, NoUpstreamFailed())
        if rule is RunIf.ALL_FAILED and len(failed) < len(classes):
            fine = [u for u in step.depends_on if u not in failed]
            return Skip(step.name, UpstreamDidNotFail(upstream=fine[0]))
        return None

    def _upstream_failed(self, failed: list[str]) -> UpstreamFailed:
        first = failed[0]
        return UpstreamFailed(upstream=first, outcome=self.outcomes[first], more=len(failed) - 1)
