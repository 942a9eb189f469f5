"""A job id stays one path segment, through requests' URL handling and the emulator's routing
(tests/process/test_hostile.py feeds hostile plans to the loader)."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import requests
from hypothesis import example, given, settings
from hypothesis import strategies as st

from runner.fusion import job_segment
from runner.fusion.routes import api_path
from runner.plan.values import job_problem


@settings(max_examples=300, deadline=None)
@given(job=st.text(min_size=1, max_size=40))
@example(job=".")
@example(job="..")
def test_no_job_id_reaches_another_endpoint(job: str) -> None:
    """Through requests' own URL handling and the emulator's routing, an id stays one segment.
    requests sends `.` and `..` as they are, whatever their quoting: a plan refuses them."""
    url = (
        requests.Request("GET", f"http://127.0.0.1:1/api/spark/jobs/{job_segment(job)}")
        .prepare()
        .url
    )
    assert url is not None
    segments = api_path(urlsplit(url).path)
    assert segments is not None
    assert segments[:2] == ["spark", "jobs"]
    assert len(segments) == 3
    assert unquote(segments[2]) == job
    if job_problem(job) is None:
        assert segments[2] not in (".", "..")  # no server could read it as the job's id
