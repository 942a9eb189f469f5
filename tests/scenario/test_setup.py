"""A wrong set-up says so soon: a host that does not resolve at once, a Fusion that never answers
within the first-contact window, and a retry budget kept to the second once Fusion has answered."""

from __future__ import annotations

import contextlib
import random
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import urllib3.exceptions

from runner import wording
from runner.emulator.adapter import ModelFusion
from runner.emulator.model import EmulatedFusion
from runner.emulator.scenario import Fault, FaultTarget, RunScript
from runner.emulator.server import Emulator
from runner.engine import Engine, Unreachable
from runner.events import StepEnded
from runner.fusion import ErrorKind, FusionError, Unreached
from runner.fusion.client import FusionClient
from runner.reasons import LostContact, MayBeRunning
from tests.helpers.cli import invoke
from tests.helpers.engine import jobs, plan_of, run, runs
from tests.helpers.fakes import EPOCH, FakeClock, step
from tests.helpers.paths import ROOT, WritePlan
from tests.helpers.reports import read_report

URL = "https://fusion.exmaple.com"
TLS = ROOT / "tests" / "fixtures" / "tls"


class Refusing:
    """A Fusion whose every request fails as `error` does, counting them."""

    def __init__(self, error: FusionError) -> None:
        self.error = error
        self.requests = 0

    def configuration(self, job: str) -> Any:
        self.requests += 1
        raise self.error


def refused(what: str, unreached: Unreached) -> FusionError:
    url = f"{URL}/api/spark/configurations/crawl"
    return FusionError(
        method="GET", url=url, kind=ErrorKind.TRANSIENT, what=what, unreached=unreached
    )


def preflight(fusion: Refusing, **settings: Any) -> tuple[FakeClock, str]:
    """Check the plan's jobs against `fusion`; the time it took and why it gave up."""
    clock = FakeClock()
    plan = plan_of([step("crawl")], fusion=settings)
    engine = Engine(plan, fusion, clock, url=URL, rng=random.Random(1))  # type: ignore[arg-type]
    with pytest.raises(Unreachable) as caught:
        engine.preflight()
    return clock, wording.text(caught.value.reason)


def test_a_host_that_does_not_resolve_is_said_at_once() -> None:
    fusion = Refusing(refused("cannot connect (Name or service not known)", Unreached.NO_HOST))
    clock, why = preflight(fusion)
    assert (clock.now, fusion.requests) == (0, 1)
    assert why == (
        "Fusion's host fusion.exmaple.com is not known (GET https://fusion.exmaple.com/api/spark/"
        "configurations/crawl: cannot connect (Name or service not known)): check fusion.url, "
        "--url or FUSION_URL"
    )


@pytest.mark.parametrize("window", [2, 30])
def test_a_fusion_that_never_answers_is_given_its_first_contact_window(window: int) -> None:
    fusion = Refusing(refused("cannot connect (Connection refused)", Unreached.NO_ANSWER))
    clock, why = preflight(fusion, first_contact=window)
    assert clock.now == window  # not the 5-minute retry budget, and not a second past the window
    assert fusion.requests > 1  # tried again within it
    assert why == (
        f"Fusion at https://fusion.exmaple.com did not answer for {window}s (last error: GET "
        "https://fusion.exmaple.com/api/spark/configurations/crawl: cannot connect (Connection "
        "refused)): check that Fusion is up there, and fusion.url, --url or FUSION_URL "
        "(fusion.first_contact sets how long to try)"
    )


def test_once_fusion_has_answered_the_retry_budget_applies() -> None:
    """A gateway's 504 is an answer: the first-contact window does not cut it short."""
    faults = (Fault(on=FaultTarget.CONFIGURATION, answer=504, times=10_000),)
    with pytest.raises(Unreachable) as caught:
        run([step("j")], jobs(j=runs(faults=faults)), fusion={"first_contact": 2})
    assert wording.text(caught.value.reason).startswith("lost contact with Fusion for 5m (")


@pytest.mark.parametrize("budget", [10, 20, 45])
@pytest.mark.parametrize("answered", [0, 1], ids=["before-the-run-is-known", "while-following"])
def test_a_step_out_of_contact_gives_up_when_its_budget_ends_not_after(
    budget: int, answered: int
) -> None:
    faults = (Fault(on=FaultTarget.STATUS, answer=503, times=10_000, after=answered),)
    result = run(
        [step("j")],
        jobs(j=runs(RunScript(duration=600), faults=faults)),
        fusion={"retry_budget": budget},
    )
    (ended,) = result.of(StepEnded, step="j")
    lost = ended.reason.why if isinstance(ended.reason, MayBeRunning) else ended.reason
    assert isinstance(lost, LostContact)
    assert lost.seconds == budget
    assert result.step("j")["reason"].startswith(f"lost contact with Fusion for {budget}s (")


def _dropped(cause: Any) -> Exception:
    pool = urllib3.HTTPSConnectionPool("fusion.exmaple.com")
    reason = urllib3.exceptions.MaxRetryError(pool, "/", cause(pool))
    return requests.exceptions.ConnectionError(reason)


@pytest.mark.parametrize(
    ("error", "unreached"),
    [
        (
            _dropped(lambda p: urllib3.exceptions.NameResolutionError(URL, p, socket.gaierror())),
            Unreached.NO_HOST,
        ),
        (
            _dropped(lambda p: urllib3.exceptions.NewConnectionError(p, "refused")),
            Unreached.NO_ANSWER,
        ),
        (requests.exceptions.ConnectTimeout("timed out"), Unreached.NO_ANSWER),
        (_dropped(lambda p: urllib3.exceptions.ProtocolError("reset")), None),
    ],
    ids=["no-such-host", "refused", "connect-timeout", "dropped"],
)
def test_the_client_tells_a_wrong_host_from_a_fusion_that_does_not_answer(
    monkeypatch: pytest.MonkeyPatch, error: Exception, unreached: Unreached | None
) -> None:
    """Only a request that never reached Fusion is unreached; a dropped one may have applied."""
    client = FusionClient(url=URL)

    def fail(*_: Any, **__: Any) -> Any:
        raise error

    monkeypatch.setattr(client.transport.session, "request", fail)  # type: ignore[attr-defined]
    with pytest.raises(FusionError) as caught:
        client.status("crawl")
    assert (caught.value.unreached, caught.value.maybe_applied) == (unreached, unreached is None)


@contextlib.contextmanager
def tls_fusion(clock: Callable[[], float] = time.monotonic) -> Iterator[str]:
    """The emulator over HTTPS with the self-signed certificate in tests/fixtures/tls, its runs
    on `clock` (the real one unless given)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(TLS / "cert.pem", TLS / "key.pem")
    emulator = Emulator(EmulatedFusion(extra_jobs=["crawl"], clock=clock))
    emulator.server.socket = context.wrap_socket(emulator.server.socket, server_side=True)
    with emulator:
        yield emulator.url.replace("http://", "https://")


def test_a_certificate_that_is_not_trusted_fails_at_once(write_plan: WritePlan) -> None:
    plan = write_plan("version: 1\nfusion:\n  auth: none\nsteps: [crawl]\n")
    clock = FakeClock()
    with tls_fusion(clock) as url:
        began = time.monotonic()
        result = invoke(plan, "--url", url, clock=clock)
        took = time.monotonic() - began
    assert result.exit_code == 3
    assert (clock.now, clock.sleeps) == (0, [])  # no retrying: trying again cannot make it trusted
    assert took < 3
    assert result.stderr.splitlines()[-1] == (
        f"fusion-run: GET {url}/api/spark/configurations/crawl: TLS failed (certificate verify "
        "failed: self-signed certificate): set fusion.verify to a CA bundle path"
    )


def test_fusion_verify_names_the_ca_bundle_that_trusts_it(write_plan: WritePlan) -> None:
    plan = write_plan(
        f"version: 1\nfusion:\n  auth: none\n  verify: {TLS / 'cert.pem'}\nsteps: [crawl]\n"
    )
    clock = FakeClock()
    with tls_fusion(clock) as url:
        result = invoke(plan, "--url", url, clock=clock)
    assert result.exit_code == 0, result.stderr
    assert read_report()["steps"][0]["outcome"] == "succeeded"


def test_a_read_that_hangs_counts_its_whole_timeout_against_the_budget() -> None:
    """Each status read hangs for 15 s, then times out. With a 20 s budget the step is given
    up at the end of the second read (31 s), said truthfully, not at 45 s as when the budget
    was counted from each failure's end."""
    clock = FakeClock()
    scenario = jobs(j=runs(RunScript(duration=600)))
    model = EmulatedFusion(scenario, clock=clock, epoch=EPOCH, extra_jobs=["j"])

    class Hanging(ModelFusion):
        reads = 0

        def status(self, job: str) -> Any:
            self.reads += 1
            if self.reads <= 2:
                return super().status(job)
            clock.advance(15)
            raise FusionError(
                method="GET",
                url="http://emulated/api/spark/jobs/j",
                kind=ErrorKind.TRANSIENT,
                what="no answer within 15s",
                maybe_applied=True,
            )

    plan = plan_of([step("j")], fusion={"retry_budget": 20})
    engine = Engine(plan, Hanging(model), clock, url="http://emulated", rng=random.Random(1))
    engine.preflight()
    engine.execute()
    [j] = engine.result.steps
    assert wording.text(j.reason).startswith("lost contact with Fusion for 31s (last error: ")
