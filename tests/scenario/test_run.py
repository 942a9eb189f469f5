"""`fusion-run PLAN` from the command line, on the built-in emulator and a fake clock
(tests/process/test_run.py runs it on the real clock, in processes of its own)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.engine.handlers import HANDLERS
from runner.engine.phases import Phase
from tests.helpers.cli import invoke
from tests.helpers.fakes import FakeClock
from tests.helpers.paths import EXAMPLES, WritePlan
from tests.helpers.reports import read_report


def fast(*jobs: str, **states: str) -> str:
    """A scenario where `jobs` (crawl, index and train by default) each take 0.2 s, ending as
    `states` says."""
    return "version: 1\njobs:\n" + "".join(
        f"  {job}:\n    runs: [{{duration: 0.2, state: {states.get(job, 'finished')}, "
        "error: boom}]\n"
        for job in jobs or ("crawl", "index", "train")
    )


def test_the_readme_quickstart_runs_on_the_emulator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke(str(EXAMPLES / "quickstart.yaml"), "--emulate")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith(
        "fusion-run: plan quickstart: 3 step(s) against the emulator at http://127.0.0.1:"
    )
    assert lines[-1].startswith("fusion-run: plan quickstart succeeded in ")
    assert lines[-1].endswith(": 3 succeeded. Report: fusion-run-report.json")
    assert read_report()["outcome"] == "succeeded"


def test_a_failing_plan_exits_1_with_its_reasons(write_plan: WritePlan) -> None:
    Path("fast.yaml").write_text(fast(train="error"))
    plan = write_plan("version: 1\nname: nightly\nsteps: [crawl, train, index]\n")
    result = invoke(plan, "--emulate", "--scenario", "fast.yaml", "--report", "out/r.json")
    assert result.exit_code == 1
    data = read_report("out/r.json")
    run_id = data["steps"][1]["run_id"]
    assert f"train failed: run {run_id} ended error: boom" in result.stderr.splitlines()
    assert result.stderr.splitlines()[-1].startswith("fusion-run: plan nightly failed in ")
    assert [s["outcome"] for s in data["steps"]] == ["succeeded", "failed", "skipped"]


def test_quiet(write_plan: WritePlan) -> None:
    Path("fast.yaml").write_text(fast("crawl"))
    result = invoke(
        write_plan("version: 1\nsteps: [crawl]\n"), "--emulate", "--scenario", "fast.yaml", "-q"
    )
    assert result.exit_code == 0
    [line] = result.stderr.splitlines()
    assert line.startswith("fusion-run: plan plan succeeded in ")


def test_max_parallel_flag(write_plan: WritePlan) -> None:
    Path("fast.yaml").write_text(fast())
    plan = write_plan(
        "version: 1\nsteps:\n"
        + "".join(f"  - job: {j}\n    depends_on: []\n" for j in ("crawl", "index", "train"))
    )
    result = invoke(plan, "--emulate", "--scenario", "fast.yaml", "--max-parallel", "1")
    assert result.exit_code == 0
    lines = [line for line in result.stderr.splitlines() if line.startswith("   ")]
    words = [line.split(": ")[1].split()[0] for line in lines]
    events = [word for word in words if word in {"started", "succeeded"}]  # not state changes
    assert events == ["started", "succeeded"] * 3  # one at a time


def test_a_run_waits_on_the_clock_it_is_given(write_plan: WritePlan) -> None:
    """The command and the emulator it starts share the clock the command is given: a run of ten
    minutes is followed to its end in ten minutes of that clock, at once."""
    Path("s.yaml").write_text("version: 1\njobs:\n  crawl: {runs: [{duration: 10m}]}\n")
    clock = FakeClock()
    result = invoke(
        write_plan("version: 1\nsteps: [crawl]\n"), "--emulate", "--scenario", "s.yaml", clock=clock
    )
    assert result.exit_code == 0, result.stderr
    assert 600 <= clock.now < 600 * 1.2  # seen ending at most 10 % late, as each read is
    assert read_report()["steps"][0]["outcome"] == "succeeded"


def test_unknown_jobs_exit_2_before_anything_starts(write_plan: WritePlan) -> None:
    Path("s.yaml").write_text("version: 1\nmissing: [trian, evalute]\n")
    plan = write_plan("version: 1\nsteps:\n  - crawl\n  - trian\n  - evalute\n")
    result = invoke(plan, "--emulate", "--scenario", "s.yaml")
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    url = lines[0].rsplit(" ", 1)[-1]  # the emulator's, on a port of its own
    assert lines[1:3] == [
        f"plan.yaml:4:5: $.steps[1]: job 'trian' has no configuration in Fusion at {url}/api",
        f"plan.yaml:5:5: $.steps[2]: job 'evalute' has no configuration in Fusion at {url}/api",
    ]
    data = read_report()
    assert data["outcome"] == "failed"
    assert data["error"] == "2 job(s) have no configuration in Fusion"
    assert {s["outcome"] for s in data["steps"]} == {"not_run"}


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (
            (),
            {},
            "fusion-run: no Fusion URL: set fusion.url in the plan, FUSION_URL, or --url "
            "(or rehearse on the emulator with --emulate)",
        ),
        (
            ("--url", "https://f.example.com"),
            {},
            "fusion-run: no credentials in the environment: set FUSION_API_KEY, FUSION_TOKEN, or "
            "FUSION_USER and FUSION_PASSWORD (or fusion.auth: none for a Fusion without security)",
        ),
        (
            ("--scenario", "s.yaml"),
            {},
            "fusion-run: --scenario scripts the emulator: use it with --emulate",
        ),
    ],
)
def test_usage_errors_exit_2(
    write_plan: WritePlan, args: tuple[str, ...], env: dict[str, str], message: str
) -> None:
    result = invoke(write_plan("version: 1\nsteps: [crawl]\n"), *args, env=env)
    assert (result.exit_code, result.stderr) == (2, message + "\n")
    written = Path("fusion-run-report.json")  # a refusal before the plan's is the report's
    assert not written.exists() or json.loads(written.read_text())["verdict"]["exit_code"] == 2


def test_an_internal_error_mid_run_is_said_by_every_output(
    write_plan: WritePlan, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug is exit 3: the report and JUnit say it too, never `running` and no file at all."""
    Path("fast.yaml").write_text(fast("crawl"))
    plan = write_plan("version: 1\nsteps: [crawl]\n")

    def follow(*_: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setitem(HANDLERS, Phase.FOLLOW, follow)
    result = invoke(
        plan, "--emulate", "--scenario", "fast.yaml", "--report", "r.json", "--junit", "j.xml"
    )
    assert result.exit_code == 3
    assert result.stderr.splitlines()[-1] == (
        "fusion-run: internal error: RuntimeError: a bug (run again with --traceback for details)"
    )
    data = read_report("r.json")
    assert (data["outcome"], data["error"]) == ("failed", "internal error: RuntimeError")
    junit = Path("j.xml").read_text()
    assert 'message="exit 3: internal error: RuntimeError; step ' in junit
    assert "\ncrawl running</failure>" in junit  # the step it left going, with no reason


def test_a_report_that_cannot_be_written_is_one_line(write_plan: WritePlan) -> None:
    Path("fast.yaml").write_text(fast("crawl"))
    Path("taken").write_text("a file, not a folder")
    result = invoke(
        write_plan("version: 1\nsteps: [crawl]\n"),
        "--emulate",
        "--scenario",
        "fast.yaml",
        "--report",
        "taken/r.json",
    )
    assert (result.exit_code, result.stderr) == (
        2,
        "fusion-run: --report taken/r.json: taken is a file, not a folder: choose another path\n",
    )


def test_each_emulator_gives_run_ids_of_its_own(write_plan: WritePlan) -> None:
    """The emulator dies with fusion-run: a resume meets a new one, which must not name its
    runs as the earlier one did (a run id seen twice would be taken for the same run)."""
    plan = write_plan("version: 1\nsteps: [crawl]\n")
    ids = []
    for _ in range(2):
        assert invoke(plan, "--emulate").exit_code == 0
        ids.append(read_report()["steps"][0]["run_id"])
    assert ids[0] != ids[1]
