"""The GitHub Action's run step (action.yml): `python -m runner.cli.action`.

It runs fusion-run with the action's inputs, which reach it through the environment
(`FUSION_RUN_PLAN`, `FUSION_RUN_URL`, `FUSION_RUN_REPORT`, `FUSION_RUN_JUNIT`, `FUSION_RUN_ARGS`),
as a child process that gets the signals this one gets (a cancelled workflow's reaches it). Then
it appends the action's outputs to `$GITHUB_OUTPUT` and exits as fusion-run did:

- `exit-code`: fusion-run's exit code;
- `outcome`: the plan's outcome as the report of this run says it (`failed` for a plan refused
  before anything ran), `not_run` when the run wrote no report (`--validate`, `--check`);
- `failed-steps`: the steps that failed, timed out, were cancelled or were left running and were
  not allowed to fail, as a JSON array of their names (`[]` for none);
- `summary`: the run's last console line (`fusion-run: plan nightly failed in 10s: ...`), or what
  fusion-run exited with when it wrote no report.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from runner.report.console import closing_line
from runner.result import PlanResult

DEFAULT_REPORT = "fusion-run-report.json"
_FAILED = ("failed", "timed_out", "cancelled", "running")


def command(environ: Mapping[str, str]) -> list[str]:
    """fusion-run's command line, one argument per input; `FUSION_RUN_ARGS` split as a POSIX
    shell would."""
    given = environ.get
    argv = [sys.executable, "-m", "runner", given("FUSION_RUN_PLAN", "")]
    if given("FUSION_RUN_REPORT"):
        argv += ["--report", given("FUSION_RUN_REPORT", "")]
    if given("FUSION_RUN_URL"):
        argv += ["--url", given("FUSION_RUN_URL", "")]
    if given("FUSION_RUN_JUNIT"):
        argv += ["--junit", given("FUSION_RUN_JUNIT", "")]
    return argv + shlex.split(given("FUSION_RUN_ARGS", ""))


def outputs(code: int, report_path: str, since: float) -> dict[str, str]:
    """The action's outputs for a run that exited `code`, from its report at `report_path` if
    that was written at `since` or later (an older one is another run's)."""
    path = Path(report_path)
    try:
        fresh = path.stat().st_mtime >= since
        report: dict[str, Any] | None = json.loads(path.read_text("utf-8")) if fresh else None
    except (OSError, ValueError):
        report = None
    if report is None:
        return {
            "exit-code": str(code),
            "outcome": "not_run",
            "failed-steps": "[]",
            "summary": f"fusion-run exited {code} and wrote no report {report_path}",
        }
    failed = [
        step["name"]
        for step in report["steps"]
        if step["outcome"] in _FAILED and not step["allow_failure"]
    ]
    return {
        "exit-code": str(code),
        "outcome": report["outcome"],
        "failed-steps": json.dumps(failed, ensure_ascii=False),
        "summary": closing_line(PlanResult.from_dict(report), report_path),
    }


def main() -> int:
    environ = os.environ
    since = time.time() - 1  # a file system's times may be coarser than ours
    # A session of its own: a signal sent to this step's process group reaches fusion-run once,
    # forwarded, not twice (a second interrupt would stop its wait for the cancels).
    child = subprocess.Popen(command(environ), start_new_session=True)
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda signum, _: child.send_signal(signum))
    code = child.wait()
    code = 128 - code if code < 0 else code  # killed by a signal, as a shell says it
    found = outputs(code, environ.get("FUSION_RUN_REPORT") or DEFAULT_REPORT, since)
    written = environ.get("GITHUB_OUTPUT")
    if written:
        with Path(written).open("a", encoding="utf-8") as stream:
            stream.writelines(f"{name}={value}\n" for name, value in found.items())
    return code


if __name__ == "__main__":
    sys.exit(main())
