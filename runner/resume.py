"""`--resume REPORT`: what an earlier run hands on to this one.

Steps that succeeded are kept and not started again. Steps whose run was still active are picked
up: their run is looked up in Fusion and followed, or judged if it ended meanwhile. Everything
else runs again. A plan that changed since the report (its sha256 differs) is refused unless
forced, with what changed spelled out.
"""

from __future__ import annotations

from typing import Any

from runner.engine import Attempt, Resume
from runner.errors import UsageError
from runner.judge import Criterion
from runner.plan import Plan
from runner.report import read_report
from runner.status import parse_time


def load_resume(path: str, plan: Plan, *, force: bool) -> Resume:
    report = read_report(path, "--resume")
    if report["plan"]["sha256"] != plan.sha256:
        changes = plan_changes(report, plan)
        if not force:
            raise UsageError(
                f"--resume {path}: the plan changed since that report was written "
                f"({'; '.join(changes)}); resume with --force to use the plan as it is now"
            )
    steps = {step.name: step for step in plan.steps}
    succeeded: dict[str, list[Attempt]] = {}
    active: dict[str, str] = {}
    for entry in report["steps"]:
        step = steps.get(entry["name"])
        if step is None or step.job != entry["job"]:
            continue
        if entry["outcome"] == "succeeded":
            succeeded[step.name] = [_attempt(a) for a in entry["attempts"]]
        elif entry["outcome"] == "running" and entry["run_id"]:
            active[step.name] = entry["run_id"]
    return Resume(path=path, outcome=report["outcome"], succeeded=succeeded, active_runs=active)


def plan_changes(report: dict[str, Any], plan: Plan) -> list[str]:
    """What differs between the steps a report recorded and the plan's steps now."""
    before = {entry["name"]: entry for entry in report["steps"]}
    now = {step.name: step for step in plan.steps}
    changes = [f"step {name!r} added" for name in now if name not in before]
    changes += [f"step {name!r} removed" for name in before if name not in now]
    for name, step in now.items():
        old = before.get(name)
        if old is None:
            continue
        if old["job"] != step.job:
            changes.append(f"step {name!r} runs job {step.job!r}, not {old['job']!r}")
        if old["depends_on"] != list(step.depends_on):
            changes.append(
                f"step {name!r} waits for {list(step.depends_on)}, not {old['depends_on']}"
            )
    return changes or ["the steps are the same; other settings differ"]


def _attempt(entry: dict[str, Any]) -> Attempt:
    return Attempt(
        number=entry["number"],
        run_id=entry["run_id"],
        adopted=entry["adopted"],
        state=entry["state"],
        started_at=parse_time(entry["started_at"]),
        ended_at=parse_time(entry["ended_at"]),
        duration=entry["duration"],
        error=entry["error"],
        status_reads=entry["status_reads"],
        criteria=[Criterion(**criterion) for criterion in entry["criteria"]],
    )
