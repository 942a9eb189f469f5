from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from runner.commands.loading import resolve_url
from runner.errors import UsageError
from runner.plan import AllowedFailures, Auth, RunIf, Success
from runner.plan.loader import load_plan
from runner.plan.problems import InvalidPlan
from tests.helpers.paths import EXAMPLES, WritePlan


def test_defaults_and_built_in_defaults(write_plan: WritePlan) -> None:
    plan = load_plan(
        write_plan(
            """\
version: 1
defaults:
  timeout: 1h
  retries: 1
  success:
    states: [finished]
    expect: ["a"]
    warn: ["w"]
steps:
  - crawl
  - job: index
    retries: 3
    success:
      max_duration: 10m
      min_documents: 5
  - job: train
    success:
      expect: ["b"]
      warn: []
"""
        )
    )
    crawl, index, train = plan.steps
    assert (crawl.timeout, crawl.retries, crawl.poll_interval, crawl.retry_delay) == (
        3600,
        1,
        10,
        30,
    )
    assert crawl.success == Success(
        states=("finished",), max_duration=None, expect=("a",), warn=("w",)
    )
    assert index.retries == 3
    assert index.success == Success(
        states=("finished",), max_duration=600, expect=("a",), warn=("w",), min_documents=5
    )
    assert (train.success.expect, train.success.warn, train.success.min_documents) == (
        ("b",),
        (),
        None,
    )
    assert crawl.run_if is RunIf.ALL_SUCCESS
    assert not crawl.allow_failure


def test_plain_list_is_a_sequence_and_empty_depends_on_starts_at_once(
    write_plan: WritePlan,
) -> None:
    plan = load_plan(
        write_plan(
            "version: 1\nsteps:\n  - a\n  - b\n  - job: c\n    depends_on: []\n"
            "  - d\n  - job: e\n    depends_on: [a, c]\n"
        )
    )
    assert {s.name: (s.depends_on, s.implicit_dependency) for s in plan.steps} == {
        "a": ((), False),
        "b": (("a",), True),
        "c": ((), False),
        "d": (("c",), True),
        "e": (("a", "c"), False),
    }


def test_plan_level_settings(write_plan: WritePlan) -> None:
    path = write_plan(
        "version: 1\nname: nightly\nmax_parallel: 2\nfail_fast: true\ntimeout: 6h\n"
        "fusion:\n  url: https://f.example.com\n  api: /api/apollo\n  auth: api-key\n"
        "  verify: ca.pem\nsteps: [a]\n"
    )
    Path("ca.pem").write_text("")  # the CA bundle must exist, here in the current folder
    plan = load_plan(path)
    assert (plan.name, plan.max_parallel, plan.fail_fast, plan.timeout) == (
        "nightly",
        2,
        True,
        21600,
    )
    assert plan.fusion.url == "https://f.example.com"
    assert (plan.fusion.api, plan.fusion.auth, plan.fusion.verify) == (
        "/api/apollo",
        Auth.API_KEY,
        "ca.pem",
    )
    assert plan.sha256 == hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_name_defaults_to_the_file_stem(tmp_path: Path) -> None:
    nameless = tmp_path / "plans" / "nightly-recs.v2.yaml"
    nameless.parent.mkdir()
    nameless.write_text("version: 1\nsteps: [crawl]\n")
    plan = load_plan(str(nameless))
    assert plan.name == "nightly-recs.v2"  # the file name without its last extension
    named = tmp_path / "other.yaml"
    named.write_text("version: 1\nname: nightly\nsteps: [crawl]\n")
    assert load_plan(str(named)).name == "nightly"
    assert load_plan(str(nameless)).fusion.auth is Auth.AUTO


def test_steps_keep_their_position(write_plan: WritePlan) -> None:
    plan = load_plan(write_plan("version: 1\nsteps:\n  - a\n  - job: b\n    retries: 1\n"))
    assert [(s.line, s.column) for s in plan.steps] == [(3, 5), (4, 5)]


def test_an_anchor_that_no_alias_repeats_passes(write_plan: WritePlan) -> None:
    """Only an alias expands a file (tests/plans/invalid/aliases.yaml): a bare anchor is inert."""
    plan = load_plan(write_plan("version: 1\nsteps:\n  - &crawl {job: crawl, retries: 2}\n"))
    assert [(s.job, s.retries) for s in plan.steps] == [("crawl", 2)]


def test_forward_references_are_fine(write_plan: WritePlan) -> None:
    plan = load_plan(
        write_plan(
            "version: 1\nsteps:\n  - job: a\n    depends_on: [b]\n  - job: b\n    depends_on: []\n"
        )
    )
    assert plan.step("a").depends_on == ("b",)


class TestResolveUrl:
    plan = load_plan(str(EXAMPLES / "quickstart.yaml"))

    def test_order(self) -> None:
        env = {"FUSION_URL": "https://env.example.com"}
        assert resolve_url(self.plan, "https://cli.example.com/", env) == (
            "https://cli.example.com",
            "--url",
        )
        assert resolve_url(self.plan, None, env) == ("https://env.example.com", "FUSION_URL")
        assert resolve_url(self.plan, None, {}) == ("http://127.0.0.1:8764", "the plan")

    @pytest.mark.parametrize(
        ("url", "message"),
        [
            (
                "https://admin:pw@f.example.com",
                "FUSION_URL: credentials may not be part of the URL: "
                "set them in the environment instead",
            ),
            (
                "f.example.com",
                "FUSION_URL: expected an http:// or https:// URL "
                "with no credentials, query or fragment",
            ),
            (
                "https://f.example.com/?x=1",
                "FUSION_URL: expected an http:// or https:// URL "
                "with no credentials, query or fragment",
            ),
        ],
    )
    def test_bad_environment_url(self, url: str, message: str) -> None:
        with pytest.raises(UsageError) as caught:
            resolve_url(self.plan, None, {"FUSION_URL": url})
        assert str(caught.value) == message

    @pytest.mark.parametrize(
        ("url", "message"),
        [
            ("http://localhost:99999", "port 99999 is out of range: write a port from 1 to 65535"),
            (
                "http://[::1",
                "the host's '[' has no closing ']': write an IPv6 address as in http://[::1]:8764",
            ),
            (
                f"http://{'a' * 64}.com",
                "the host's label 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaa…' is 64 characters long, "
                "more than 63: check the host name",
            ),
        ],
    )
    def test_unreachable_url_from_the_flag_or_the_environment(self, url: str, message: str) -> None:
        for given, environ, source in (
            (url, {}, "--url"),
            (None, {"FUSION_URL": url}, "FUSION_URL"),
        ):
            with pytest.raises(UsageError) as caught:
                resolve_url(self.plan, given, environ)
            assert str(caught.value) == f"{source}: {message}"


def test_allowed_failures_resolves_as_every_step_setting(write_plan: WritePlan) -> None:
    """The step's own, else defaults:, else pass; a require: step takes it too."""
    plan = load_plan(
        write_plan(
            "version: 1\ndefaults:\n  allowed_failures: fail\nsteps:\n"
            "  - a\n  - {job: b, allowed_failures: pass}\n"
            "  - {require: {job: c, succeeded_within: 1d}}\n"
        )
    )
    assert [s.allowed_failures for s in plan.steps] == [
        AllowedFailures.FAIL,
        AllowedFailures.PASS,
        AllowedFailures.FAIL,
    ]
    plain = load_plan(write_plan("version: 1\nsteps:\n  - a\n"))
    assert plain.steps[0].allowed_failures is AllowedFailures.PASS


def test_allowed_failures_takes_pass_or_fail(write_plan: WritePlan) -> None:
    with pytest.raises(InvalidPlan) as caught:
        load_plan(write_plan("version: 1\nsteps:\n  - {job: a, allowed_failures: strict}\n"))
    [problem] = caught.value.problems
    assert str(problem) == (
        "plan.yaml:3:32: $.steps[0].allowed_failures: 'strict' is not one of: pass, fail"
    )
