"""The HTML report (`runner.report.html`): a page that fetches nothing and runs nothing but its own
script, shows what the report holds as text, and is written by `--html` and `fusion-run report`.
tests/process/test_html_browser.py opens it in a real browser."""

from __future__ import annotations

import base64
import errno
import hashlib
import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from runner import cli
from runner.cli.report import command
from runner.commands.options import Action, Options
from runner.emulator.scenario import RunScript
from runner.report import html as page
from runner.report.html import HtmlFile, render
from runner.report.journal import read_report
from runner.report.svg import GRAPH_LIMIT, LABEL_WIDTH, PLOT_WIDTH
from runner.report.timeline import timeline
from tests.helpers.cli import invoke
from tests.helpers.engine import jobs, run, runs
from tests.helpers.fakes import step
from tests.helpers.html_reports import (
    HOSTILE_LINES,
    HOSTILE_NAME,
    IMAGE,
    RTL,
    SCRIPT,
    hostile_report,
    wide_report,
)
from tests.helpers.paths import ROOT, WritePlan

FAILING = RunScript(duration=3, state="error", error="java.lang.OutOfMemoryError: Java heap space")


class Parsed(HTMLParser):
    """Every tag with its attributes, and the text of each <style> and <script>."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.inline: dict[str, list[str]] = {"style": [], "script": []}
        self.text: list[str] = []
        self._in: str | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in self.inline:
            self._in = tag
            self.inline[tag].append("")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in is not None:
            self.inline[self._in][-1] += data
        else:
            self.text.append(data)


def failed_report() -> dict[str, Any]:
    return run([step("a"), step("b", "a"), step("c", "a")], jobs(c=runs(FAILING))).report


def test_the_page_names_no_url_and_fetches_nothing() -> None:
    for report in (failed_report(), hostile_report()):
        text = render(report)
        parsed = Parsed(text)
        for tag, attributes in parsed.tags:
            for name in ("src", "href", "xlink:href", "action", "srcset", "poster", "data"):
                value = attributes.get(name)
                assert value is None or value.startswith("#"), (tag, name, value)
            assert tag not in ("link", "iframe", "object", "embed", "img", "base", "image")
        style = "".join(parsed.inline["style"])
        assert "@import" not in style
        assert "@font-face" not in style
        assert re.findall(r"url\(([^)]*)\)", style) == ["#timeline-hatch"]
        named = set(re.findall(r"[a-z]+://[^\s\"'<)]*", text))
        assert named == {"http://www.w3.org/2000/svg", report["fusion"]["url"] + "/api"}


def test_the_content_security_policy_allows_the_pages_own_style_and_script_only() -> None:
    parsed = Parsed(render(failed_report()))
    [policy] = [
        a["content"]
        for tag, a in parsed.tags
        if tag == "meta" and a.get("http-equiv") == "Content-Security-Policy"
    ]
    assert policy is not None

    def digest(text: str) -> str:
        return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()

    [style], [script] = parsed.inline["style"], parsed.inline["script"]
    assert policy == (
        f"default-src 'none'; style-src 'sha256-{digest(style)}'; "
        f"script-src 'sha256-{digest(script)}'; base-uri 'none'; form-action 'none'"
    )
    assert not [a for _, a in parsed.tags if "style" in a], "an inline style the policy refuses"
    assert not [a for _, a in parsed.tags if any(k.startswith("on") for k in a)]


def test_what_fusion_says_is_text_never_markup() -> None:
    report = hostile_report()
    text = render(report)
    parsed = Parsed(text)
    assert [tag for tag, _ in parsed.tags].count("script") == 1  # the page's own
    assert [tag for tag, _ in parsed.tags].count("img") == 0
    assert not [a for tag, a in parsed.tags if tag == "svg" and "onload" in a]
    words = "".join(parsed.text)
    kept = report["steps"][1]["attempts"][0]["evidence"]["driver_log"]
    assert kept[:-1] == list(HOSTILE_LINES[:-1])
    for line in kept:  # the long one as the report keeps it: cut short
        assert line.replace("\u202e", "") in words
    assert RTL not in text  # the override is gone: it would reorder what follows it
    assert HOSTILE_NAME in words
    assert f"error: {SCRIPT}" in words
    assert IMAGE in words


def test_every_step_its_evidence_and_the_verdict_are_on_the_page() -> None:
    report = failed_report()
    words = " ".join(Parsed(render(report)).text)
    assert "fusion-run: plan test failed in " in words
    assert "exit 1: step 'c' failed" in words
    for entry in report["steps"]:
        assert entry["name"] in words
        assert entry["run_id"] in words
    c = report["steps"][2]
    assert f"attempt 1: driver log of run {c['run_id']} (last 8 lines)" in words
    for line in c["attempts"][0]["evidence"]["driver_log"]:
        assert line in words


def test_a_succeeded_plan_says_exit_0() -> None:
    report = run([step("a")]).report
    words = Parsed(render(report)).text
    assert "exit 0" in words
    assert "fusion-run: plan test succeeded in 2s" in words


def test_the_page_says_how_the_run_exited_as_junit_does_not_as_it_would_guess() -> None:
    """A step skipped by its own run_if fails nothing; the report alone cannot tell that from a
    skip that fails the plan, so the page says the verdict the run kept."""
    done = run([step("a"), step("notify", "a", run_if="at_least_one_failed")])
    assert done.report["verdict"] == {"exit_code": 0, "why": None}
    words = Parsed(render(done.report)).text
    assert "exit 0" in words
    failed = failed_report()
    assert failed["verdict"]["why"] in Parsed(render(failed)).text
    assert failed["verdict"] == {"exit_code": 1, "why": "exit 1: step 'c' failed"}


def test_a_report_that_does_not_keep_the_verdict_says_so(tmp_path: Path) -> None:
    earlier = read_report(str(ROOT / "tests" / "fixtures" / "report-4" / "run-if.json"), "report")
    assert earlier["verdict"] is None
    words = Parsed(render(earlier)).text
    assert (
        "how fusion-run exited is not in this report (reports before format 5 do not keep it)"
        in words
    )
    going = {**earlier, "outcome": "running"}
    assert "the plan had not ended when this report was written" in Parsed(render(going)).text


def test_the_graph_draws_each_dependency_and_beyond_its_limit_lists_them() -> None:
    report = failed_report()
    text = render(report)
    assert text.count('<path class="edge"') == 2
    assert text.count('<g class="node"') == 3
    wide = wide_report(GRAPH_LIMIT + 1)
    words = "".join(Parsed(render(wide)).text)
    assert '<g class="node"' not in render(wide)
    assert "step-010 waits for step-000" in words
    assert "step-000 waits for nothing" in words


def test_each_timeline_bar_is_placed_by_its_seconds() -> None:
    report = wide_report(40)
    drawn = timeline(report)
    text = render(report)
    scale = PLOT_WIDTH / drawn.span
    bars = re.findall(
        r'<rect class="bar (\w+) [^"]*" data-step="([^"]*)" data-kind="\w+" data-attempt="\d+" '
        r'data-start="([\d.]+)" data-end="([\d.]+)" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"',
        text,
    )
    assert len(bars) == len(drawn.bars) == 40
    for (kind, name, start, end, x, width), bar in zip(bars, drawn.bars, strict=True):
        assert (kind, name) == (bar.kind, bar.step)
        assert float(x) == pytest.approx(LABEL_WIDTH + bar.start * scale, abs=0.01)
        assert float(width) == pytest.approx(max((bar.end - bar.start) * scale, 1), abs=0.01)
        assert (float(start), float(end)) == pytest.approx((bar.start, bar.end), abs=0.001)


def test_a_bar_says_its_exact_times() -> None:
    text = render(run([step("a")]).report)
    assert (
        "<title>a: attempt 1 succeeded in 2s, +0.000s (2026-01-01T00:00:00.000Z) to +2.000s" in text
    )


def test_an_older_report_renders_once_read(tmp_path: Path) -> None:
    fixtures = Path(__file__).parents[1] / "fixtures"
    for path in sorted([*fixtures.glob("report-2/*.json"), *fixtures.glob("report-3/*.json")]):
        report = read_report(str(path), "report")
        words = " ".join(Parsed(render(report)).text)
        for entry in report["steps"]:
            assert entry["name"] in words, path


# --- `--html` on a run ---------------------------------------------------------------------------


def test_a_run_writes_the_page_at_its_end(write_plan: WritePlan) -> None:
    plan = write_plan("version: 1\nsteps:\n  - a\n  - b\n")
    result = invoke(plan, "--emulate", "--html", "out/page.html")
    assert result.exit_code == 0, result.stderr
    report = json.loads(Path("fusion-run-report.json").read_text())
    assert Path("out/page.html").read_text() == render(report)


def test_an_interrupted_run_writes_its_page(tmp_path: Path) -> None:
    result = run(
        [step("a"), step("b", "a")],
        jobs(a=runs(RunScript(duration=30))),
        interrupts=lambda now: int(now >= 1),
    )
    HtmlFile(str(tmp_path / "page.html"), warn=pytest.fail).finish(result.engine.result)
    words = " ".join(Parsed((tmp_path / "page.html").read_text()).text)
    assert "fusion-run: plan test interrupted in " in words
    assert "exit 130: fusion-run was interrupted; step 'a' was cancelled" in words


def test_a_page_not_written_is_a_warning_and_the_verdict_stands(
    write_plan: WritePlan, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(path: str, text: str) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(page, "write_text_atomically", full)
    plan = write_plan("version: 1\nsteps:\n  - a\n")
    result = invoke(plan, "--emulate", "--html", "page.html")
    assert result.exit_code == 0
    assert "fusion-run: cannot write the HTML report page.html: No space left on device" in (
        result.stderr.splitlines()
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--validate"], "fusion-run: --html does nothing with --validate: use it with a run"),
        (
            ["--check", "--emulate"],
            "fusion-run: --html does nothing with --check: use it with a run",
        ),
        (
            ["--emulate", "--report", "r.json", "--html", "r.json"],
            "fusion-run: --html r.json is the --report file: writing there would overwrite the "
            "report; choose another path",
        ),
        (
            ["--emulate", "--junit", "j.xml", "--html", "j.xml"],
            "fusion-run: --html j.xml is the --junit file: writing there would overwrite the "
            "JUnit file; choose another path",
        ),
        (
            ["--emulate", "--html", "plan.yaml"],
            "fusion-run: --html plan.yaml is the plan: writing there would overwrite the plan; "
            "choose another path",
        ),
        (
            ["--emulate", "--html", "."],
            "fusion-run: --html .: it is a folder: name a file in it",
        ),
    ],
)
def test_html_options_that_mean_nothing_are_refused(
    write_plan: WritePlan, args: list[str], message: str
) -> None:
    plan = write_plan("version: 1\nsteps:\n  - a\n")
    args = args if "--html" in args else [*args, "--html", "page.html"]
    result = invoke(plan, *args)
    assert (result.exit_code, result.stderr.splitlines()) == (2, [message])
    assert not Path("page.html").exists()


def test_the_resume_command_writes_the_page_again() -> None:
    options = Options(plans=("p.yaml",), action=Action.RUN, html="out.html")
    assert options.resume_command() == (
        "fusion-run p.yaml --resume fusion-run-report.json --html out.html"
    )


# --- `fusion-run report REPORT --html FILE` -------------------------------------------------------


def report_command(*args: str) -> Any:
    return CliRunner().invoke(command(), list(args), catch_exceptions=False)


def test_report_renders_an_earlier_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    report = failed_report()
    Path("r.json").write_text(json.dumps(report))
    result = report_command("r.json", "--html", "page.html")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    assert Path("page.html").read_text() == render(report)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "fusion-run: report r.json: cannot read it: No such file or directory"),
        (
            "{",
            "fusion-run: report r.json: not JSON (Expecting property name enclosed in double "
            "quotes: line 1 column 2 (char 1))",
        ),
        (
            '{"report_version": 4}',
            "fusion-run: report r.json: not a fusion-run report (top level: 'fusion_run_version' "
            "is a required property)",
        ),
        (
            '{"report_version": 9, "fusion_run_version": "9.0"}',
            "fusion-run: report r.json: the report is in format 9 (fusion-run 9.0); this "
            "fusion-run reads formats 2 to 5 only: run the plan afresh, or use fusion-run 9.0",
        ),
    ],
    ids=["missing", "not-json", "not-a-report", "future-format"],
)
def test_report_refuses_what_is_not_a_report_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str | None, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    if content is not None:
        Path("r.json").write_text(content)
    result = report_command("r.json", "--html", "page.html")
    assert (result.exit_code, result.stderr.splitlines()) == (2, [message])
    assert not Path("page.html").exists()


def test_report_refuses_to_overwrite_the_report_and_says_when_it_cannot_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("r.json").write_text(json.dumps(failed_report()))
    same = report_command("r.json", "--html", "./r.json")
    assert (same.exit_code, same.stderr) == (
        2,
        "fusion-run: --html ./r.json is the report it renders: writing there would overwrite "
        "it; choose another path\n",
    )
    Path("file").write_text("")
    blocked = report_command("r.json", "--html", "file/page.html")
    assert (blocked.exit_code, blocked.stderr) == (  # found before anything is read
        2,
        "fusion-run: --html file/page.html: file is a file, not a folder: choose another path\n",
    )
    missing = report_command("r.json")
    assert missing.exit_code == 2
    assert "Error: Missing option '--html'." in missing.stderr


def test_fusion_run_report_is_that_command_and_dot_slash_report_is_a_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("r.json").write_text(json.dumps(failed_report()))
    monkeypatch.setattr(sys, "argv", ["fusion-run", "report", "r.json", "--html", "p.html"])
    with pytest.raises(SystemExit) as ended:
        cli.entry()
    assert ended.value.code == 0
    assert Path("p.html").exists()
    Path("report").write_text("version: 1\nsteps:\n  - a\n")
    monkeypatch.setattr(sys, "argv", ["fusion-run", "./report", "--validate"])
    with pytest.raises(SystemExit) as ended:
        cli.entry()
    assert ended.value.code == 0
    monkeypatch.setattr(sys, "argv", ["fusion-run", "report", "--help"])
    with pytest.raises(SystemExit) as ended:
        cli.entry()
    assert capsys.readouterr().out.startswith("Usage: fusion-run report [OPTIONS] REPORT\n")


def test_reports_error_lines_mask_the_environments_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FUSION_PASSWORD", "hunter2-secret")
    result = report_command("hunter2-secret.json", "--html", "page.html")
    assert (result.exit_code, result.stderr) == (
        2,
        "fusion-run: report ***.json: cannot read it: No such file or directory\n",
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r["steps"][0].update(deep=json.loads('{"a":' * 500 + "1" + "}" * 500)),
         "not a report: nested too deeply"),
        (lambda r: r.update(duration=float("inf")), "not JSON (Infinity is not a JSON value)"),
        (lambda r: r.update(duration=float("nan")), "not JSON (NaN is not a JSON value)"),
    ],
    ids=["deep", "infinity", "nan"],
)  # fmt: skip
def test_report_refuses_a_report_no_fusion_run_writes_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: Any, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    report = failed_report()
    change(report)
    Path("r.json").write_text(json.dumps(report))
    result = report_command("r.json", "--html", "page.html")
    assert (result.exit_code, result.stderr) == (2, f"fusion-run: report r.json: {message}\n")


@pytest.mark.parametrize(
    ("html", "why"),
    [
        ("/dev/null", "it is not a regular file (a device, a pipe or a socket): name a file"),
        ("", "the path is empty: name a file"),
    ],
)
def test_report_refuses_a_page_path_that_is_no_file_before_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, html: str, why: str
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("r.json").write_text(json.dumps(failed_report()))
    result = report_command("r.json", "--html", html)
    assert (result.exit_code, result.stderr) == (2, f"fusion-run: --html {html}: {why}\n")
    assert Path("/dev/null").is_char_device()
