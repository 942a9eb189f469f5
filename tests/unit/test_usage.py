"""No silent surprises: options that mean nothing together, a --var the plan never uses, outputs
that would overwrite an input and scenario jobs of no step are refused, in one line, exit 2."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.report.journal import write_atomically, write_text_atomically
from tests.helpers.cli import invoke
from tests.helpers.paths import EXAMPLES, WritePlan

PLAN = "version: 1\nsteps: [crawl, train]\n"
REFUSED = [
    (
        ("--dry-run", "--resume", "r.json"),
        "--resume does nothing with --dry-run: use it with a run",
    ),
    (("--validate", "--junit", "j.xml"), "--junit does nothing with --validate: use it with a run"),
    (("-q", "-v"), "--quiet and --verbose contradict each other: choose one"),
    (
        ("-q", "--heartbeat", "1m"),
        "--quiet and --heartbeat contradict each other: --quiet prints no heartbeat; choose one",
    ),
    (
        ("--emulate", "--url", "http://f"),
        "--url does nothing with --emulate: the emulator has its own URL",
    ),
    (
        ("--graph", "dot", "--format", "json"),
        "--format does nothing with --graph: use it with --validate, --dry-run or --check",
    ),
    (
        ("--format", "text"),
        "--format does nothing with a run: use it with --validate, --dry-run or --check",
    ),
    (
        ("--validate", "--url", "http://f"),
        "--url does nothing with --validate: use it with a run, --check or --dry-run",
    ),
    (
        ("--graph", "dot", "--url", "http://f"),
        "--url does nothing with --graph: use it with a run, --check or --dry-run",
    ),
    (
        ("--dry-run", "--report", "r.json"),
        "--report does nothing with --dry-run: use it with a run or --graph",
    ),
    (
        ("--validate", "--report", "r.json"),
        "--report does nothing with --validate: use it with a run or --graph",
    ),
    (
        ("--validate", "--max-parallel", "2"),
        "--max-parallel does nothing with --validate: use it with a run, --dry-run or --graph",
    ),
    (("--dry-run", "--junit", "j.xml"), "--junit does nothing with --dry-run: use it with a run"),
    (("--validate", "-q"), "--quiet does nothing with --validate: use it with a run or --check"),
    (
        ("--graph", "mermaid", "-v"),
        "--verbose does nothing with --graph: use it with a run or --check",
    ),
    (
        ("--dry-run", "--emulate"),
        "--emulate does nothing with --dry-run: use it with a run or --check",
    ),
    (
        ("--validate", "--scenario", "s.yaml"),
        "--scenario does nothing with --validate: use it with a run or --check",
    ),
    (
        ("--graph", "dot", "--resume", "r.json"),
        "--resume does nothing with --graph: use it with a run",
    ),
    (("--dry-run", "--force"), "--force does nothing with --dry-run: use it with a run"),
    (("--validate", "--detach"), "--detach does nothing with --validate: use it with a run"),
    (("--check", "--junit", "j.xml"), "--junit does nothing with --check: use it with a run"),
    (
        ("--check", "--report", "r.json"),
        "--report does nothing with --check: use it with a run or --graph",
    ),
    (("--check", "--resume", "r.json"), "--resume does nothing with --check: use it with a run"),
    (
        ("--check", "--max-parallel", "1"),
        "--max-parallel does nothing with --check: use it with a run, --dry-run or --graph",
    ),
    (("--check", "--detach"), "--detach does nothing with --check: use it with a run"),
    (
        ("--check", "--emulate", "--url", "http://f"),
        "--url does nothing with --emulate: the emulator has its own URL",
    ),
    (("--check", "--scenario", "s.yaml"), "--scenario scripts the emulator: use it with --emulate"),
    (
        ("--validate", "--select", "a"),
        "--select does nothing with --validate: use it with a run, --check, --dry-run or --graph",
    ),
    (
        ("--validate", "--from", "a"),
        "--from does nothing with --validate: use it with a run, --check, --dry-run or --graph",
    ),
    (
        ("--graph", "gantt", "--report", "r.json", "--select", "a"),
        "--select does nothing with --graph gantt, which draws the runs a report holds: use it "
        "with --graph mermaid or dot",
    ),
    (
        ("--graph", "gantt", "--report", "r.json", "--max-parallel", "2"),
        "--max-parallel does nothing with --graph gantt, which draws the runs a report holds: "
        "use it with --graph mermaid or dot",
    ),
    (("--force",), "--force goes with --resume"),
    (("--scenario", "s.yaml"), "--scenario scripts the emulator: use it with --emulate"),
]


@pytest.mark.parametrize(("args", "message"), REFUSED, ids=lambda v: " ".join(v)[:40])
def test_options_that_mean_nothing_together_are_refused(
    write_plan: WritePlan, args: tuple[str, ...], message: str
) -> None:
    result = invoke(write_plan(PLAN), *args)
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"fusion-run: {message}\n")
    assert not Path("fusion-run-report.json").exists()


@pytest.mark.parametrize(
    ("heartbeat", "given"), [(0.0, True), (300.0, False)], ids=["heartbeat-0", "default"]
)
def test_quiet_goes_with_no_heartbeat(heartbeat: float, given: bool) -> None:
    """--quiet prints no heartbeat: only a --heartbeat that asks for some contradicts it."""
    from runner.cli.usage import check_options  # noqa: PLC0415
    from runner.commands.options import Action, Options  # noqa: PLC0415

    options = Options(
        plans=("plan.yaml",),
        action=Action.RUN,
        quiet=True,
        heartbeat=heartbeat,
        heartbeat_given=given,
    )
    check_options(options)  # no UsageError


def test_several_plans_go_only_to_validate(write_plan: WritePlan) -> None:
    plan = write_plan(PLAN)
    result = invoke(plan, plan, "--graph", "dot")
    assert (result.exit_code, result.stderr) == (2, "fusion-run: give one plan to graph, not 2\n")


# --- --var ----------------------------------------------------------------------------------------

VARIABLES = (
    "version: 1\nvariables: {SITE: null, RETRIES: 1}\n"
    "steps:\n  - job: crawl-${SITE}\n    retries: ${RETRIES}\n"
)


@pytest.mark.parametrize(
    ("plan", "args", "message"),
    [
        (
            VARIABLES,
            ("--dry-run", "--var", "SITE=docs", "--var", "SITEE=shop"),
            "--var SITEE: the plan does not declare SITEE under variables: (did you mean SITE?); "
            "it declares RETRIES, SITE",
        ),
        (
            VARIABLES,
            ("--var", "SITE=docs", "--var", "TIMEOUT=1h"),
            "--var TIMEOUT: the plan does not declare TIMEOUT under variables:; "
            "it declares RETRIES, SITE",
        ),
        (
            PLAN,
            ("--graph", "dot", "--var", "SITE=x"),
            "--var SITE: the plan does not declare SITE under variables:; it declares no variables",
        ),
        (
            PLAN,
            ("--validate", "--var", "SITE=x"),
            "--var SITE: the plan does not declare SITE under variables:; it declares no variables",
        ),
    ],
    ids=["did-you-mean", "no-near-name", "graph", "validate"],
)
def test_a_var_the_plan_does_not_declare_is_refused(
    write_plan: WritePlan, plan: str, args: tuple[str, ...], message: str
) -> None:
    result = invoke(write_plan(plan), *args)
    validated = "plan.yaml: valid, 2 step(s)\n" if "--validate" in args else ""
    assert (result.exit_code, result.stderr) == (2, f"{validated}fusion-run: {message}\n")
    written = Path("fusion-run-report.json")  # only a run writes a report, refused too
    assert written.exists() is not bool({"--graph", "--validate", "--dry-run"} & set(args))


def test_a_var_given_twice_with_two_values_is_refused(write_plan: WritePlan) -> None:
    plan = write_plan(VARIABLES)
    result = invoke(plan, "--dry-run", "--var", "SITE=docs", "--var", "SITE=shop")
    assert (result.exit_code, result.stderr) == (
        2,
        "fusion-run: --var SITE is given twice: give it once\n",
    )
    assert invoke(plan, "--dry-run", "--var", "SITE=docs", "--var", "SITE=docs").exit_code == 0


def test_a_var_used_by_one_of_several_plans_validates(write_plan: WritePlan) -> None:
    Path("other.yaml").write_text("version: 1\nsteps: [crawl]\n")
    plans = (write_plan(VARIABLES), "other.yaml")
    assert invoke(*plans, "--validate", "--var", "SITE=x").exit_code == 0
    result = invoke(*plans, "--validate", "--var", "SITE=x", "--var", "RETRIE=3")
    assert result.exit_code == 2
    assert result.stderr == (
        "plan.yaml: valid, 1 step(s)\nother.yaml: valid, 1 step(s)\n"
        "fusion-run: --var RETRIE: none of the plans declares RETRIE under variables: "
        "(did you mean RETRIES?); they declare RETRIES, SITE\n"
    )


def test_a_var_the_plan_declares_but_never_uses_is_taken(write_plan: WritePlan) -> None:
    plan = write_plan(
        "version: 1\nvariables: {A: null, C: null}\nsteps:\n  - job: a-${A:-x}\n    name: $${B}\n"
    )
    assert invoke(plan, "--dry-run", "--var", "A=y", "--var", "C=z").exit_code == 0
    result = invoke(plan, "--dry-run", "--var", "B=y")
    assert result.stderr == (
        "fusion-run: --var B: the plan does not declare B under variables:; it declares A, C\n"
    )


# --- outputs that would overwrite an input --------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--report", "plan.yaml"),
            "--report plan.yaml is the plan: writing there would "
            "overwrite the plan; choose another path",
        ),
        (
            ("--report", "./sub/../plan.yaml"),
            "--report ./sub/../plan.yaml is the plan: writing "
            "there would overwrite the plan; choose another path",
        ),
        (
            ("--junit", "link.yaml"),
            "--junit link.yaml is the plan: writing there would overwrite "
            "the plan; choose another path",
        ),
        (
            ("--emulate", "--scenario", "s.yaml", "--report", "s.yaml"),
            "--report s.yaml is the "
            "--scenario file: writing there would overwrite the scenario; choose another path",
        ),
        (
            ("--emulate", "--scenario", "s.yaml", "--junit", "s.yaml"),
            "--junit s.yaml is the "
            "--scenario file: writing there would overwrite the scenario; choose another path",
        ),
        (
            ("--junit", "fusion-run-report.json"),
            "--junit fusion-run-report.json is the --report "
            "file: writing there would overwrite the report; choose another path",
        ),
        (
            ("--report", "r.json", "--junit", "r.json"),
            "--junit r.json is the --report file: "
            "writing there would overwrite the report; choose another path",
        ),
        (
            ("--resume", "old.json", "--junit", "old.json"),
            "--junit old.json is the --resume "
            "report: writing there would overwrite the report it resumes from; choose another path",
        ),
    ],
    ids=[
        "report-plan",
        "report-plan-spelt-otherwise",
        "junit-plan-by-link",
        "report-scenario",
        "junit-scenario",
        "junit-default-report",
        "junit-report",
        "junit-resume",
    ],
)
def test_an_output_that_would_overwrite_an_input_is_refused(
    write_plan: WritePlan, args: tuple[str, ...], message: str
) -> None:
    plan = write_plan(PLAN)
    Path("sub").mkdir()
    Path("link.yaml").symlink_to("plan.yaml")
    Path("s.yaml").write_text("version: 1\n")
    result = invoke(plan, *args)
    assert (result.exit_code, result.stderr) == (2, f"fusion-run: {message}\n")
    assert Path("plan.yaml").read_text() == PLAN
    assert Path("s.yaml").read_text() == "version: 1\n"


@pytest.mark.parametrize(
    ("summary", "args", "spoils"),
    [
        ("plan.yaml", (), "the plan"),
        (
            "s.yaml",
            ("--emulate", "--scenario", "s.yaml"),
            "the --scenario file: the summary appended there would spoil the scenario",
        ),
        (
            "fusion-run-report.json",
            (),
            "the --report file: the summary appended there would spoil the report",
        ),
        (
            "j.xml",
            ("--junit", "j.xml"),
            "the --junit file: the summary appended there would spoil the JUnit file",
        ),
        (
            "old.json",
            ("--resume", "old.json"),
            "the --resume report: the summary appended there "
            "would spoil the report it resumes from",
        ),
    ],
    ids=["plan", "scenario", "report", "junit", "resume"],
)
def test_a_github_step_summary_that_is_an_input_or_output_is_refused(
    write_plan: WritePlan, summary: str, args: tuple[str, ...], spoils: str
) -> None:
    plan = write_plan(PLAN)
    Path("s.yaml").write_text("version: 1\n")
    environ = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": summary}
    result = invoke(plan, *args, env=environ)
    if spoils == "the plan":
        spoils = "the plan: the summary appended there would spoil the plan"
    assert (result.exit_code, result.stderr) == (
        2,
        f"fusion-run: GITHUB_STEP_SUMMARY {summary} is {spoils}; point it at another file\n",
    )
    assert Path("plan.yaml").read_text() == PLAN
    assert Path("s.yaml").read_text() == "version: 1\n"
    elsewhere = invoke(plan, *args, env={"GITHUB_STEP_SUMMARY": summary})  # not written there
    assert "GITHUB_STEP_SUMMARY" not in elsewhere.stderr


@pytest.mark.parametrize(
    ("summary", "message"),
    [
        ("adir", "adir: it is a folder: name a file in it"),
        ("afile/s.md", "afile/s.md: afile is a file, not a folder: choose another path"),
    ],
)
def test_a_github_step_summary_that_can_never_be_a_file_is_refused_before_the_run(
    write_plan: WritePlan, summary: str, message: str
) -> None:
    plan = write_plan(PLAN)
    Path("adir").mkdir()
    Path("afile").write_text("kept\n")
    environ = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": summary}
    result = invoke(plan, "--emulate", env=environ)
    assert (result.exit_code, result.stderr) == (2, f"fusion-run: GITHUB_STEP_SUMMARY {message}\n")
    assert not Path("fusion-run-report.json").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--report", "afile/r.json"), "--report afile/r.json: afile is a file, not a folder"),
        (("--junit", "afile/x/j.xml"), "--junit afile/x/j.xml: afile is a file, not a folder"),
        (("--report", "adir"), "--report adir: it is a folder: name a file in it"),
        (("--junit", "adir/"), "--junit adir/: it is a folder: name a file in it"),
        (
            ("--report", "/dev/null"),
            "--report /dev/null: it is not a regular file (a device, a pipe or a socket): name a "
            "file",
        ),
        (
            ("--junit", "link"),
            "--junit link: it is a symbolic link, which writing would replace: name the file "
            "itself",
        ),
        (
            ("--report", "loop"),
            "--report loop: it is a symbolic link, which writing would replace: name the file "
            "itself",
        ),
    ],
    ids=[
        "report-through-a-file",
        "junit-through-a-file",
        "report-a-folder",
        "junit-a-folder",
        "report-a-device",
        "junit-a-symlink",
        "report-a-symlink-loop",
    ],
)
def test_an_output_that_can_never_be_a_file_is_refused_before_the_run(
    write_plan: WritePlan, args: tuple[str, ...], message: str
) -> None:
    plan = write_plan(PLAN)
    Path("afile").write_text("kept\n")
    Path("adir").mkdir()
    Path("link").symlink_to("afile")
    Path("loop").symlink_to("loop2")
    Path("loop2").symlink_to("loop")
    result = invoke(plan, "--emulate", *args)
    fix = ": choose another path" if "not a folder" in message else ""
    assert (result.exit_code, result.stderr) == (2, f"fusion-run: {message}{fix}\n")
    assert Path("afile").read_text() == "kept\n"
    assert not Path("fusion-run-report.json").exists()  # nothing ran


@pytest.fixture
def umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.usefixtures("umask")
@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_outputs_honour_the_umask(tmp_path: Path, mask: int, mode: int) -> None:
    os.umask(mask)
    write_atomically(str(tmp_path / "r.json"), {"a": 1})
    write_text_atomically(str(tmp_path / "j.xml"), "<x/>")
    for name in ("r.json", "j.xml"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode
    assert os.umask(mask) == mask  # reading the umask left it as it was


# --- a scenario for the plan ----------------------------------------------------------------------


def test_a_scenario_job_of_no_step_is_refused_with_the_nearest_job(write_plan: WritePlan) -> None:
    Path("s.yaml").write_text(
        "version: 1\njobs:\n  crawl: {}\n  spark:train: {}\n  trian:\n    runs: [{state: error}]\n"
        "missing: [crawl, datasource:web]\n"
    )
    result = invoke(write_plan(PLAN), "--emulate", "--scenario", "s.yaml")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        "s.yaml:5:3: $.jobs.trian: job 'trian' is the job of no step in the plan "
        "(did you mean 'train'?)\n"
        "s.yaml:7:18: $.missing[1]: job 'datasource:web' is the job of no step in the plan\n"
    )
    assert json.loads(Path("fusion-run-report.json").read_text())["verdict"]["exit_code"] == 2


def test_the_example_scenarios_fit_the_example_plans() -> None:
    from runner.emulator.scenario import load_scenario  # noqa: PLC0415
    from runner.plan.loader import load_plan  # noqa: PLC0415

    for plan, scenario in [
        ("nightly-recommendations.yaml", "nightly-failures.yaml"),
        ("catalog-refresh.yaml", "catalog-crawl-errors.yaml"),
        ("quickstart.yaml", "flaky-gateway.yaml"),
        ("quickstart.yaml", "quickstart.yaml"),
    ]:
        jobs = [step.job for step in load_plan(str(EXAMPLES / plan)).steps]
        load_scenario(str(EXAMPLES / "scenarios" / scenario), jobs=jobs)
