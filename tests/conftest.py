from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest

from runner.clock import SystemClock
from runner.emulator.model import EmulatedFusion
from runner.emulator.scenario import Scenario
from runner.emulator.server import Access, Emulator
from tests.helpers.ci import CI_PLAN, CI_VARIABLES
from tests.helpers.fakes import CREDENTIALS, EPOCH, FakeClock
from tests.helpers.paths import CASSETTES, ROOT, WritePlan
from tests.helpers.recording import RECORDED_URL, SortedYaml, scrub_request, scrub_response


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's Fusion settings or credentials unless it sets them itself."""
    for name in list(os.environ):
        if name.startswith("FUSION_"):
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def _signal_handlers_kept() -> Iterator[None]:
    """A test that calls `runner.cli.entry`, which ignores SIGINT and SIGTERM once it has its
    exit code, leaves them as it found them for the tests after it."""
    kept = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in kept.items():
        signal.signal(sig, handler)


PROCESS = Path(__file__).resolve().parent / "process"


@pytest.fixture(autouse=True)
def _in_this_process_on_a_fake_clock(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A unit or scenario test neither sleeps on the real clock nor starts a child process: one
    that needs to belongs in tests/process/, which the fast loop leaves out."""
    if PROCESS in request.path.resolve().parents:
        return

    def refused(*_: object, **__: object) -> None:
        raise AssertionError("the real clock or a child process: a test for tests/process/")

    monkeypatch.setattr(time, "sleep", refused)
    monkeypatch.setattr(SystemClock, "sleep", refused)
    monkeypatch.setattr(subprocess.Popen, "__init__", refused)
    monkeypatch.setattr(os, "fork", refused)  # a pool of worker processes


@pytest.fixture
def write_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> WritePlan:
    """Writes `plan.yaml` in a temporary folder made current, and returns its name."""
    monkeypatch.chdir(tmp_path)

    def write(text: str) -> str:
        (tmp_path / "plan.yaml").write_text(text, encoding="utf-8")
        return "plan.yaml"

    return write


@pytest.fixture
def ci_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """CI_PLAN as plans/nightly.yaml in a folder made current, with none of its variables set."""
    for name in CI_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "plans").mkdir()
    (tmp_path / "plans" / "nightly.yaml").write_text(CI_PLAN)
    (tmp_path / "ca.pem").write_text("")
    return "plans/nightly.yaml"


# --- cassettes: replay only, bodies matched, secrets scrubbed, every interaction replayed ------


@pytest.fixture(scope="session")
def vcr_config() -> dict[str, Any]:
    # Never put record_mode here: it would silently override --record-mode.
    return {
        "filter_headers": ["authorization", "cookie", "x-api-key", "user-agent"],
        "match_on": ["method", "scheme", "host", "port", "path", "query", "body"],
        "decode_compressed_response": True,
        "before_record_request": scrub_request,
        "before_record_response": scrub_response,
        "record_on_exception": False,
    }


@pytest.fixture(scope="module")
def vcr_cassette_dir(request: pytest.FixtureRequest) -> str:
    return str(CASSETTES / request.module.__name__.rsplit(".", 1)[-1])


def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    vcr.register_serializer("yaml", SortedYaml)


_USED_CASSETTES: set[Path] = set()


@pytest.fixture(autouse=True)
def _every_recorded_interaction_is_replayed(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if request.node.get_closest_marker("vcr") is None:
        return
    cassette = request.getfixturevalue("vcr")
    _USED_CASSETTES.add(Path(cassette.path).resolve())
    if request.getfixturevalue("record_mode") == "none":
        # vcrpy fails on more requests than recorded, never on fewer.
        unplayed = [
            f"{r.method} {r.uri}"
            for i, r in enumerate(cassette.requests)
            if not cassette.play_counts[i]
        ]
        assert not unplayed, f"{cassette.path}: recorded but never replayed: {unplayed}"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A cassette no test uses is stale: fail a complete, otherwise green run that leaves one."""
    option = session.config.option
    if exitstatus != 0 or option.keyword or option.markexpr or session.config.args != ["tests"]:
        return
    orphans = sorted(p for p in CASSETTES.rglob("*.yaml") if p.resolve() not in _USED_CASSETTES)
    if orphans:
        print("\nCassettes no test used:", *(str(p.relative_to(ROOT)) for p in orphans), sep="\n  ")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def recording(record_mode: str) -> bool:
    return record_mode != "none"


@pytest.fixture
def fusion_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    return dict(CREDENTIALS)


@pytest.fixture
def emulator_for_recording(recording: bool) -> Callable[..., AbstractContextManager[str]]:
    """The URL to send the test's requests to: while recording, that of an emulator serving on
    a free port (its requests are stored as sent to RECORDED_URL); during replay, RECORDED_URL,
    where nothing listens and the cassette answers."""

    @contextmanager
    def serve(
        scenario: Scenario | None = None,
        *,
        clock: FakeClock,
        access: Access | None = None,
        extra_jobs: Iterable[str] = (),
    ) -> Iterator[str]:
        if not recording:
            yield RECORDED_URL
            return
        model = EmulatedFusion(scenario, clock=clock, epoch=EPOCH, extra_jobs=extra_jobs)
        access = access or Access(
            user=CREDENTIALS["FUSION_USER"], password=CREDENTIALS["FUSION_PASSWORD"]
        )
        with Emulator(model, access=access) as emulator:
            yield emulator.url

    return serve
