"""How the emulator's runs read in each of Fusion's APIs: a Spark job status, a Jobs API history
record, a Jobs API job view, and the answers to actions, field for field as the public samples
show them (tests compare them). The scenario's variant and quirks bend them as releases do."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from runner.emulator.scenario import JobScript, RunScript, Variant
from runner.jobs import TERMINAL

CANCEL_SECONDS = 1.0  # how long a cancelled run shows `cancelling`
HOSTNAME = "127.0.0.1"
STARTED_BY = "09765f1d-2f1c-4c3b-ba22-887e3886d8aa"  # as in the documentation's examples

# A run's state in the terms of each API: scenarios may use either API's words.
JOBS_STATUS = {
    "starting": "running", "running": "running", "finishing": "running", "cancelling": "running",
    "finished": "success", "skipped": "success", "error": "failed", "cancelled": "aborted",
}  # fmt: skip
SPARK_STATE = {"success": "finished", "failed": "error", "aborted": "cancelled"}


@dataclass
class Run:
    job: str
    run_id: str  # jobId in the start's answer
    alt_id: str  # result.jobRunId in the start's answer (the same id, unless two_run_ids)
    started: float  # model clock
    script: RunScript
    cancelled: float | None = None
    history_reads: int = 0  # reads of the history since it started, for history_lag

    def state(self, now: float) -> str:
        if self.cancelled is not None:
            return "cancelling" if now < self.cancelled + CANCEL_SECONDS else "cancelled"
        elapsed, phase = now - self.started, min(1.0, self.script.duration / 4)
        if elapsed >= self.script.duration:
            return SPARK_STATE.get(self.script.state, self.script.state)
        if elapsed < phase:
            return "starting"
        return "running" if elapsed < self.script.duration - phase else "finishing"

    def end(self) -> float:
        if self.cancelled is not None:
            return self.cancelled + CANCEL_SECONDS
        return self.started + self.script.duration

    def ended(self, now: float) -> bool:
        return self.state(now) in TERMINAL

    def counted(self, now: float) -> dict[str, int]:
        """Its scripted counters as of `now` (they stop when it ends, or is cancelled)."""
        return self.script.counted(min(now, self.end()) - self.started)


@dataclass
class Render:
    """Renders runs for one model: its epoch and variant."""

    epoch: float  # the wall time at model clock 0
    variant: Variant = field(default_factory=Variant)

    def time(self, clock_time: float, script: JobScript) -> str | int:
        wall = self.epoch + clock_time + self.variant.clock_offset
        if "epoch_millis_times" in script.quirks:
            return round(wall * 1000)
        stamp = datetime.fromtimestamp(wall, tz=UTC)
        if "nanosecond_times" in script.quirks:
            return stamp.strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"
        return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"

    def spark_status(
        self, job_id: str, script: JobScript, run: Run, now: float, *, answer: bool = False
    ) -> dict[str, Any]:
        """A SparkJobStatus. `answer`: the start's own answer, whose ids may differ from later."""
        state = run.state(now)
        job_run_id = run.alt_id if self.variant.two_run_ids else run.run_id
        result: dict[str, Any] = {"jobConfigId": job_id, "jobRunId": job_run_id}
        body: dict[str, Any] = {
            "state": state.upper() if "upper_case_states" in script.quirks else state,
            "jobId": run.run_id if answer else job_run_id,
            "jobConfig": config(job_id, script),
            "hostname": HOSTNAME,
            "result": result,
        }
        result.update(run.counted(now))  # scripted counters, as they go (none by default)
        if state in TERMINAL:
            end = run.end()
            if state in ("finished", "skipped"):
                result.update(run.script.result)
            if state == "error":
                message = run.script.error or "The job run failed"
                result["exception"] = {
                    "jobRunId": job_run_id,
                    "httpStatusCode": 500,
                    "httpStatusMessage": "Internal Server Error",
                    "error": "Internal Server Error",
                    "message": message,
                    "details": message,
                }
            body["startTime"] = self.time(run.started, script)
            body["endTime"] = self.time(end, script)
            seconds = end - run.started
            body["duration"] = round(
                seconds if self.variant.duration_in_seconds else seconds * 1000
            )
        return body

    def history_record(
        self, job_id: str, script: JobScript, run: Run, now: float
    ) -> dict[str, Any]:
        """A Jobs API history record (GET /jobs/{type}:{id}/history), counters in `extra`; without
        history_run_ids, the documentation's minimal record: resource, times and status."""
        status = JOBS_STATUS.get(run.state(now), run.state(now))
        record: dict[str, Any] = {"resource": job_id}
        if self.variant.history_run_ids:
            record["runId"] = run.run_id
        record["startTime"] = self.time(run.started, script)
        if status in ("success", "failed", "aborted"):
            record["endTime"] = self.time(run.end(), script)
        record["status"] = status.upper() if "upper_case_states" in script.quirks else status
        if status == "failed":
            record["error"] = run.script.error or "The job run failed"
        if self.variant.history_run_ids:
            ended = status in ("success", "failed")
            record["extra"] = self._counters(run, script) if ended else self._live(run, now)
            record["startedBy"] = STARTED_BY
        return record

    def _counters(self, run: Run, script: JobScript) -> dict[str, Any]:
        """A Jobs API run's `extra`: its counters, and its own times in epoch milliseconds, as
        the 4.2 samples show them (what tells a view's counters as this run's)."""
        return {
            **run.counted(run.end()),
            **run.script.result,
            "startTime": round((self.epoch + run.started + self.variant.clock_offset) * 1000),
            "endTime": round((self.epoch + run.end() + self.variant.clock_offset) * 1000),
        }

    def _live(self, run: Run, now: float) -> dict[str, Any]:
        """A Jobs API run's `extra` while it goes: its scripted counters so far, with its start
        time; nothing for a run that scripts no counters (as before the counters show)."""
        counted = run.counted(now)
        if not counted:
            return {}
        started = round((self.epoch + run.started + self.variant.clock_offset) * 1000)
        return {**counted, "startTime": started}

    def job_view(
        self, job_id: str, script: JobScript, shown: list[Run], now: float
    ) -> dict[str, Any]:
        """A Jobs API job view (GET /jobs/{type}:{id}): the latest run of those shown."""
        view: dict[str, Any] = {"resource": job_id, "enabled": True, "startedBy": STARTED_BY}
        if not shown:
            return {**view, "status": "ready", "extra": {}}
        latest = shown[-1]
        status = JOBS_STATUS.get(latest.state(now), latest.state(now))
        view["status"] = status.upper() if "upper_case_states" in script.quirks else status
        done = status in ("success", "failed")
        view["extra"] = self._counters(latest, script) if done else self._live(latest, now)
        view["lastStartTime"] = self.time(latest.started, script)
        ended = [run for run in shown if run.ended(now)]
        if ended:
            view["lastEndTime"] = self.time(ended[-1].end(), script)
        return view

    def driver_log(self, job_id: str, run: Run, now: float) -> list[str]:
        """A Spark run's driver log as log4j writes it: the context starting, the job going,
        then how it ended; a failed run's ends in its exception and the first frames of its
        stack."""

        def at(offset: float) -> str:
            wall = datetime.fromtimestamp(self.epoch + run.started + offset, UTC)
            return wall.strftime("%y/%m/%d %H:%M:%S")

        lines = [
            f"{at(0)} INFO SparkContext: Running Spark version 3.4.1",
            f"{at(0)} INFO SparkContext: Submitted application: {job_id}",
            f"{at(1)} INFO DAGScheduler: Got job 0 (save at {job_id}.scala:42) with 4 partitions",
        ]
        state, took = run.state(now), run.end() - run.started
        if state == "error":
            message = run.script.error or "The job run failed"
            lines += [
                f"{at(took)} ERROR Executor: Exception in task 0.0 in stage 0.0 (TID 0)",
                f"{at(took)} ERROR {job_id}: Job run {run.run_id} failed",
                f"org.apache.spark.SparkException: Job aborted due to stage failure: {message}",
                "\tat org.apache.spark.scheduler.DAGScheduler.failJobAndIndependentStages"
                "(DAGScheduler.scala:2672)",
                "\tat org.apache.spark.scheduler.DAGScheduler.abortStage(DAGScheduler.scala:2608)",
            ]
        elif state in TERMINAL:
            lines += [
                f"{at(took)} INFO DAGScheduler: Job 0 finished: save at {job_id}.scala:42",
                f"{at(took)} INFO SparkContext: Successfully stopped SparkContext",
            ]
        return lines


def config(job_id: str, script: JobScript) -> dict[str, Any]:
    return {"type": script.type, "id": job_id, **script.config}


def action_answer(resource: str, action: str, *, accepted: bool, message: str) -> dict[str, Any]:
    """A Jobs API JobActionResponse, as the 4.2 reference shows it."""
    return {"resource": resource, "action": action, "accepted": accepted, "message": message}
