"""Reading a child process's output with a deadline: a child that dies or hangs fails the test
at once instead of hanging the suite."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO


class Lines:
    """The lines of `stream` (without their newline), read by a thread so that waiting for one
    can time out. The thread closes the stream once the child closes it."""

    def __init__(self, stream: IO[str]) -> None:
        self._queue: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        thread.start()

    def _pump(self, stream: IO[str]) -> None:
        with stream:
            for line in stream:
                self._queue.put(line.rstrip("\n"))
        self._queue.put(None)  # end of output: the child closed it, most likely by exiting

    def until(self, text: str, *, timeout: float = 30) -> str:
        """The first line holding `text`; fails when the output ends or `timeout` passes first."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"no line with {text!r} within {timeout}s; seen: {self.seen}"
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                continue
            assert line is not None, f"output ended before a line with {text!r}; seen: {self.seen}"
            self.seen.append(line)
            if text in line:
                return line

    def rest(self, *, timeout: float = 30) -> list[str]:
        """Every line left, once the output ends (within `timeout`)."""
        deadline = time.monotonic() + timeout
        lines: list[str] = []
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"output did not end within {timeout}s; seen: {self.seen + lines}"
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                return lines
            lines.append(line)


@contextmanager
def standalone_emulator(cwd: Path, scenario: str = "s.yaml") -> Iterator[tuple[str, Lines]]:
    """A `fusion-emulator` process on a free port, scripted by `scenario` (relative to `cwd`),
    with no FUSION_ variable from the test's environment: its URL (no /api), and its request
    log, which stays readable once the emulator has stopped."""
    emulator = subprocess.Popen(
        [sys.executable, "-m", "runner.cli.emulator", "--port", "0", "--scenario", scenario],
        cwd=cwd,
        stderr=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("FUSION_")},
    )
    assert emulator.stderr is not None
    log = Lines(emulator.stderr)
    try:
        banner = log.until("serving Fusion's API at ")
        yield banner.rsplit(" ", 1)[1].strip().removesuffix("/api"), log
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)


def fusion_run_process(
    *args: str, cwd: Path, timeout: float = 60, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`fusion-run ARGS...` in a process of its own, as CI runs it (no terminal), to its end;
    `env` adds to the environment."""
    return subprocess.run(
        [sys.executable, "-m", "runner", *args],
        cwd=cwd,
        env=None if env is None else {**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
