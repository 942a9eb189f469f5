"""How much work a run did, by Fusion's own counts: the documents a datasource run indexed, or a
Spark run wrote. Fusion's "success" alone does not say: a crawl can end `success` having indexed
nothing, and a SQL aggregation ends `skipped` when its signals are empty.

- A datasource run: `counter.output` counts failed + deleted + indexed documents, so the indexed
  ones are `counter.output - counter.failed - counter.deleted`; a version that reports no
  `counter.output` is read by `counter.input`; 5.x connectors nest their counts
  (`counters.content-indexer.result.success.counter`, else `...completed.count`).
- A Spark run: `docsWritten` in its `result`; a run that ended `skipped` wrote none.
- A task, or a run whose counts Fusion does not report: unknown (None).
"""

from __future__ import annotations

from dataclasses import dataclass

from runner.fusion.status import RunStatus, number
from runner.jobs import job_kind

# 5.x connectors' counts of documents indexed, in order of preference (connectors' job state)
INDEXED_COUNTERS = ("content-indexer.result.success.counter", "content-indexer.completed.count")


@dataclass(frozen=True, slots=True)
class Work:
    documents: int | float
    counted: str  # what was counted, in Fusion's names: "docsWritten", "state skipped"...


def work(status: RunStatus) -> Work | None:
    """The documents `status`'s run indexed or wrote, and how they were counted; None if unknown."""
    kind = job_kind(status.job)[0]
    reported = status.reported or {}
    if kind == "spark":
        if status.state == "skipped":
            return Work(0, "state skipped")
        written = number(reported.get("docsWritten"))
        return None if written is None else Work(written, "docsWritten")
    if kind != "datasource":
        return None
    output = number(reported.get("counter.output"))
    if output is not None:
        less = {name: number(reported.get(name)) for name in ("counter.failed", "counter.deleted")}
        indexed = output - sum(value for value in less.values() if value is not None)
        counted = ["counter.output", *(name for name, value in less.items() if value is not None)]
        return Work(max(indexed, 0), " - ".join(counted))
    read = number(reported.get("counter.input"))
    if read is not None:
        return Work(read, "counter.input")
    nested = reported.get("counters")
    for name in INDEXED_COUNTERS:
        counter = nested.get(name) if isinstance(nested, dict) else None
        count = number(counter.get("count") if isinstance(counter, dict) else None)
        if count is not None:
            return Work(count, f"counters.{name}")
    return None
