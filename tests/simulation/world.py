"""What Fusion holds, and what it shows: the simulated Fusion behind fusion-run's real client.

`Truth` keeps every run of every job as it really is: when it started, how long it takes, how it
ends, who started it (fusion-run's start request number, or someone else before the plan), and
when it was cancelled. `SimulatedFusion` answers fusion-run's requests from it, through the same
bytes and the same decoding as over HTTP, each channel on its own terms (`Behaviour`).

The adversary stays within what the public evidence allows (references are to
`../shared/reference/fusion-api.md`); where it goes beyond, it is to prove that an answer
fusion-run cannot read is a fault of Fusion's, never a crash, and never a verdict:

Each behaviour, its bound, and its source:

- a channel shows Fusion as it was up to LAG seconds ago, at another age at each read (lagging,
  stale, even going back): LAG = 20 s. 5.12.0 made job status asynchronous through Kafka; a
  public check notes counters about 10 s after a start (§9.1, §9.3).
- the job view shows the start time of one moment with the status and counters of another,
  within LAG: 4.2.0's known issue, "incorrect information about their current status or the
  time at which they last ran" (§9.1).
- the history lists a run only once it ended; has no `runId`; lists an aborted run twice; gives
  identical start and end times: 4.2.1 and 5.9.11 known issues, the 4.2/5.9 reference example
  (§8.1, §9.1).
- `/all` and the history in any order: undocumented (§8); `/all` takes a `limit`, as the history
  does, or ignores it (undocumented), and so may the history: a long-lived job's lists then run
  past the newest runs fusion-run keeps (`runner.engine.context.RECORDED_RUNS`).
- times off by 12 hours: 5.9.11 (§8.4), for times after noon UTC only, so that they go back
  at noon. `duration` in milliseconds or seconds: undocumented (§7.11).
- a start's answer names `jobId` and another `result.jobRunId`, later statuses the latter: the
  parallel-bulk-loader sample (§8.5).
- a start while a run is active answers 409, the active run, `accepted: false`, or starts a
  second run: undocumented (§8, §9.2).
- a start's answer shows the latest run as a status read would (an earlier run right after a
  start), is not JSON, is lost after the run began, or is a 5xx before or after it began: §6
  ("jobId lag right after start"), gateways. A 429 or 503 means the request was not handled.
- 404 for the status of a Spark job that never ran: undocumented (§7.1).
- a run's counters while it goes (a Spark status's `result`, a job view's and a history
  record's `extra`) grow by RATE a second, but stand still for a span of some runs (`Script.still`),
  and freeze when it is cancelled; a lagging channel shows them as they were when it shows the
  run; at its end they are the script's final counts (`runner.fusion.work` reads them). A Jobs
  API run's `extra` carries its start time in epoch milliseconds, as the 4.2 samples do.
- counters nested (`extra.counters.{name}.count`, counts as strings) or under `extra.extra`:
  5.x connectors (§8.6, §9.3).
- 429, 500, 502, 503, 504 (with Retry-After), dropped connections, requests that hang: §5.
- beyond the evidence: a status that is null, a number or a string; NaN, infinite or absurd
  times; nesting 900 deep; answers that trickle or never end; two runs with one id. fusion-run
  must take each as a fault of Fusion's: never a crash, never a verdict on another run.

Runs by someone else exist only before the plan: ended more than LAG ago, or going since more
than LAG. A run another client starts while the plan runs, unseen by every channel, is the race
no client can close (docs/compatibility.md).
"""

from __future__ import annotations

import json
import random
import re
import string
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from html import escape
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from runner.fusion import routes
from runner.fusion.routes import Op
from runner.fusion.transport import MAX_ANSWER, Answer, Failure, TransportError
from tests.helpers.fakes import EPOCH, FakeClock

LAG = 20.0  # seconds: the most any channel shows Fusion late
CANCELLING = 1.0  # seconds a cancelled run shows `cancelling`
RATE = 10  # counts a second a going run's counters grow by, while they move
SPARK_END = {"success": "finished", "failed": "error", "aborted": "cancelled"}
JOBS_STATUS = {
    "starting": "running", "running": "running", "finishing": "running", "cancelling": "running",
    "finished": "success", "skipped": "success", "error": "failed", "cancelled": "aborted",
}  # fmt: skip
# Answers that cannot be read: none is a valid answer of the endpoint it is given for (a list
# endpoint answering `[]` would be a Fusion that lies, beyond any lag the evidence allows).
ODD_ANSWERS = [b"null", b"42", b'"running"', b"{" * 900, b"[" * 900 + b"]" * 900, b"{}x"]


@dataclass(frozen=True, kw_only=True)
class Behaviour:
    """Which Fusion this is: every switch drawn on its own, for each seed."""

    shape: str = "5.x"  # "4.2": flat counters; "5.x": nested counters
    # channel (status, all, view, view_status, history) -> most seconds late; each read draws
    # its own lag up to it, or, `steady`, lags by exactly it
    lag: Mapping[str, float] = field(default_factory=dict)
    steady: bool = False
    hidden_for: float = 0.0  # a new run shows in no channel until this long after it began
    view_mixes: bool = False  # a view's start time and its status from different moments
    view_stuck: bool = False  # a view that says `running` once a run began, whatever follows
    history_ended_only: bool = False
    history_run_ids: bool = True
    history_twice: bool = False  # an aborted run listed twice
    identical_times: bool = False  # the history's end time is its start time
    order: str = "newest"  # newest | oldest | random
    clock_offset: float = 0.0  # seconds Fusion's times are off
    duration_unit: str = "ms"
    two_run_ids: bool = False
    while_active: str = "conflict"  # conflict | return_active | not_accepted | new_run
    stale_answers: float = 0.0  # chance a start's answer shows the latest run as a read would
    garbled_answers: float = 0.0  # chance a start's 2xx answer is not JSON
    start_faults: float = 0.0  # chance a start meets a fault, before or after it applies
    lost_answers: int = 0  # the first this many starts begin their run, and their answer drops
    refuse_starts: str | None = None  # every start refused: "conflict" (409) or "not_accepted"
    throttle: str | None = None  # every start answered 429 with this Retry-After, unapplied
    throttle_reads: tuple[float, str] | None = None  # from then on, reads 503 with Retry-After
    odd: tuple[bytes, ...] = ()  # the answers, in turn, to the first status reads
    hostile_text: bool = False  # odd answers of wrong types, echoes across a cut, lone surrogates
    noon_bug: bool = False  # 5.9.11: times after noon UTC shown 12 hours off (so they go back)
    list_limit: int | None = None  # /all and the history list at most this many runs
    ignores_limit: bool = False  # /all and the history list every run, whatever `limit` asks
    retention: int | None = None  # Fusion keeps only its newest this many runs
    read_faults: float = 0.0  # chance any other request meets a transient fault
    odd_answers: float = 0.0  # chance a read's answer cannot be read
    slow_answers: float = 0.0  # chance an answer hangs, trickles, or never ends
    status_404: bool = False  # a Spark job that never ran answers 404
    reused_ids: float = 0.0  # chance a new run takes an earlier run's id
    nested_extra: bool = False  # 5.12's `extra.extra`

    def brief(self) -> str:
        defaults = Behaviour()
        changed = {
            name: getattr(self, name)
            for name in self.__dataclass_fields__
            if getattr(self, name) != getattr(defaults, name)
        }
        return ", ".join(f"{name}={value!r}" for name, value in changed.items()) or "documented"


@dataclass(kw_only=True)
class Script:
    """How one run really goes."""

    duration: float
    final: str  # a Spark end state: finished | error | skipped (Jobs API: success | failed)
    counters: dict[str, int] = field(default_factory=dict)  # at its end
    error: str | None = None
    still: tuple[float, float] | None = None  # its counters stand still from (seconds after it
    # began) for (seconds)


@dataclass(kw_only=True)
class TrueRun:
    job: str  # routes.key form
    ids: tuple[str, str]  # the start answer's jobId, and the id later reads carry
    started: float
    script: Script
    by: int | None  # fusion-run's start request number; None: someone else's run
    cancelled: float | None = None

    def state(self, at: float) -> str | None:
        """The run's Spark state at time `at`; None before it began."""
        if at < self.started:
            return None
        if self.cancelled is not None and at >= self.cancelled:
            return "cancelling" if at < self.cancelled + CANCELLING else "cancelled"
        elapsed = at - self.started
        if elapsed >= self.script.duration:
            return self.script.final
        return "starting" if elapsed < min(1.0, self.script.duration / 4) else "running"

    def end(self) -> float:
        natural = self.started + self.script.duration
        if self.cancelled is not None and self.cancelled < natural:
            return self.cancelled + CANCELLING
        return natural

    def final(self) -> str:
        """How the run ends, in Spark's terms."""
        if self.cancelled is not None and self.cancelled < self.started + self.script.duration:
            return "cancelled"
        return self.script.final

    def ended(self, at: float) -> bool:
        return at >= self.end()

    def going_counters(self, at: float) -> dict[str, int]:
        """The counters the run shows while it goes, at `at`: RATE a second but while they
        stand still, frozen once cancelled or ended (a stuck view shows them after). Never
        smaller at a later `at`."""
        upto = min(at, self.started + self.script.duration)
        upto = upto if self.cancelled is None else min(upto, self.cancelled)
        elapsed = max(0.0, upto - self.started)
        if self.script.still is not None:
            begin, span = self.script.still
            elapsed -= max(0.0, min(elapsed, begin + span) - begin)
        return {name: int(elapsed * RATE) for name in self.script.counters}


@dataclass
class Exchange:
    """One request fusion-run sent, as Fusion saw it."""

    method: str
    path: str
    began: float
    bytes: int = 0  # of the body fusion-run read
    ended: float | None = None


class Truth:
    """Every run of every job, oldest first."""

    def __init__(self) -> None:
        self.runs: dict[str, list[TrueRun]] = {}
        self.starts = 0  # fusion-run's start requests that reached Fusion

    def of(self, job: str) -> list[TrueRun]:
        return self.runs.setdefault(routes.key(job), [])

    def ours(self) -> list[TrueRun]:
        return [run for runs in self.runs.values() for run in runs if run.by is not None]


class SimulatedFusion:
    """A `Transport` that answers from `truth`, as `behaviour` says, on `clock`."""

    def __init__(
        self,
        truth: Truth,
        behaviour: Behaviour,
        scripts: Mapping[str, list[Script]],
        clock: FakeClock,
        rng: random.Random,
        *,
        echo: str,
        attribute: Callable[[str, int], None],
        cancelled: Callable[[str], None] | None = None,
    ) -> None:
        self.truth = truth
        self.behaviour = behaviour
        self.scripts = scripts  # job key -> the runs fusion-run's starts begin, in order
        self.clock = clock
        self.rng = rng
        self.echo = echo  # words with a credential in them, that Fusion puts in its messages
        self.attribute = attribute  # told of each run a start of fusion-run's began
        self.cancelled = cancelled  # told of each cancel request that reaches Fusion
        self.exchanges: list[Exchange] = []
        self._odd_left = list(behaviour.odd)
        self._lost_left = behaviour.lost_answers

    # --- the transport ----------------------------------------------------------------------------

    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: bytes | None,
        connect_timeout: float,
        read_timeout: float,
        deadline: float,
    ) -> Answer:
        parts = urlsplit(url)
        exchange = Exchange(method, parts.path, self.clock.now)
        self.exchanges.append(exchange)
        call = routes.parse(method, routes.api_path(parts.path) or [])
        assert call is not None, f"fusion-run asked for an endpoint Fusion has not: {url}"
        if call.op is Op.SCHEDULE:  # no job here has a schedule of its own; no fault is drawn
            exchange.ended = self.clock.now
            return Answer(status=404, reason="Not Found", headers={}, chunks=[b"{}"])
        writes = call.op in (Op.START, Op.CANCEL, Op.ACTION)
        chance = self.behaviour.start_faults if writes else self.behaviour.read_faults
        if call.op in (Op.STATUS, Op.VIEW) and self._odd_left:
            exchange.ended = self.clock.now
            data = self._odd_left.pop(0)
            return Answer(status=200, reason="OK", headers={}, chunks=[data])
        if self.behaviour.throttle is not None and call.op is Op.START:
            exchange.ended = self.clock.now
            headers = {"retry-after": self.behaviour.throttle}
            return Answer(status=429, reason="Too Many Requests", headers=headers, chunks=[b"{}"])
        busy = self.behaviour.throttle_reads
        if busy is not None and not writes and self.clock.now >= busy[0]:
            exchange.ended = self.clock.now
            headers = {"retry-after": busy[1]}
            return Answer(status=503, reason="Service Unavailable", headers=headers, chunks=[b"{}"])
        if self.rng.random() < chance / 2:  # before the request does anything
            return self._fault(exchange, read_timeout, ["503", "429", "500", "502", "504"])
        try:
            status, payload = self._call(call, body, parts.query)
        except TransportError:
            exchange.ended = self.clock.now
            raise
        if self.rng.random() < chance / 2:  # after: it did, but the answer goes astray (a 429
            return self._fault(exchange, read_timeout, ["500", "502", "504"])  # or 503 did not)
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        if not writes and status == 200 and self.rng.random() < self.behaviour.odd_answers:
            data = data if isinstance(payload, bytes) else self._odd(payload)  # a log: any text
        return self._answer(exchange, status, data, read_timeout, deadline)

    def _fault(self, exchange: Exchange, read_timeout: float, statuses: list[str]) -> Answer:
        """A transient fault: an error status (with Retry-After, sometimes), a dropped
        connection, or no answer within the read timeout."""
        exchange.ended = self.clock.now
        kind = self.rng.choice([*statuses, "drop", "hang"])
        if kind == "drop":
            raise TransportError(Failure.DROPPED)
        if kind == "hang":
            self.clock.advance(read_timeout)
            exchange.ended = self.clock.now
            raise TransportError(Failure.READ_TIMEOUT)
        status = int(kind)
        headers = {}
        if status in (429, 503) and self.rng.random() < 0.7:
            headers["retry-after"] = str(self.rng.choice([0, 1, 2, 5, 30]))
        message = f"{HTTPStatus(status).phrase} while {self._echo()}"
        body = json.dumps({"httpStatusCode": status, "message": message}).encode()
        phrase = HTTPStatus(status).phrase
        return Answer(status=status, reason=phrase, headers=headers, chunks=[body])

    def _answer(
        self, exchange: Exchange, status: int, data: bytes, read_timeout: float, deadline: float
    ) -> Answer:
        """The answer, delivered as the behaviour says: at once, trickling, or without end."""
        how = "whole"
        if self.rng.random() < self.behaviour.slow_answers:
            how = self.rng.choice(["trickle", "endless", "slow"])
        if how == "slow":  # every byte late, but within the read timeout
            self.clock.advance(self.rng.uniform(0, read_timeout * 0.9))
        exchange.ended = self.clock.now
        chunks = self._chunks(exchange, data, how, read_timeout, deadline)
        return Answer(
            status=status,
            reason=HTTPStatus(status).phrase,
            headers={"content-type": "application/json"},
            chunks=chunks,
            close=chunks.close,  # the exchange ends when the client closes it, not at a GC
        )

    def _chunks(
        self, exchange: Exchange, data: bytes, how: str, read_timeout: float, deadline: float
    ) -> Generator[bytes]:
        try:
            if how == "trickle":  # a byte at a time, each well within the read timeout
                pause = min(read_timeout * 0.9, deadline / 4)
                for index in range(len(data)):
                    if self.clock.now + pause > exchange.began + deadline:
                        # as HttpTransport's watchdog does: the exchange ends at its deadline
                        self.clock.advance(exchange.began + deadline - self.clock.now)
                        raise TransportError(Failure.LATE)
                    self.clock.advance(pause)
                    exchange.bytes += 1
                    yield data[index : index + 1]
                return
            if how == "endless":
                filler = b" " * (1024 * 1024)
                exchange.bytes += len(data)
                yield data
                while exchange.bytes <= 2 * MAX_ANSWER:  # a client that reads on is caught
                    exchange.bytes += len(filler)
                    yield filler
                return
            exchange.bytes += len(data)
            yield data
        finally:
            exchange.ended = self.clock.now

    def _echo(self) -> str:
        """The echo as gateways and libraries spell it (hostile text only): HTML-escaped as
        Jetty or Go write `'`, escaped as Gson writes `<>&='`, reflowed with other white space.
        The style is drawn from a stream of its own: every other draw stays as it was."""
        if not self.behaviour.hostile_text:
            return self.echo
        rng = random.Random(f"{self.echo} {len(self.exchanges)}")
        style = rng.choice(["as is", "jetty", "go", "gson", "reflowed"])
        if style in ("jetty", "go"):
            apostrophe = "&apos;" if style == "jetty" else "&#39;"
            return escape(self.echo, quote=False).replace("'", apostrophe)
        if style == "gson":
            return re.sub("[<>&=']", lambda m: f"\\u{ord(m[0]):04x}", self.echo)
        if style == "reflowed":
            return self.echo.replace(" ", rng.choice(["\t", "  ", "\u00a0"]))
        return self.echo

    def _odd(self, payload: Any) -> bytes:
        if self.behaviour.hostile_text and self.rng.random() < 0.5:
            return self.rng.choice(
                [
                    b'{"state": 5, "jobId": 7}',  # the wrong types where strings belong
                    b'{"state": {"a": 1}, "jobId": {"x": 1}, "status": []}',
                    b'{"state": "finished", "jobId": "stray", "startTime": "2026-02-30T10:00:00Z"}',
                    # an echo of the password across the first 200 characters quoted
                    b"<html>"
                    + b"x" * self.rng.randint(150, 200)
                    + self._echo().encode()
                    + b"</html>",
                ]
            )
        kind = self.rng.randrange(len(ODD_ANSWERS) + 3)
        if kind < len(ODD_ANSWERS):
            return ODD_ANSWERS[kind]
        text = json.dumps(payload)
        for name in ('"startTime": ', '"lastStartTime": ', '"endTime": '):
            if name in text:
                odd = ["NaN", "Infinity", "1e308", '"99999-12-31T00:00:00Z"', "-1e20"][kind % 5]
                head, _, rest = text.partition(name)
                value_end = min(
                    (rest.find(sep) for sep in (",", "}") if rest.find(sep) >= 0), default=0
                )
                return (head + name + odd + rest[value_end:]).encode()
        return b"OK"

    # --- Fusion's endpoints -----------------------------------------------------------------------

    def _call(self, call: routes.Call, body: bytes | None, query: str) -> tuple[int, Any]:
        job, now = call.job, self.clock.now
        if call.op is Op.START:
            return self._start(job, via_jobs_api=False)
        if call.op is Op.ACTION:
            action = json.loads(body or b"{}").get("action", "").lower()
            if action == "start":
                return self._start(job, via_jobs_api=True)
            self._cancel(job)
            return 200, {"resource": call.resource, "action": action, "accepted": True}
        if call.op is Op.CANCEL:
            self._cancel(job)
            return 200, b""
        if call.op is Op.CONFIGURATION:
            return 200, {"id": job, "type": "spark"}
        if call.op is Op.STATUS:
            shown = self._seen("status", job)
            if not shown:
                if self.behaviour.status_404:
                    return 404, {"message": f"Job {job} has no run"}
                return 200, {"state": "idle", "jobConfig": {"id": job}}
            return 200, self._spark(shown[-1], now - self._lag("status"))
        if call.op is Op.ALL:
            at = now - self._lag("all")
            listed = self._ordered(self._kept(self._seen_at(job, at)))
            return 200, [self._spark(run, at) for run in listed[: self._limit(query)]]
        if call.op is Op.VIEW:
            return 200, self._view(job)
        if call.op is Op.DRIVER_LOG:  # any id: a log whose exception quotes a credential
            return 200, f"INFO SparkContext: started\nERROR failed while {self._echo()}\n".encode()
        assert call.op is Op.HISTORY
        return 200, self._history(job)[: self._limit(query)]

    def _limit(self, query: str) -> int | None:
        """How many runs a list shows: what `limit` asks, unless this Fusion ignores it, and at
        most `list_limit`."""
        asked = dict(parse_qsl(query)).get("limit")
        limits = [self.behaviour.list_limit]
        if asked is not None and not self.behaviour.ignores_limit:
            limits.append(int(asked))
        return min((each for each in limits if each is not None), default=None)

    def _start(self, job: str, *, via_jobs_api: bool) -> tuple[int, Any]:
        runs, now = self.truth.of(job), self.clock.now
        active = next((run for run in reversed(runs) if not run.ended(now)), None)
        resource = job if ":" in job else f"spark:{job}"
        if self.behaviour.refuse_starts == "conflict":
            return 409, {"message": f"Job {job} is already running"}
        if self.behaviour.refuse_starts == "not_accepted":
            return 200, {"resource": resource, "action": "start", "accepted": False}
        if active is not None and self.behaviour.while_active != "new_run":
            policy = self.behaviour.while_active
            if policy == "conflict":
                return 409, {"message": f"Job {job} is already running ({active.ids[1]})"}
            if policy == "not_accepted" or via_jobs_api:
                return 200, {
                    "resource": resource,
                    "action": "start",
                    "accepted": False,
                    "message": f"Job {resource} is already running",
                }
            return 200, self._spark(active, now)  # return_active
        run = self._begin(job)
        if self._lost_left:
            self._lost_left -= 1
            raise TransportError(Failure.DROPPED)
        if self.rng.random() < self.behaviour.garbled_answers:
            return 200, self.rng.choice([b"", b"OK", b"<html>Started</html>"])
        if via_jobs_api:
            return 200, {
                "resource": resource,
                "action": "start",
                "accepted": True,
                "message": f"Started job {resource}",
            }
        if self.rng.random() < self.behaviour.stale_answers:
            shown = self._seen("status", job)
            if shown:
                return 200, self._spark(shown[-1], now - self._lag("status"))
        record = self._spark(run, now)
        record["jobId"] = run.ids[0]  # the start's own answer: its first id
        return 200, record

    def _begin(self, job: str) -> TrueRun:
        runs = self.truth.of(job)
        planned = self.scripts.get(routes.key(job), [])
        ours = sum(1 for run in runs if run.by is not None)
        script = (
            planned[min(ours, len(planned) - 1)]
            if planned
            else Script(duration=2, final="finished")
        )
        if self.behaviour.hostile_text and script.final == "error":  # cut inside an emoji, and
            script = replace(script, error=f"\ud83d failed: {self.echo}")  # quoting a request
        first = self._id()
        ids = (first, self._id() if self.behaviour.two_run_ids else first)
        if self.behaviour.reused_ids and runs and self.rng.random() < self.behaviour.reused_ids:
            taken = self.rng.choice(runs).ids[1]
            ids = (taken, taken)
        self.truth.starts += 1
        run = TrueRun(
            job=routes.key(job),
            ids=ids,
            started=self.clock.now,
            script=script,
            by=self.truth.starts,
        )
        runs.append(run)
        self.attribute(run.job, run.by or 0)
        return run

    def _cancel(self, job: str) -> None:
        now = self.clock.now
        if self.cancelled is not None:
            self.cancelled(routes.key(job))
        for run in self.truth.of(job):
            if not run.ended(now) and run.cancelled is None:
                run.cancelled = now

    # --- what each channel shows ------------------------------------------------------------------

    def _lag(self, channel: str) -> float:
        most = self.behaviour.lag.get(channel, 0.0)
        if self.behaviour.steady or not most:
            return most
        return self.rng.uniform(0, most)

    def _seen_at(self, job: str, at: float) -> list[TrueRun]:
        hidden = self.behaviour.hidden_for  # shown nowhere until then, and then as it is by now
        return [
            run
            for run in self.truth.of(job)
            if run.started <= at and run.started + hidden <= self.clock.now
        ]

    def _seen(self, channel: str, job: str) -> list[TrueRun]:
        return self._seen_at(job, self.clock.now - self._lag(channel))

    def _ordered(self, runs: list[TrueRun]) -> list[TrueRun]:
        if self.behaviour.order == "oldest":
            return list(runs)
        if self.behaviour.order == "random":
            shuffled = list(runs)
            self.rng.shuffle(shuffled)
            return shuffled
        return list(reversed(runs))

    def _time(self, at: float) -> str:
        wall = datetime.fromtimestamp(EPOCH + at + self.behaviour.clock_offset, tz=UTC)
        if self.behaviour.noon_bug and wall.hour >= 12:
            wall -= timedelta(hours=12)
        return wall.strftime("%Y-%m-%dT%H:%M:%S.") + f"{wall.microsecond // 1000:03d}Z"

    def _spark(self, run: TrueRun, at: float) -> dict[str, Any]:
        """A SparkJobStatus of `run` as it was at `at`."""
        state = run.state(at) or "starting"
        result: dict[str, Any] = {"jobConfigId": run.job, "jobRunId": run.ids[1]}
        record: dict[str, Any] = {
            "state": state,
            "jobId": run.ids[1],
            "jobConfig": {"id": run.job, "type": "spark"},
            "hostname": "10.0.0.1",
            "result": result,
        }
        if state in ("starting", "running", "cancelling"):
            result.update(run.going_counters(at))
        if state in ("finished", "skipped", "error", "cancelled"):
            end = run.end()
            if state in ("finished", "skipped"):
                result.update(run.script.counters)
            if state == "error":
                message = run.script.error or "The job run failed"
                result["exception"] = {"message": message, "error": "Internal Server Error"}
            seconds = end - run.started
            record["startTime"] = self._time(run.started)
            record["endTime"] = self._time(end)
            record["duration"] = round(
                seconds if self.behaviour.duration_unit == "s" else seconds * 1000
            )
        return record

    def _jobs_state(self, run: TrueRun, at: float) -> str:
        state = run.state(at) or "starting"
        return JOBS_STATUS.get(state, state)

    def _extra(self, run: TrueRun, going_at: float | None = None) -> dict[str, Any]:
        """The run's `extra`: its final counters, or those it shows going at `going_at`."""
        counters = run.script.counters if going_at is None else run.going_counters(going_at)
        if self.behaviour.shape == "4.2":
            extra: dict[str, Any] = dict(counters)
        else:
            extra = {
                "counters": {name: {"count": value} for name, value in counters.items()},
                "timers": {"fetch.item.add.time": {"count": str(counters.get("pipeline.out", 0))}},
            }
        # its start time, in epoch milliseconds, as the 4.2 samples carry it (what tells a view's
        # counters as this run's)
        extra["startTime"] = round((EPOCH + run.started + self.behaviour.clock_offset) * 1000)
        return {"extra": extra} if self.behaviour.nested_extra else extra

    def _history(self, job: str) -> list[dict[str, Any]]:
        at = self.clock.now - self._lag("history")
        records = []
        for run in self._ordered(self._kept(self._seen_at(job, at))):
            status = self._jobs_state(run, at)
            ended = status in ("success", "failed", "aborted")
            if self.behaviour.history_ended_only and not ended:
                continue
            record: dict[str, Any] = {"resource": job}
            if self.behaviour.history_run_ids:
                record["runId"] = run.ids[1]
            record["startTime"] = self._time(run.started)
            if ended:
                record["endTime"] = self._time(
                    run.started if self.behaviour.identical_times else run.end()
                )
            record["status"] = status
            if status == "failed":
                record["error"] = run.script.error or "The job run failed"
            if self.behaviour.history_run_ids and status in ("success", "failed"):
                record["extra"] = self._extra(run)
            elif self.behaviour.history_run_ids and status == "running":
                record["extra"] = self._extra(run, going_at=at)
            records.append(record)
            if status == "aborted" and self.behaviour.history_twice:
                records.append(dict(record))
        return records

    def _kept(self, runs: list[TrueRun]) -> list[TrueRun]:
        """The runs Fusion still keeps: its newest `retention`."""
        return runs[-self.behaviour.retention :] if self.behaviour.retention else runs

    def _view(self, job: str) -> dict[str, Any]:
        """A job's view: its latest run's start time, status and counters; with view_mixes, the
        start time of one moment and the status and counters of another."""
        view: dict[str, Any] = {"resource": job, "enabled": True}
        times_at = self.clock.now - self._lag("view")
        status_at = times_at
        if self.behaviour.view_mixes:
            status_at = self.clock.now - self._lag(
                "view_status" if "view_status" in self.behaviour.lag else "view"
            )
        by_time, by_status = self._seen_at(job, times_at), self._seen_at(job, status_at)
        if not by_status:
            view["status"] = "ready"
        else:
            run = by_status[-1]
            view["status"] = self._jobs_state(run, status_at)
            if self.behaviour.view_stuck:
                view["status"] = "running"
            ended = view["status"] in ("success", "failed")
            view["extra"] = self._extra(run) if ended else {}
            if view["status"] == "running":
                view["extra"] = self._extra(run, going_at=status_at)
        if by_time:
            view["lastStartTime"] = self._time(by_time[-1].started)
            done = [run for run in by_time if run.ended(times_at)]
            if done:
                view["lastEndTime"] = self._time(done[-1].end())
        return view

    def _id(self) -> str:
        return "".join(self.rng.choices(string.ascii_lowercase + string.digits, k=10))
