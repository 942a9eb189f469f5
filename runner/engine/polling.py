"""When to read a followed run's status next: `poll_interval` as the plan says it.

With a duration, that is the gap between two reads, after a first read no later than `FLOOR`
(a run that fails at once, a wrong configuration, is seen so). With `auto`, reads are spent
where the run's end is likely: the first at `FLOOR`, then each wait as long as the run's age (it
has at least doubled at the next read), at most `AUTO_POLL_CEILING`; and sooner when the end is
in sight: just after the last good run's duration (and from then on as after a start, a run late
on last time's being likely to end soon); `FINISHING_WAIT` after a read shows the Spark state
`finishing`, and `FLOOR` after one shows, past the last good run's time, counters that reach
the documents it indexed or wrote (thinning out as `IN_SIGHT_SHARE` says if it lasts). So
a run of two minutes or more costs about as many reads as reading it every ten seconds, while a
run that takes as long as last night is seen ending at once. The plan's deadlines (timeout,
warn_after, stall_after) add their own reads (`runner.engine.following`).

`FLOOR` comes from how long Fusion's jobs take, not from the emulator's: a Spark job runs in a
driver Fusion starts for it (on Kubernetes, a pod of its own), tens of seconds before any work
begins, and a crawl or an aggregation worth a plan takes minutes; so a read in a run's first
seconds almost never sees an end, and each one spent there is a request for Fusion's gateway,
the one its search UI uses.
"""

from __future__ import annotations

from runner.engine.context import EXPECTED_SLACK
from runner.engine.phases import Following
from runner.fusion.status import RunStatus
from runner.fusion.work import work
from runner.plan import Step

FLOOR = 2.0  # seconds: the first read of a run, and auto's shortest wait before an end is in sight
FINISHING_WAIT = 0.5  # seconds: auto's wait after a read shows the end in sight (`finishing`)
FINISHING = "finishing"
# ... and then each wait this share of the time since the end came in sight (doubling): a run that
# goes on costs a few reads more, not one every FINISHING_WAIT
IN_SIGHT_SHARE = 1.0


def next_wait(step: Step, data: Following, now: float) -> float:
    """Seconds from `now` to the next status read of the run `data` follows."""
    if not step.poll_auto:
        return float(min(step.poll_interval, FLOOR) if data.reads == 0 else step.poll_interval)
    since, ends = data.started, None
    if data.expected is not None:  # the last good run took this long: read just after it, and
        ends = data.started + data.expected + EXPECTED_SLACK  # from then on as after a start:
        since = ends if now >= ends else since  # a run late on last time's likely ends soon
    wait = min(float(step.poll_interval), max(FLOOR, now - since))
    if ends is not None and now < ends:
        wait = min(wait, ends - now)
    if data.end_in_sight_since is not None:  # the end is in sight: reads thin out if it drags
        since = now - data.end_in_sight_since
        wait = min(wait, max(data.end_in_sight_wait, IN_SIGHT_SHARE * since))
    return wait


def shown(data: Following, status: RunStatus, now: float) -> None:
    """A read showed our run: when it was first shown with its end in sight, if it is, and the
    shortest wait that calls for (`finishing` says the end is a moment away; counters, less)."""
    if not _end_in_sight(data, status, now):
        data.end_in_sight_since = None
    elif data.end_in_sight_since is None:
        data.end_in_sight_since = now
        data.end_in_sight_wait = FINISHING_WAIT if status.state == FINISHING else FLOOR


def _end_in_sight(data: Following, status: RunStatus, now: float) -> bool:
    """The run shows the Spark state `finishing`; or, past the time the job's last good run
    took, it has done as much work as that run did in all (its documents, by Fusion's counts:
    `runner.fusion.work`). Earlier, counters past last night's say only that tonight has more
    to do."""
    if status.state == FINISHING:
        return True
    previous = data.before.previous
    if previous is None or data.expected is None or now < data.started + data.expected:
        return False
    last = work(previous)
    done = work(status) if status.active else None
    return bool(last and last.documents > 0 and done and done.documents >= last.documents)
