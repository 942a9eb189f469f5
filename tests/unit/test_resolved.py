"""The settings a plan resolved to, as a report keeps them for --resume and --graph --report."""

from __future__ import annotations

import json
from pathlib import Path

from runner.plan.loader import load_plan
from runner.plan.resolved import ADJUSTABLE, changes, settings

PLAN = """\
version: 1
name: nightly
defaults:
  timeout: 1h
steps:
  - job: crawl
    retries: 1
  - job: train
    success:
      min_documents: 10
"""


def test_a_comment_and_the_layout_change_no_setting(tmp_path: Path) -> None:
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text(PLAN)
    second.write_text("# nightly\n" + PLAN.replace("retries: 1", "retries:   1   # once"))
    assert settings(load_plan(str(first))) == settings(load_plan(str(second)))


def test_every_setting_a_resume_takes_is_one_of_the_plan_or_of_a_step(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(PLAN + "  - name: swap\n    request: {method: POST, path: /api/x}\n")
    resolved = settings(load_plan(str(path)))
    step, call = resolved["steps"]["crawl"], resolved["steps"]["swap"]
    assert set(resolved["plan"]) | set(step) | set(call) >= ADJUSTABLE


def test_each_change_is_named_with_both_values_in_the_plans_words(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(PLAN)
    before = settings(load_plan(str(path)))
    path.write_text(
        PLAN.replace("timeout: 1h", "timeout: 2h30m").replace(
            "min_documents: 10", "min_documents: 5"
        )
    )
    found = changes(before, settings(load_plan(str(path))))
    assert [(change.text, change.adjustable) for change in found] == [
        ("step crawl: timeout 1h -> 2h30m", True),
        ("step train: timeout 1h -> 2h30m", True),
        ("step train: success.min_documents 10 -> 5", False),
    ]


CALLS = """\
version: 1
name: calls
variables:
  HOOK_TOKEN: null
  QUERY: null
steps:
  - name: count
    request:
      path: /api/solr/products/select
      params: {q: "${QUERY}", rows: 0}
  - name: notify
    webhook:
      url: https://hooks.example.com/services/${HOOK_TOKEN}
      headers: {Authorization: "Bearer ${HOOK_TOKEN}"}
      body: {text: "token ${HOOK_TOKEN}"}
"""


def test_what_a_call_sends_is_kept_without_a_value_and_a_change_to_it_is_named_without_one(
    tmp_path: Path,
) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(CALLS)
    before = settings(load_plan(str(path), environ={"HOOK_TOKEN": "s3cr3t-1", "QUERY": "q-1"}))
    after = settings(load_plan(str(path), environ={"HOOK_TOKEN": "s3cr3t-2", "QUERY": "q-2"}))
    kept = json.dumps([before, after])
    assert [secret for secret in ("s3cr3t", "q-1", "q-2") if secret in kept] == []
    assert [(change.text, change.adjustable) for change in changes(before, after)] == [
        ("step count: call.sends changed (its values are not shown)", False),
        ("step notify: call.sends changed (its values are not shown)", False),
    ]
    assert before["steps"]["notify"]["call.sent"] == "hooks.example.com"
    assert before["steps"]["count"]["call.params"] == ["q", "rows"]


def test_repeat_safe_the_fix_a_lost_answer_names_is_taken_by_a_resume(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    swap = (
        "version: 1\nsteps:\n  - name: swap\n    request:\n      method: POST\n"
        "      path: /api/solr/admin/collections\n"
    )
    path.write_text(swap)
    before = settings(load_plan(str(path)))
    path.write_text(swap + "      repeat_safe: true\n")
    found = changes(before, settings(load_plan(str(path))))
    assert [(change.text, change.adjustable) for change in found] == [
        ("step swap: call.repeat_safe false -> true", True)
    ]
