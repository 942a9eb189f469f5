"""`request:` and `webhook:` steps in a plan: what they take, what they refuse, and where the
refusal points; a request never leaves the plan's Fusion."""

from __future__ import annotations

import jsonschema
import pytest

from runner.plan import Call, CallKind, RunIf
from runner.plan.calls import path_problem, webhook_problem
from runner.plan.loader import load_plan
from runner.plan.problems import InvalidPlan
from runner.report.describe import describe, dry_run_document
from runner.schemas import load_schema
from tests.helpers.paths import WritePlan


def problems(write_plan: WritePlan, text: str) -> list[str]:
    with pytest.raises(InvalidPlan) as raised:
        load_plan(write_plan(text))
    return [str(problem) for problem in raised.value.problems]


PLAN = (
    "version: 1\n"
    "defaults: {retries: 2, timeout: 5m, poll_interval: 5s, success: {expect: ['result.x']}}\n"
    "steps:\n"
    "  - evaluate\n"
    "  - name: count\n"
    "    request:\n"
    "      path: /api/solr/products_v2/select?q=*:*&rows=0\n"
    "    success: {expect: ['body.response.numFound > `100000`']}\n"
    "  - name: swap\n"
    "    request:\n"
    "      method: POST\n"
    "      path: /api/solr/admin/collections\n"
    "      params: {action: CREATEALIAS, name: products, collections: products_v2, x: true}\n"
    "      body: {a: [1]}\n"
    "      status: [200, 201]\n"
    "    allow_failure: true\n"
    "  - name: notify\n"
    "    webhook:\n"
    "      url: https://hooks.example.com/T0/B0?token=abc\n"
    "      headers: {X-Team: search}\n"
    "    run_if: at_least_one_failed\n"
)


def test_request_and_webhook_steps_are_built_with_what_applies_to_them(
    write_plan: WritePlan,
) -> None:
    plan = load_plan(write_plan(PLAN))
    count, swap, notify = plan.steps[1:]
    assert count.call == Call(
        kind=CallKind.REQUEST, method="GET", target="/api/solr/products_v2/select?q=*:*&rows=0"
    )
    assert count.job == "GET /api/solr/products_v2/select"  # never its query
    assert (count.retries, count.success.expect) == (2, ("body.response.numFound > `100000`",))
    assert swap.call is not None
    assert swap.call.params == (
        ("action", "CREATEALIAS"),
        ("name", "products"),
        ("collections", "products_v2"),
        ("x", "true"),
    )
    assert (swap.call.body, swap.call.statuses, swap.call.may_repeat) == (
        '{"a": [1]}',
        (200, 201),
        False,
    )
    assert (swap.success.expect, swap.allow_failure) == ((), True)  # defaults' expect: for runs
    assert notify.call == Call(
        kind=CallKind.WEBHOOK,
        method="POST",
        target="https://hooks.example.com/T0/B0?token=abc",
        body="{}",
        headers=(("X-Team", "search"),),
    )
    assert (notify.job, notify.run_if) == ("POST hooks.example.com", RunIf.AT_LEAST_ONE_FAILED)


def test_the_dry_run_shows_what_each_sends_and_never_a_value(write_plan: WritePlan) -> None:
    text = describe(load_plan(write_plan(PLAN)), url="https://f.example.com", url_source="the plan")
    assert (
        "  count (request: GET /api/solr/products_v2/select)\n"
        "    waits for: evaluate, the step listed before it; runs if all succeed\n"
        "    retries 2, 30s apart, x2 each time, after state\n"
        "    success: answer status 2xx; body.response.numFound > `100000`\n"
    ) in text
    assert (
        "  swap (request: POST /api/solr/admin/collections with parameters action, name, "
        "collections, x, a JSON body; not sent again if its answer is lost)\n"
    ) in text
    assert "    success: answer status in [200, 201]\n" in text
    assert "  notify (webhook: POST to hooks.example.com)\n" in text
    assert "token" not in text
    assert "CREATEALIAS" not in text
    assert "search" not in text


def test_the_dry_run_document_says_what_each_step_sends(write_plan: WritePlan) -> None:
    document = dry_run_document(
        load_plan(write_plan(PLAN)), url="https://f.example.com", url_source="the plan"
    )
    jsonschema.Draft202012Validator(load_schema("dry-run.schema.json")).validate(document)
    calls = {step["name"]: step["call"] for step in document["steps"]}
    assert calls["evaluate"] is None
    assert calls["count"] == {
        "kind": "request",
        "method": "GET",
        "sent": "/api/solr/products_v2/select",  # its query left out
        "params": [],
        "body": False,
        "repeat_safe": True,
    }
    assert calls["notify"] == {
        "kind": "webhook",
        "method": "POST",
        "sent": "hooks.example.com",
        "params": [],
        "body": True,
        "repeat_safe": False,
    }
    assert "token" not in str(document)


def test_a_request_step_needs_a_name_and_refuses_the_settings_about_a_run(
    write_plan: WritePlan,
) -> None:
    assert problems(
        write_plan,
        "version: 1\n"
        "steps:\n"
        "  - request: {path: /api/solr/x/select}\n"
        "    timeout: 1h\n"
        "    on_running: adopt\n"
        "    success: {states: [success], min_documents: 1}\n"
        "  - name: w\n"
        "    webhook: {url: 'https://h.example.com'}\n"
        "    stall_after: 1h\n",
    ) == [
        "plan.yaml:3:5: $.steps[0].request: a step with 'request:' needs a name: add name: "
        "(used in depends_on and outputs)",
        "plan.yaml:4:5: $.steps[0].timeout: 'timeout' does not apply to a step with 'request:': "
        "it starts no run; remove it",
        "plan.yaml:5:5: $.steps[0].on_running: 'on_running' does not apply to a step with "
        "'request:': it starts no run; remove it",
        "plan.yaml:6:15: $.steps[0].success.states: 'states' does not apply to a step with "
        "'request:': it starts no run; remove it",
        "plan.yaml:6:34: $.steps[0].success.min_documents: 'min_documents' does not apply to a "
        "step with 'request:': it starts no run; remove it",
        "plan.yaml:9:5: $.steps[1].stall_after: 'stall_after' does not apply to a step with "
        "'webhook:': it starts no run; remove it",
    ]


def test_a_path_that_could_leave_fusion_is_refused_at_its_place(write_plan: WritePlan) -> None:
    assert problems(
        write_plan,
        "version: 1\n"
        "steps:\n"
        "  - name: a\n"
        "    request: {path: 'https://evil.example.com/api'}\n"
        "  - name: b\n"
        "    request: {path: '//evil.example.com/api'}\n"
        "  - name: c\n"
        "    request: {path: '/api@evil.example.com'}\n"
        "  - name: d\n"
        "    request: {path: '/api/%2e%2e/x'}\n",
    ) == [
        "plan.yaml:4:21: $.steps[0].request.path: a request's path is relative to fusion.url "
        "and starts with a single /, e.g. /api/solr/products/select: write it so",
        "plan.yaml:6:21: $.steps[1].request.path: a request's path is relative to fusion.url "
        "and starts with a single /, e.g. /api/solr/products/select: write it so",
        "plan.yaml:8:21: $.steps[2].request.path: a request's path may not name another host "
        "or user (it holds \\, @ or ://): a request goes only to the plan's Fusion; use a "
        "webhook: step for another host",
        "plan.yaml:10:21: $.steps[3].request.path: a request's path may not hold a . or .. "
        "segment: it would leave fusion.url; write the path in full",
    ]


@pytest.mark.parametrize(
    "path",
    [
        "api",
        "//h",
        "/a\\b",
        "/a b",
        "/a\n",
        "/x/../y",
        "/x/%2E%2E",
        "/x/%252e%252e/y",
        "/./a",
        "/a://b",
        "/a#b",
        "/a@b",
    ],
)
def test_no_path_that_escapes_fusion_url_passes(path: str) -> None:
    assert path_problem(path) is not None


@pytest.mark.parametrize("path", ["/api/solr/c/select?q=*:*&rows=0", "/api/apps/a/x.json", "/a..b"])
def test_a_plain_path_passes(path: str) -> None:
    assert path_problem(path) is None


def test_a_webhook_is_https_unless_insecure_and_holds_no_user() -> None:
    assert webhook_problem("https://hooks.example.com/x?y=1", insecure=False) is None
    assert webhook_problem("http://hooks.example.com/x", insecure=True) is None
    assert webhook_problem("http://hooks.example.com/x", insecure=False) == (
        "a webhook's URL is http://: its body and headers would travel unencrypted; use "
        "https://, or add insecure: true"
    )
    assert webhook_problem("https://u:p@hooks.example.com/", insecure=False) == (
        "a webhook's URL may not hold a user or password: send them in headers:"
    )
    assert webhook_problem("ftp://h/x", insecure=False) == (
        "a webhook's URL is an absolute https:// URL with a host: write it as https://host/path"
    )
    assert webhook_problem("https://h:port/", insecure=False) == (
        "a webhook's URL cannot be read: write it as https://host/path"
    )


def test_a_header_that_cannot_be_sent_is_refused_at_its_place_without_its_value(
    write_plan: WritePlan,
) -> None:
    plan = write_plan(
        "version: 1\nvariables: {HOOK_TOKEN: null}\nsteps:\n  - name: notify\n    webhook:\n"
        "      url: https://hooks.example.com/T0\n"
        "      headers: {Authorization: 'Bearer ${HOOK_TOKEN}', 'X Team': search}\n"
    )
    with pytest.raises(InvalidPlan) as raised:
        load_plan(plan, environ={"HOOK_TOKEN": "s3cr3t\n"})  # as read from a file
    assert [str(problem) for problem in raised.value.problems] == [
        f"{plan}:7:32: $.steps[0].webhook.headers.Authorization: a header value may not hold a "
        "line break or another control character, nor begin or end with white space: remove "
        "them (a variable's value may end with a line break)",
        f'{plan}:7:56: $.steps[0].webhook.headers["X Team"]: a header name is letters, digits '
        "and !#$%&'*+-.^_`|~ only: write it so",
    ]
