"""`require:` steps end to end: `fusion-run --emulate SCENARIO plan.yaml` rehearses a gate that
passes and one that fails, and every output says "checked", not "started", for them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers.cli import invoke
from tests.helpers.paths import WritePlan

PLAN = """\
version: 1
name: nightly
steps:
  - name: fresh
    require: {job: signals, succeeded_within: 26h}
  - job: publish
  - name: stale
    require: {job: datasource:crawl, succeeded_within: 2h}
    depends_on: []
"""
SCENARIO = """\
version: 1
jobs:
  signals:
    history: [{state: finished, ended_ago: 3h}, {state: error, ended_ago: 1h}]
  datasource:crawl:
    type: datasource
    history: [{state: success, ended_ago: 5h, duration: 10m}]
"""


def test_the_emulator_rehearses_a_passing_and_a_failing_gate(
    write_plan: WritePlan, tmp_path: Path
) -> None:
    Path("s.yaml").write_text(SCENARIO)
    summary = tmp_path / "summary.md"
    result = invoke(
        write_plan(PLAN),
        *("--emulate", "--scenario", "s.yaml", "--junit", "j.xml", "--report", "r.json"),
        env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert result.exit_code == 1, result.stderr
    report = json.loads(Path("r.json").read_text())
    fresh, _, stale = report["steps"]
    assert [s["outcome"] for s in report["steps"]] == ["succeeded", "succeeded", "failed"]
    assert (fresh["attempts"], stale["attempts"]) == ([], [])
    found, old = fresh["gate"]["run_id"], stale["gate"]["run_id"]
    assert (fresh["gate"]["state"], stale["gate"]["state"]) == ("finished", "success")
    checked_at = fresh["gate"]["checked_at"]
    reason = (
        f"no run of job datasource:crawl ended success in the last 2h: the newest that did, run "
        f"{old} (success), ended {stale['gate']['ended_at']}, 5h ago"
    )
    assert stale["reason"] == reason
    lines = result.stderr.splitlines()
    assert (
        f"   0:00 fresh: checked job signals, started nothing: run {found} ended finished 3h ago, "
        "within 1d2h"
    ) in lines
    assert "   0:00 stale: checked job datasource:crawl, started nothing" in lines
    assert f"   0:00 stale: failed: {reason}" in lines
    assert not [line for line in lines if "fresh: start" in line or "stale: start" in line]
    table = [line.split()[:6] for line in lines if line.startswith(("fresh  ", "stale  "))]
    assert table == [
        ["fresh", "succeeded", "-", "-", "checked", found],
        ["stale", "failed", "-", "-", "checked", old],
    ]
    junit = Path("j.xml").read_text()
    assert (
        f"checked, started nothing: run {found} finished, ended {fresh['gate']['ended_at']} "
        "(within 1d2h)</system-out>"
    ) in junit
    markdown = summary.read_text()
    assert f"| fresh | ✅ succeeded | - | checked `{found}` | - |  |" in markdown
    assert f"| stale | ❌ failed | - | checked `{old}` | - | {reason} |" in markdown
    assert checked_at is not None


def test_dry_run_and_graph_say_a_gate_is_checked(write_plan: WritePlan) -> None:
    plan = write_plan(PLAN)
    dry = invoke(plan, "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    assert dry.stdout.split("steps:\n", 1)[1] == (
        "  fresh (checks job signals, starts nothing)\n"
        "    waits for: nothing\n"
        "    success: a run ended in a state in [finished, skipped] within 1d2h before the check\n"
        "  publish\n"
        "    waits for: fresh, the step listed before it; runs if all succeed\n"
        "    timeout 2h; polls at most 10s apart; retries 0\n"
        "    success: state in [finished, skipped]\n"
        "    on_running wait: a run of its job already going is waited for, then the step starts "
        "its own\n"
        "  stale (checks job datasource:crawl, starts nothing)\n"
        "    waits for: nothing\n"
        "    success: a run ended in a state in [success] within 2h before the check\n"
        "\n"
        "start order, if every step succeeds:\n"
        "  1. fresh (checked), stale (checked)\n"
        "  2. publish\n"
    )
    mermaid = invoke(plan, "--graph", "mermaid").stdout
    assert '  s0["fresh<br/>checks signals"]' in mermaid
    assert '  s2["stale<br/>checks datasource:crawl"]' in mermaid
    dot = invoke(plan, "--graph", "dot").stdout
    assert '"fresh" [label="fresh\\nchecks signals"];' in dot


def test_check_says_a_gate_is_checked_when_due_and_never_started(write_plan: WritePlan) -> None:
    Path("s.yaml").write_text(SCENARIO)
    result = invoke(write_plan(PLAN), "--check", "--emulate", "--scenario", "s.yaml")
    assert result.exit_code == 0, result.stderr
    lines = (result.stdout + result.stderr).splitlines()
    assert (
        "fresh (signals): exists; checked when due, never started: needs a run ended finished or "
        "skipped within 1d2h"
    ) in lines
    assert (
        "stale (datasource:crawl): exists; checked when due, never started: needs a run ended "
        "success within 2h"
    ) in lines
