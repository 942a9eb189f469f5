"""The suite's kinds hold: only tests/process/ is slow, so `pytest -m "not slow"` runs the unit and
scenario tests, and none of those sleeps on the real clock or starts a process (tests/conftest.py
refuses both to them)."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import time

import pytest

from runner.clock import SystemClock
from tests.helpers.paths import ROOT

PROCESS = ROOT / "tests" / "process"


def test_the_tests_of_tests_process_are_slow_and_no_other(request: pytest.FixtureRequest) -> None:
    items = request.session.items
    assert request.node in items
    for item in items:
        slow = item.get_closest_marker("slow") is not None
        assert slow == (PROCESS in item.path.resolve().parents), item.nodeid


def test_each_test_file_is_in_the_folder_of_its_kind() -> None:
    loose = sorted(path.name for path in (ROOT / "tests").glob("test_*.py"))
    assert loose == []
    folders = {path.parent.name for path in (ROOT / "tests").rglob("test_*.py")}
    assert folders == {"unit", "scenario", "process"}


def test_here_the_real_clock_does_not_sleep_and_no_process_starts() -> None:
    refused = "the real clock or a child process: a test for tests/process/"
    with pytest.raises(AssertionError, match=refused):
        time.sleep(0.001)
    with pytest.raises(AssertionError, match=refused):
        SystemClock().sleep(0.001)
    with pytest.raises(AssertionError, match=refused):
        subprocess.run([sys.executable, "-c", "pass"], check=False)
    with pytest.raises(AssertionError, match=refused), multiprocessing.get_context("fork").Pool(1):
        pass
