"""What a crash does to a `request:` step (tests.helpers.crashes): a request is written ahead
and its answer at once, so at every durable point a resume sends again only what is safe to
send again, never reports a success it did not see, and fails an unsafe request whose answer is
unknown, naming the fix."""

from __future__ import annotations

from pathlib import Path

from runner.emulator.scenario import RunScript, Scenario
from tests.helpers.crashes import World, explore, runs
from tests.helpers.fakes import call_step, step

SCENARIO = Scenario(jobs={"a": runs(RunScript(duration=0.2)), "b": runs(RunScript(duration=0.2))})
ALIAS = (("action", "CREATEALIAS"), ("name", "products"), ("collections", "products_v2"))


def test_a_get_between_two_jobs_ends_as_it_would_whatever_the_crash(tmp_path: Path) -> None:
    steps = [step("a"), call_step("count", "a", expect=("status == `200`",)), step("b", "count")]
    points, resumes = explore(steps, SCENARIO, tmp_path, dead=0.5)
    assert points > 10
    assert resumes == 2 * points


def test_a_post_is_never_sent_twice_and_an_unknown_answer_fails_the_step(
    tmp_path: Path,
) -> None:
    steps = [
        step("a"),
        call_step("swap", "a", method="POST", path="/api/solr/admin/collections", params=ALIAS),
    ]
    baseline = World(steps, SCENARIO, tmp_path / "baseline", dead=0.5)
    total = baseline.fusion_run(None, seed=1).count
    seen: dict[str, set[str]] = {"succeeded": set(), "answer_unknown": set()}
    for k in range(total):
        world = World(steps, SCENARIO, tmp_path / f"k{k}", dead=0.5)
        (tmp_path / f"k{k}").mkdir()
        died = world.fusion_run(k, seed=1)
        world.fusion_run(None, seed=2)
        world.check(final=True)
        report = world.disk.report()
        assert report is not None
        swap = report["steps"][1]
        sent = world.model.solr.changes
        assert sent in ([], ["CREATEALIAS products"]), k  # never twice
        where = died.where[-1] if died.where else "the start"
        if swap["outcome"] == "succeeded":
            assert swap["attempts"][-1]["state"] == "200", k  # an answer it saw
            assert sent, k
            seen["succeeded"].add(where)
        else:
            assert swap["reason_fact"] == {
                "kind": "answer_unknown",
                "sent": "POST /api/solr/admin/collections",
                "error": None,
            }, k
            assert swap["reason"].startswith(
                "POST /api/solr/admin/collections may have reached Fusion and its answer is "
                "unknown: an earlier fusion-run stopped before its answer; it is not sent again"
            ), k
            seen["answer_unknown"].add(where)
    # a crash after the answer came, or before the intent was on disk, changes nothing; one
    # between the two leaves the answer unknown, whether or not the request left
    assert "after call /api/solr/admin/collections" in seen["answer_unknown"]
    assert "before call /api/solr/admin/collections" in seen["answer_unknown"]
    assert len(seen["succeeded"]) > 3
