"""Fusion's endpoints for jobs, written once: the client builds its requests from these, and the
emulator and the test suite's simulated Fusion read requests back with `parse`.

Spark jobs run through the Spark Job Controller (`/spark/jobs/{id}`: start, latest run, all runs,
cancel) and have configurations (`/spark/configurations/{id}`); datasource and task jobs (and
Spark jobs started through the Jobs API, `spark:{id}`) through the Jobs API (`/jobs/{resource}`:
the job's view, its `history`, and `actions`); a failed Spark run's driver log is read from
`/spark/driver/log/{id}`. Paths are relative to the API base (`/api`,
`/api/apollo`, `/api/apps/<app>`); each job id is exactly one path segment (`job_segment`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from urllib.parse import unquote

from runner.fusion import job_segment, resource
from runner.jobs import job_kind

HISTORY_LIMIT = 100  # runs asked of a Jobs API history (newest first, as 5.x monitors read it)
# ... and of a Spark job's /all, where `limit` and the order are undocumented: a Fusion that
# ignores `limit` lists every run, which costs that read and nothing else; an answer it cut that
# is not newest first is read again whole (`runner.fusion.client.FusionClient.runs`)
ALL_LIMIT = HISTORY_LIMIT

Route = tuple[str, str]  # (method, path below the API base)


def start(job: str) -> Route:
    """A Spark job's start through the Spark Job Controller."""
    return "POST", f"/spark/jobs/{job_segment(job_kind(job)[1])}"


def status(job: str) -> Route:
    kind, ident = job_kind(job)
    if kind == "spark":
        return "GET", f"/spark/jobs/{job_segment(ident)}"
    return "GET", f"/jobs/{resource(kind, ident)}"


def runs(job: str, *, whole: bool = False) -> Route:
    """A job's runs: the newest `ALL_LIMIT` of a Spark job's, unless `whole`, or its history."""
    kind, ident = job_kind(job)
    if kind == "spark":
        path = f"/spark/jobs/{job_segment(ident)}/all"
        return "GET", path if whole else f"{path}?limit={ALL_LIMIT}"
    return "GET", f"/jobs/{resource(kind, ident)}/history?limit={HISTORY_LIMIT}"


def cancel(job: str) -> Route:
    """A Spark run's cancel; other jobs are aborted with an action."""
    return "DELETE", f"/spark/jobs/{job_segment(job_kind(job)[1])}"


def action(kind: str, ident: str) -> Route:
    """A Jobs API action (`{"action": "start"}`, `"abort"`) on `kind:ident`."""
    return "POST", f"/jobs/{resource(kind, ident)}/actions"


def configuration(job: str) -> Route:
    """A Spark job's configuration; a datasource's or task's is its view."""
    kind, ident = job_kind(job)
    if kind == "spark":
        return "GET", f"/spark/configurations/{job_segment(ident)}"
    return "GET", f"/jobs/{resource(kind, ident)}"


def driver_log(ident: str, rows: int) -> Route:
    """The last `rows` lines of a Spark driver's log (text/plain). Fusion's sources disagree on
    what `ident` is: the 5.x spec names the job configuration, the survival guide the run."""
    return "GET", f"/spark/driver/log/{job_segment(ident)}?rows={rows}"


def schedule(job: str) -> Route:
    """Fusion's own schedule of a job (a `JobConfig`), Spark jobs included, as `spark:{id}`."""
    kind, ident = job_kind(job)
    return "GET", f"/jobs/{resource(kind, ident)}/schedule"


def view(job: str) -> Route:
    """The Jobs API's view of a job (its `nextStartTime`), Spark jobs included."""
    kind, ident = job_kind(job)
    return "GET", f"/jobs/{resource(kind, ident)}"


# --- reading a request back ---------------------------------------------------------------------


class Op(enum.Enum):
    START = "start"  # POST /spark/jobs/{id}
    STATUS = "status"  # GET /spark/jobs/{id}
    ALL = "all"  # GET /spark/jobs/{id}/all
    CANCEL = "cancel"  # DELETE /spark/jobs/{id}
    CONFIGURATION = "configuration"  # GET /spark/configurations/{id}
    VIEW = "view"  # GET /jobs/{resource}
    HISTORY = "history"  # GET /jobs/{resource}/history
    ACTION = "action"  # POST /jobs/{resource}/actions
    DRIVER_LOG = "driver log"  # GET /spark/driver/log/{id}: `job` is the run's or the job's id
    SCHEDULE = "schedule"  # GET /jobs/{resource}/schedule


@dataclass(frozen=True, slots=True)
class Call:
    op: Op
    job: str  # Spark jobs by id, others as `datasource:<id>`, `task:<id>` (`key`)
    resource: str | None = None  # the Jobs API resource as it was written, for ACTION


def key(job: str) -> str:
    """How a job is filed: Spark jobs by id, others as `datasource:<id>`, `task:<id>`."""
    kind, ident = job_kind(job)
    return ident if kind == "spark" else f"{kind}:{ident}"


def api_path(path: str) -> list[str] | None:
    """The raw segments after /api, /api/apollo or /api/apps/{app}; None for other paths."""
    parts = path.split("/")[1:]
    if parts[:1] != ["api"]:
        return None
    rest = parts[1:]
    if rest[:1] == ["apollo"]:
        return rest[1:]
    if rest[:1] == ["apps"] and len(rest) >= 2:
        return rest[2:]
    return rest


def parse(method: str, segments: list[str]) -> Call | None:
    """The call a request makes, from its method and its raw path segments below the API base;
    None for an endpoint this module does not name."""
    if len(segments) in (3, 4) and segments[:2] == ["spark", "jobs"]:
        job = unquote(segments[2])
        if len(segments) == 4:
            return Call(Op.ALL, job) if segments[3] == "all" and method == "GET" else None
        spark = {"POST": Op.START, "GET": Op.STATUS, "DELETE": Op.CANCEL}
        return Call(spark[method], job) if method in spark else None
    if len(segments) == 4 and segments[:3] == ["spark", "driver", "log"] and method == "GET":
        return Call(Op.DRIVER_LOG, unquote(segments[3]))
    if len(segments) == 3 and segments[:2] == ["spark", "configurations"] and method == "GET":
        return Call(Op.CONFIGURATION, unquote(segments[2]))
    if len(segments) in (2, 3) and segments[0] == "jobs":
        written = unquote(segments[1])
        job, rest = key(written), segments[2:]
        if not rest and method == "GET":
            return Call(Op.VIEW, job)
        if rest == ["history"] and method == "GET":
            return Call(Op.HISTORY, job)
        if rest == ["actions"] and method == "POST":
            return Call(Op.ACTION, job, resource=written)
        if rest == ["schedule"] and method == "GET":
            return Call(Op.SCHEDULE, job)
    return None
