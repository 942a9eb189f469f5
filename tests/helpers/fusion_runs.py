"""The runs an emulated Fusion holds, as fusion-run may know them (`runner.fusion.status` keys)."""

from __future__ import annotations

from runner.clock import parse_time
from runner.emulator.model import EmulatedFusion
from runner.fusion.routes import key as key_of


def run_keys(model: EmulatedFusion, job: str) -> list[set[str]]:
    """Every key each run of `job` (oldest first) could be known by: its ids, its start time."""
    name = key_of(job)
    script = model.jobs[name].script
    found = []
    for run in model.jobs[name].runs:
        started = parse_time(model.render.time(run.started, script))
        assert started is not None
        start = "start:" + started.isoformat(timespec="milliseconds")
        found.append({f"id:{run.run_id}", f"id:{run.alt_id}", start})
    return found
