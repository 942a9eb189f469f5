"""`--push-metrics URL`: the final result's metrics (`runner.report.metrics`) pushed to a
Prometheus Pushgateway, once, when the plan ends, however it ends (an interrupt too).

The push uses POST (prometheus_client's `pushadd_to_gateway`): only the metrics pushed replace
theirs, so an earlier last-success time stays when this run did not succeed. It is bounded in
time: every push of a run within `DEADLINE` seconds, whatever the gateway does. A push that fails
(refused, an HTTP error, no answer in time) is one warning line on stderr: it never changes the
outcome or the exit code. It happens after the report, JUnit and the GitHub summary are final,
which do not mention it.

The gateway's basic auth comes from the environment (`USER_VARIABLE`, `PASSWORD_VARIABLE`),
never from the command line: a URL that holds credentials is refused before anything runs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit

from runner.errors import UsageError
from runner.events import Event
from runner.result import PlanResult

if TYPE_CHECKING:
    from runner.report.metrics import Group

DEADLINE = 5.0  # seconds for every push of a run together
USER_VARIABLE = "FUSION_RUN_PUSHGATEWAY_USER"
PASSWORD_VARIABLE = "FUSION_RUN_PUSHGATEWAY_PASSWORD"
INSTALL = "pip install 'fusion-run[metrics]'"


@dataclass(frozen=True, slots=True)
class Gateway:
    url: str
    user: str | None = None
    password: str | None = None


def gateway(url: str, environ: Mapping[str, str]) -> Gateway:
    """The Pushgateway at `url`, with the basic auth the environment gives; UsageError for a URL
    it cannot be, for credentials in the URL, for half the credentials, or for prometheus_client
    not installed."""
    try:
        import prometheus_client  # noqa: F401, PLC0415
    except ImportError:
        raise UsageError(f"--push-metrics needs prometheus_client: {INSTALL}") from None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError:
        parts = None
    if parts is not None and ("@" in parts.netloc):
        raise UsageError(
            "--push-metrics: the URL holds credentials; remove them from it and set "
            f"{USER_VARIABLE} and {PASSWORD_VARIABLE} instead"
        )
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"--push-metrics {url}: expected the Pushgateway's http:// or https:// URL, "
            "such as http://pushgateway:9091"
        )
    if parts.query or parts.fragment:
        raise UsageError(
            f"--push-metrics {url}: the Pushgateway's URL takes no query or fragment: remove them"
        )
    user, password = environ.get(USER_VARIABLE), environ.get(PASSWORD_VARIABLE)
    if (user is None) != (password is None):
        have, lack = (
            (USER_VARIABLE, PASSWORD_VARIABLE)
            if password is None
            else (PASSWORD_VARIABLE, USER_VARIABLE)
        )
        raise UsageError(
            f"{have} is set but {lack} is not: set both for the Pushgateway's basic auth, "
            "or neither"
        )
    return Gateway(url=url, user=user, password=password)


class MetricsPush:
    """A reporter: pushes the final result's metrics to `gateway`; a failure goes to `warn`."""

    def __init__(self, gateway: Gateway, warn: Callable[[str], None]) -> None:
        self.gateway = gateway
        self.warn = warn

    def handle(self, event: Event, result: PlanResult) -> None:
        pass

    def finish(self, result: PlanResult) -> None:
        why = push(self.gateway, result)
        if why is not None:
            self.warn(
                f"fusion-run: warning: metrics not pushed to the Pushgateway at "
                f"{self.gateway.url}: {why}; the plan's outcome stands"
            )


def push(gateway: Gateway, result: PlanResult) -> str | None:
    """Push `result`'s metrics within `DEADLINE` seconds; why it failed, or None."""
    from runner.report.metrics import groups  # noqa: PLC0415 - prometheus_client

    failure: list[str] = []
    thread = threading.Thread(
        target=_push_all, args=(gateway, groups(result), DEADLINE, failure), daemon=True
    )
    thread.start()
    thread.join(DEADLINE)
    if thread.is_alive():  # left behind, a daemon: it cannot keep fusion-run from exiting
        return _no_answer(DEADLINE)
    return failure[0] if failure else None


def _push_all(gateway: Gateway, groups: list[Group], deadline: float, failure: list[str]) -> None:
    from prometheus_client import pushadd_to_gateway  # noqa: PLC0415
    from prometheus_client.exposition import basic_auth_handler, default_handler  # noqa: PLC0415

    from runner.report.metrics import JOB  # noqa: PLC0415

    def handler(**request: Any) -> Callable[[], None]:
        if gateway.user is None:
            return default_handler(**request)
        return basic_auth_handler(**request, username=gateway.user, password=gateway.password)

    for group in groups:
        try:
            pushadd_to_gateway(
                gateway.url,
                job=JOB,
                registry=group.registry,
                grouping_key=group.key,
                timeout=deadline,
                handler=handler,
            )
        except Exception as error:  # whatever it is, a warning
            failure.append(_why(error, deadline))
            return


def _why(error: Exception, deadline: float) -> str:
    if isinstance(error, HTTPError):
        return f"it answered HTTP {error.code} {error.reason}"
    reason = error.reason if isinstance(error, URLError) else error
    if isinstance(reason, TimeoutError):
        return _no_answer(deadline)
    if isinstance(reason, ConnectionRefusedError):
        return "the connection was refused"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason) or type(reason).__name__


def _no_answer(deadline: float) -> str:
    return f"no answer within {deadline:g}s"
