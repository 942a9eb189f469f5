"""`fusion-run PLAN` from the command line, on the built-in emulator and the real clock."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runner.clock import SystemClock
from runner.engine.handlers import HANDLERS
from runner.engine.phases import Phase
from tests.helpers.cli import invoke
from tests.helpers.fakes import FakeClock
from tests.helpers.paths import EXAMPLES, WritePlan
from tests.helpers.process import Lines
from tests.helpers.reports import read_report


def fast(*jobs: str, **states: str) -> str:
    """A scenario where `jobs` (crawl, index and train by default) each take 0.2 s, ending as
    `states` says."""
    return "version: 1\njobs:\n" + "".join(
        f"  {job}:\n    runs: [{{duration: 0.2, state: {states.get(job, 'finished')}, "
        "error: boom}]\n"
        for job in jobs or ("crawl", "index", "train")
    )


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_quiet(write_plan: WritePlan) -> None:
    Path("fast.yaml").write_text(fast("crawl"))
    result = invoke(
        write_plan("version: 1\nsteps: [crawl]\n"), "--emulate", "--scenario", "fast.yaml", "-q"
    )
    assert result.exit_code == 0
    [line] = result.stderr.splitlines()
    assert line.startswith("fusion-run: plan plan succeeded in ")


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_a_fusion_that_never_answers_exits_3_within_its_first_contact(
    write_plan: WritePlan,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    plan = write_plan("version: 1\nfusion:\n  auth: none\n  first_contact: 2s\nsteps: [crawl]\n")
    began = time.monotonic()
    result = invoke(plan, "--url", f"http://127.0.0.1:{port}", clock=SystemClock())
    took = time.monotonic() - began
    assert result.exit_code == 3
    assert took < 4  # the first-contact window, not the 5-minute retry budget
    url = f"http://127.0.0.1:{port}"
    error = f"GET {url}/api/spark/configurations/crawl: cannot connect (Connection refused)"
    lines = result.stderr.splitlines()
    assert lines[1] == f"   0:00 lost contact with Fusion ({error}); trying again"
    assert lines[-1] == (
        f"fusion-run: Fusion at {url} did not answer for 2s (last error: {error}): check that "
        "Fusion is up there, and fusion.url, --url or FUSION_URL (fusion.first_contact sets how "
        "long to try)"
    )
    assert read_report()["error"] == lines[-1].removeprefix("fusion-run: ")


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
    assert not Path("fusion-run-report.json").exists()


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_cancels_active_runs_and_exits_130(
    write_plan: WritePlan, sig: signal.Signals
) -> None:
    Path("slow.yaml").write_text("version: 1\njobs:\n  long:\n    runs: [{duration: 3600}]\n")
    plan = write_plan("version: 1\nsteps: [long, after]\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "runner", plan, "--emulate", "--scenario", "slow.yaml"],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    output = Lines(process.stderr)
    try:
        output.until("started run")
        process.send_signal(sig)
        assert process.wait(timeout=30) == 130
    finally:
        process.kill()
        process.wait()
    rest = output.rest()
    said = " interrupted: cancelling active runs (interrupt again to stop waiting)"
    assert any(line.endswith(said) for line in rest), rest
    data = read_report()
    assert data["outcome"] == "interrupted"
    assert [s["outcome"] for s in data["steps"]] == ["cancelled", "not_run"]
    assert data["steps"][0]["attempts"][0]["state"] == "cancelled"


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


@pytest.mark.slow
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


@pytest.mark.slow
def test_with_no_terminal_a_plan_timeout_does_not_stall_the_next_step(
    write_plan: WritePlan,
) -> None:
    """As in CI: stderr is a pipe, and the plan has a timeout. The second step starts when the
    first ends (it used to start only when the timeout fired, and then be skipped)."""
    Path("s.yaml").write_text(
        "version: 1\njobs:\n  a: {runs: [{duration: 0.5}]}\n  b: {runs: [{duration: 0.5}]}\n"
    )
    plan = write_plan("version: 1\ntimeout: 1m\nsteps: [a, b]\n")
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "runner", plan, "--emulate", "--scenario", "s.yaml"],
        stderr=subprocess.PIPE,
        text=True,
        timeout=90,
        check=False,
    )
    took = time.monotonic() - began
    assert done.returncode == 0, done.stderr
    assert took < 15, f"{took:.1f}s for two half-second jobs"
    assert [s["outcome"] for s in read_report()["steps"]] == ["succeeded", "succeeded"]


@pytest.mark.slow
def test_each_emulator_gives_run_ids_of_its_own(write_plan: WritePlan) -> None:
    """The emulator dies with fusion-run: a resume meets a new one, which must not name its
    runs as the earlier one did (a run id seen twice would be taken for the same run)."""
    plan = write_plan("version: 1\nsteps: [crawl]\n")
    ids = []
    for _ in range(2):
        assert invoke(plan, "--emulate").exit_code == 0
        ids.append(read_report()["steps"][0]["run_id"])
    assert ids[0] != ids[1]


@pytest.mark.slow
def test_a_signal_after_the_verdict_does_not_change_the_exit_code(tmp_path: Path) -> None:
    """SIGTERM while the process shuts down, its report final: the exit code is still the
    verdict's (1 here), not the signal's death (143)."""
    (tmp_path / "s.yaml").write_text(
        "version: 1\njobs:\n  a: {runs: [{duration: 0.2, state: error}]}\n"
    )
    (tmp_path / "plan.yaml").write_text("version: 1\nsteps: [a]\n")
    code = (
        "import atexit, os, signal, sys\n"
        "atexit.register(lambda: os.kill(os.getpid(), signal.SIGTERM))\n"
        "sys.argv = ['fusion-run', 'plan.yaml', '--emulate', '--scenario', 's.yaml', '-q']\n"
        "from runner.cli import entry\n"
        "entry()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert read_report(tmp_path / "fusion-run-report.json")["outcome"] == "failed"


@pytest.mark.slow
def test_the_emulator_is_reached_with_the_plans_timeouts(write_plan: WritePlan) -> None:
    """A rehearsal behaves as the plan will against Fusion: a start that hangs is given up
    after the plan's read_timeout (1 s), not the default 60 s, and its run looked for."""
    Path("s.yaml").write_text(
        "version: 1\njobs:\n"
        "  long: {runs: [{duration: 0.5}], faults: [{on: start, answer: hang}]}\n"
    )
    plan = write_plan("version: 1\nfusion: {read_timeout: 1s}\nsteps: [long]\n")
    began = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "runner", plan, "--emulate", "--scenario", "s.yaml"],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    try:
        Lines(process.stderr).until("no answer within 1s); looking for its run", timeout=20)
        assert time.monotonic() - began < 10  # 1 s, not 60 s, after the process started
        process.send_signal(signal.SIGTERM)
        time.sleep(1)  # two signals at once would be one (POSIX does not queue them)
        process.send_signal(signal.SIGTERM)  # a second: stop looking, the start left open
        assert process.wait(timeout=30) == 130
    finally:
        process.kill()
        process.wait()
