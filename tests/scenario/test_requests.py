"""`request:` and `webhook:` steps against the emulator: what they send, how their answer is
judged and reported, and what a lost answer does."""

from __future__ import annotations

import json
from typing import Any

from runner import wording
from runner.commands.check import step_line
from runner.emulator.adapter import Hooks, ModelFusion
from runner.emulator.model import EmulatedFusion
from runner.emulator.scenario import Scenario
from runner.engine import Engine
from runner.engine.preflight import Readiness
from runner.events import Answered, RetriesUnused, Retrying
from runner.fusion import CallAnswer, ErrorKind, FusionError
from runner.plan import Call, RetryOn
from runner.plan.loader import load_plan
from runner.reasons import AnswerUnknown
from runner.report.console import _run_cell
from runner.report.github import summary_markdown
from runner.report.junit import junit_xml
from tests.helpers.engine import plan_of, run
from tests.helpers.fakes import EPOCH, FakeClock, call_step, step
from tests.helpers.paths import EXAMPLES

SELECT = "/api/solr/products_v2/select?q=*:*&rows=0"
ALIAS = (("action", "CREATEALIAS"), ("name", "products"), ("collections", "products_v2"))


def test_a_query_check_then_an_alias_swap_pass_and_the_report_says_what_was_sent() -> None:
    result = run(
        [
            step("evaluate"),
            call_step(
                "count", "evaluate", path=SELECT, expect=("body.response.numFound > `100000`",)
            ),
            call_step(
                "swap", "count", method="POST", path="/api/solr/admin/collections", params=ALIAS
            ),
        ],
        Scenario(collections={"products_v2": 150_000}),
    )
    assert result.outcomes() == {"evaluate": "succeeded", "count": "succeeded", "swap": "succeeded"}
    assert result.model.solr.aliases == {"products": "products_v2"}
    assert result.lines(Answered) == [
        "count: GET /api/solr/products_v2/select answered 200 OK (attempt 1)",
        "swap: POST /api/solr/admin/collections answered 200 OK (attempt 1)",
    ]
    count, swap = result.step("count"), result.step("swap")
    assert count["job"] == "GET /api/solr/products_v2/select"
    assert count["call"] == {
        "kind": "request",
        "method": "GET",
        "sent": "/api/solr/products_v2/select",
        "params": [],
        "body": False,
        "repeat_safe": True,
    }
    assert swap["call"]["params"] == ["action", "name", "collections"]  # names, never values
    assert swap["call"]["repeat_safe"] is False
    (attempt,) = count["attempts"]
    assert attempt["state"] == "200"
    assert attempt["result"]["body"]["response"]["numFound"] == 150_000
    assert [c["name"] for c in attempt["criteria"]] == ["status", "expect"]


def test_an_expect_that_does_not_hold_fails_the_step_saying_what_it_saw() -> None:
    result = run(
        [call_step("count", path=SELECT, expect=("body.response.numFound > `200000`",))],
        Scenario(collections={"products_v2": 150_000}),
    )
    assert result.outcomes() == {"count": "failed"}
    assert result.step("count")["reason"] == (
        "expect body.response.numFound > `200000` is false (body.response.numFound: 150000)"
    )


def test_a_status_not_accepted_fails_and_is_retried_as_a_state_is() -> None:
    result = run(
        [
            call_step(
                "swap",
                method="POST",
                path="/api/solr/admin/collections",
                params=(("action", "CREATEALIAS"),),
                retries=1,
                retry_delay=5,
            )
        ]
    )
    assert result.outcomes() == {"swap": "failed"}
    assert result.step("swap")["reason"] == "the answer's status was 400 (accepted: 2xx)"
    assert len(result.of(Retrying)) == 1
    assert [a["state"] for a in result.step("swap")["attempts"]] == ["400", "400"]
    body = result.step("swap")["attempts"][0]["result"]["body"]
    assert body["error"]["msg"] == "Missing required parameter: name, collections"


def test_accepted_statuses_replace_2xx_and_expect_reads_status_and_headers() -> None:
    result = run(
        [
            call_step(
                "gone",
                path="/api/solr/admin/collections",
                params=(("action", "DELETEALIAS"), ("name", "old")),
                method="POST",
                statuses=(400,),
                expect=("status == `400`", "headers.\"content-type\" == 'application/json'"),
            )
        ]
    )
    assert result.outcomes() == {"gone": "succeeded"}


def test_a_failed_warn_is_a_warning_and_the_step_succeeds() -> None:
    result = run([call_step("count", path=SELECT, warn=("body.response.numFound > `500000`",))])
    assert result.outcomes() == {"count": "succeeded"}
    assert [w["text"] for w in result.report["warnings"]] == [
        "warn body.response.numFound > `500000` is false (body.response.numFound: 120000)"
    ]


def test_a_webhook_posts_only_what_the_plan_says_when_a_step_failed() -> None:
    hooks = Hooks()
    clock = FakeClock()
    model = EmulatedFusion(Scenario(), clock=clock, epoch=EPOCH, extra_jobs=["crawl"])
    steps = [
        call_step("crawl", path="/api/solr/nowhere"),
        call_step(
            "notify",
            "crawl",
            run_if="at_least_one_failed",
            webhook="https://hooks.example.com/T0/B0?token=s3cret",
            body=json.dumps({"text": "nightly failed"}),
            headers=(("X-Team", "search"),),
        ),
    ]
    engine = Engine(plan_of(steps), ModelFusion(model, hooks=hooks), clock, url="http://emulated")
    engine.execute()
    assert [s.outcome for s in engine.result.steps] == ["failed", "succeeded"]
    ((host, headers, body),) = hooks.posts
    assert (host, json.loads(body)) == ("hooks.example.com", {"text": "nightly failed"})
    assert headers["X-Team"] == "search"
    assert not {"Authorization", "Cookie", "x-api-key"} & set(headers)
    assert engine.result.steps[1].job == "POST hooks.example.com"  # never its path or query


class Losing:
    """The emulator behind the Fusion protocol, whose first `lost` requests reach Fusion and
    lose their answer (the connection drops after Fusion did the work)."""

    def __init__(self, model: EmulatedFusion, lost: int = 1) -> None:
        self.inner = ModelFusion(model)
        self.lost = lost
        self.sent = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def call(self, call: Call) -> CallAnswer:
        self.sent += 1
        answer = self.inner.call(call)
        if self.lost:
            self.lost -= 1
            raise FusionError(
                method=call.method,
                url=f"http://emulated{call.target}",
                kind=ErrorKind.TRANSIENT,
                what="the connection dropped",
                maybe_applied=True,
            )
        return answer


def _lose(steps: list[Any], lost: int = 1) -> tuple[Engine, Losing, EmulatedFusion]:
    clock = FakeClock()
    model = EmulatedFusion(Scenario(), clock=clock, epoch=EPOCH)
    fusion = Losing(model, lost)
    engine = Engine(plan_of(steps), fusion, clock, url="http://emulated")
    engine.execute()
    return engine, fusion, model


def test_a_post_whose_answer_is_lost_is_not_sent_again_and_fails_naming_the_fix() -> None:
    engine, fusion, model = _lose(
        [call_step("swap", method="POST", path="/api/solr/admin/collections", params=ALIAS)]
    )
    (result,) = engine.result.steps
    assert (str(result.outcome), fusion.sent, model.solr.changes) == (
        "failed",
        1,
        ["CREATEALIAS products"],
    )
    assert isinstance(result.reason, AnswerUnknown)
    assert wording.text(result.reason) == (
        "POST /api/solr/admin/collections may have reached Fusion and its answer is unknown: "
        "POST http://emulated/api/solr/admin/collections: the connection dropped; it is not "
        "sent again, as it is not repeat_safe: check what it did in Fusion, then rerun, or add "
        "repeat_safe: true to the step if sending it twice does no harm"
    )


def test_a_get_or_a_repeat_safe_request_whose_answer_is_lost_is_sent_again() -> None:
    for safe in (
        call_step("count", path=SELECT),
        call_step(
            "swap",
            method="POST",
            path="/api/solr/admin/collections",
            params=ALIAS,
            repeat_safe=True,
        ),
    ):
        engine, fusion, _ = _lose([safe])
        assert (str(engine.result.steps[0].outcome), fusion.sent) == ("succeeded", 2)


def test_outputs_name_the_answer_instead_of_a_run_and_never_a_query() -> None:
    result = run(
        [
            call_step("count", path=SELECT, expect=("body.response.numFound > `200000`",)),
            call_step("notify", "count", run_if="all_done", webhook="https://h.example.com/x?t=1"),
        ]
    )
    xml = junit_xml(result.engine.result)
    assert "sent: GET /api/solr/products_v2/select\noutcome: failed\nattempt 1: answered 200" in xml
    assert "sent: POST h.example.com\noutcome: succeeded\nattempt 1: answered 200" in xml
    markdown = summary_markdown(result.report, result.engine.plan)
    assert "| count | ❌ failed | 0s | answered 200 |" in markdown
    assert "q=*:*" not in xml + markdown
    assert "t=1" not in xml + markdown
    assert [_run_cell(s) for s in result.engine.result.steps] == ["answered 200"] * 2


def test_check_says_a_request_is_sent_when_due_and_asks_fusion_nothing() -> None:
    steps = [call_step("count", path=SELECT), call_step("notify", webhook="https://h.example.com")]
    assert [
        step_line(Readiness(index=i, step=s, exists=None, active=None)) for i, s in enumerate(steps)
    ] == [
        "count (GET /api/solr/products_v2/select): a request to Fusion, sent when due; nothing "
        "to check before",
        "notify (POST h.example.com): a webhook, sent when due; nothing to check before",
    ]


def _example(collections: dict[str, int]) -> tuple[Engine, EmulatedFusion, Hooks]:
    plan = load_plan(str(EXAMPLES / "alias-swap.yaml"))
    clock, hooks = FakeClock(), Hooks()
    jobs = [s.job for s in plan.steps if s.call is None]
    model = EmulatedFusion(
        Scenario(collections=collections), clock=clock, epoch=EPOCH, extra_jobs=jobs
    )
    engine = Engine(plan, ModelFusion(model, hooks=hooks), clock, url="http://emulated")
    engine.preflight()
    engine.execute()
    return engine, model, hooks


def test_the_example_swaps_the_alias_after_a_good_evaluation_and_says_nothing() -> None:
    engine, model, hooks = _example({"products_v2": 150_000})
    assert [str(s.outcome) for s in engine.result.steps] == ["succeeded"] * 4 + ["skipped"]
    assert model.solr.aliases == {"products": "products_v2"}
    assert hooks.posts == []


def test_the_example_keeps_the_alias_and_tells_the_team_when_the_index_is_short() -> None:
    engine, model, hooks = _example({"products_v2": 12})
    outcomes = {s.name: str(s.outcome) for s in engine.result.steps}
    assert outcomes == {
        "reindex": "succeeded",
        "evaluate": "succeeded",
        "enough-documents": "failed",
        "swap-alias": "skipped",
        "tell-the-team": "succeeded",
    }
    assert model.solr.aliases == {}
    ((host, _, body),) = hooks.posts
    assert (host, json.loads(body)["text"]) == (
        "hooks.example.com",
        "alias-swap failed: the products alias was not moved",
    )


def test_retries_left_unused_by_a_request_name_what_fails_a_request() -> None:
    failing = call_step(
        "count", path=SELECT, retries=2, expect=("body.response.numFound > `200000`",)
    )
    refused = call_step("gone", path="/api/nope", retries=1, retry_on=frozenset({RetryOn.CRITERIA}))
    result = run([failing, refused], Scenario(collections={"products_v2": 150_000}))
    assert result.lines(RetriesUnused) == [
        "count: 2 retries left unused: retry_on [state] does not retry an expect that does "
        "not hold; add criteria to retry_on to retry it",
        "gone: 1 retry left unused: retry_on [criteria] does not retry an answer whose status "
        "is not accepted; add state to retry_on to retry it",
    ]
