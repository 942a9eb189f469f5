"""Auth that lasts: `auto` from the environment, oauth2 tokens renewed ahead of their expiry and
on a 401, sessions that log in afresh when they idle out, and a fixed token's refusal that says
what would last."""

from __future__ import annotations

import random
from typing import Any

import pytest

from runner.emulator.model import EmulatedFusion
from runner.emulator.scenario import JobScript, RunScript, Scenario, Variant
from runner.emulator.server import Access, Emulator
from runner.engine import Engine
from runner.errors import UsageError
from runner.fusion import ErrorKind, FusionError
from runner.fusion.auth import resolve
from runner.fusion.client import FusionClient
from runner.plan import Auth
from runner.report.journal import Journal
from tests.helpers.engine import plan_of
from tests.helpers.fakes import CREDENTIALS, EPOCH, FakeClock, step
from tests.helpers.recording import full_access
from tests.helpers.reports import valid

USER = {k: CREDENTIALS[k] for k in ("FUSION_USER", "FUSION_PASSWORD")}


@pytest.mark.parametrize(
    ("environ", "auth"),
    [
        ({"FUSION_API_KEY": "k"}, Auth.API_KEY),
        ({"FUSION_TOKEN": "t"}, Auth.BEARER),
        ({"FUSION_USER": "u", "FUSION_PASSWORD": "p"}, Auth.BASIC),
        ({"FUSION_API_KEY": "k", "FUSION_TOKEN": "t"}, None),
    ],
)
def test_auto_takes_the_kind_the_environment_holds(
    environ: dict[str, str], auth: Auth | None
) -> None:
    assert resolve(Auth.SESSION, environ) is Auth.SESSION  # the plan's choice wins
    if auth is None:
        with pytest.raises(UsageError) as caught:
            resolve(Auth.AUTO, environ)
        assert str(caught.value) == (
            "FUSION_API_KEY and FUSION_TOKEN are both set: say in the plan which to use, with "
            "fusion.auth: api-key or bearer"
        )
    else:
        assert resolve(Auth.AUTO, environ) is auth


def test_auto_with_no_credentials_names_them_all() -> None:
    with pytest.raises(UsageError) as caught:
        resolve(Auth.AUTO, {"FUSION_URL": "https://f"})
    assert str(caught.value) == (
        "no credentials in the environment: set FUSION_API_KEY, FUSION_TOKEN, or FUSION_USER "
        "and FUSION_PASSWORD (or fusion.auth: none for a Fusion without security)"
    )


def live(variant: Variant, clock: FakeClock) -> Emulator:
    scenario = Scenario(jobs={"j": JobScript(runs=(RunScript(duration=3600),))}, variant=variant)
    return Emulator(EmulatedFusion(scenario, clock=clock, epoch=EPOCH), access=full_access())


def test_oauth2_gets_a_token_and_renews_it_ten_seconds_before_it_expires() -> None:
    clock = FakeClock()
    with live(Variant(token_lifetime=60), clock) as emulator:
        fusion = FusionClient(url=emulator.url, auth=Auth.OAUTH2, environ=USER, monotonic=clock)
        fusion.status("j")
        first = set(emulator.tokens)
        clock.advance(49)
        fusion.status("j")
        assert set(emulator.tokens) == first  # 11 s left: still good
        clock.advance(2)
        fusion.status("j")  # 9 s left: a new one first
        assert len(emulator.tokens) == 2
        # every token Fusion handed out stays a secret, the renewed one too; a name is none
        assert set(emulator.tokens) <= set(fusion.credentials.values())
        assert USER["FUSION_USER"] not in fusion.credentials.values()


def test_oauth2_renews_once_when_fusion_refuses_its_token() -> None:
    clock = FakeClock()
    with live(Variant(), clock) as emulator:
        fusion = FusionClient(url=emulator.url, auth=Auth.OAUTH2, environ=USER, monotonic=clock)
        fusion.status("j")
        emulator.tokens.clear()  # Fusion forgot every token (a restart)
        assert fusion.status("j").state == "idle"
        assert len(emulator.tokens) == 1


def test_oauth2_with_wrong_credentials_is_refused_at_once() -> None:
    clock = FakeClock()
    with live(Variant(), clock) as emulator:
        wrong = {**USER, "FUSION_PASSWORD": "wrong-one"}
        fusion = FusionClient(url=emulator.url, auth=Auth.OAUTH2, environ=wrong, monotonic=clock)
        with pytest.raises(FusionError) as caught:
            fusion.status("j")
    assert caught.value.kind is ErrorKind.CREDENTIALS
    assert str(caught.value) == (
        f"POST {emulator.url}/oauth2/token: 401 Unauthorized: unauthorized; "
        "check FUSION_USER and FUSION_PASSWORD (fusion.auth oauth2)"
    )


def test_a_session_that_idles_out_logs_in_afresh() -> None:
    clock = FakeClock()
    with live(Variant(session_idle_timeout=1800), clock) as emulator:
        fusion = FusionClient(url=emulator.url, auth=Auth.SESSION, environ=USER, monotonic=clock)
        fusion.status("j")
        [first] = emulator.sessions
        clock.advance(1801)  # Fusion's 30 idle minutes
        fusion.status("j")
        assert len(emulator.sessions) == 2
        assert emulator.sessions[first].idle
        assert fusion.credentials.cookies.get("id") != first  # the old cookie went before the login


def test_a_refused_fixed_token_says_what_would_last(tmp_path: Any) -> None:
    """A bearer token expires mid-run: fusion-run stops, says to use oauth2, and the run it was
    following stays named in the report, for --resume."""
    clock = FakeClock()
    with live(Variant(), clock) as emulator:
        fusion = FusionClient(
            url=emulator.url, auth=Auth.BEARER, environ=CREDENTIALS, monotonic=clock
        )
        reports: list[dict[str, Any]] = []

        def expire(now: float) -> int:
            if now > 30:
                emulator.access = Access(user="someone", password="else")
            return 0

        Engine(
            plan_of([step("j")]),
            fusion,
            clock,
            url=emulator.url,
            rng=random.Random(1),
            reporter=Journal(lambda report: reports.append(valid(report))),
            interrupts=lambda: expire(clock.now),
        ).execute()
    report = reports[-1]
    assert report["error"] == (
        f"Fusion refused the credentials: GET {emulator.url}/api/spark/jobs/j: 401 Unauthorized: "
        "unauthorized; the token from FUSION_TOKEN may have expired: with fusion.auth: oauth2, "
        "fusion-run gets its own tokens and renews them"
    )
    [j] = report["steps"]
    assert (j["outcome"], j["run_id"] is not None) == ("running", True)
    assert j["reason"].startswith(f"still running in Fusion (run {j['run_id']}); ")


@pytest.mark.parametrize("auth", [Auth.BASIC, Auth.OAUTH2])
@pytest.mark.parametrize("password", ["p\u20acss", "p\u00e4ss"], ids=["euro", "umlaut"])
def test_a_password_beyond_latin_1_is_sent_as_utf_8(auth: Auth, password: str) -> None:
    """requests encodes Basic as Latin-1: 'p€ss' crashed the run, 'päss' was refused by a server
    that reads UTF-8 (RFC 7617's charset). Both now go as UTF-8."""
    clock = FakeClock()
    scenario = Scenario(jobs={"j": JobScript(runs=(RunScript(duration=3600),))})
    model = EmulatedFusion(scenario, clock=clock, epoch=EPOCH)
    with Emulator(model, access=Access(user="admin", password=password)) as emulator:
        environ = {"FUSION_USER": "admin", "FUSION_PASSWORD": password}
        fusion = FusionClient(url=emulator.url, auth=auth, environ=environ, monotonic=clock)
        assert fusion.status("j").job == "j"
