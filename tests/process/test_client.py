"""The client against a port that takes the connection and never answers: the read timeout, on
the real clock."""

from __future__ import annotations

import socket

import pytest

from runner.fusion import ErrorKind, FusionError
from runner.fusion.client import FusionClient


def test_read_timeout() -> None:
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        with pytest.raises(FusionError) as caught:
            FusionClient(url=f"http://127.0.0.1:{port}", read_timeout=0.2).status("j")
    error = caught.value
    assert (error.kind, error.maybe_applied) == (ErrorKind.TRANSIENT, True)
    assert str(error) == f"GET http://127.0.0.1:{port}/api/spark/jobs/j: no answer within 0.2s"
