from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from runner.plan import keywords
from runner.plan.source import parse
from runner.plan.validate import validate
from runner.schemas import checking_schema, load_schema

PLAN = load_schema("plan.schema.json")


def test_plan_schema_is_a_valid_2020_12_schema() -> None:
    Draft202012Validator.check_schema(PLAN)
    assert PLAN["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert PLAN["$id"] == "urn:fusion-run:schema:plan:1"


def objects(schema: Any, where: str = "$") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(schema, dict):
        if schema.get("type") == "object":
            yield where, schema
        for key, value in schema.items():
            yield from objects(value, f"{where}/{key}")
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            yield from objects(value, f"{where}/{index}")


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema and "description" not in schema:
        schema = PLAN["$defs"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


# Maps of names the plan chooses (query parameters, headers), each value of one type
MAPS = {"$/$defs/http_params", "$/$defs/webhook/properties/headers"}


@pytest.mark.parametrize(("where", "schema"), list(objects(PLAN)), ids=lambda x: str(x)[:40])
def test_every_object_is_closed_and_every_property_described(
    where: str, schema: dict[str, Any]
) -> None:
    if where in MAPS:
        assert schema["properties"] == {}
        assert "type" in schema["additionalProperties"]
        return
    if "properties" not in schema:  # a map whose keys the plan names (variables, targets,
        # templates, a matrix): each value has a schema
        assert isinstance(schema.get("additionalProperties"), dict), where
        return
    assert schema.get("additionalProperties") is False, where
    for name, prop in schema["properties"].items():
        assert resolve(prop).get("description"), f"{where}/properties/{name} has no description"


def test_defaults_take_every_step_setting_but_job_require_name_depends_on() -> None:
    step = set(PLAN["$defs"]["step_mapping"]["properties"])
    defaults = set(PLAN["properties"]["defaults"]["properties"])
    assert defaults == step - {
        "job",
        "require",
        "request",
        "webhook",
        "name",
        "depends_on",
        "extends",
        "for_each",
    }
    assert PLAN["$defs"]["template"]["properties"] == PLAN["properties"]["defaults"]["properties"]


# --- `${NAME}` wherever a value is not free text -------------------------------------------------


def leaves(schema: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Each setting of the plan that holds one value (a list's item counts as `[]`); not those
    under `variables:` and `targets:`, named by the user and taken as written."""
    if path in (("variables",), ("targets",)):
        return
    schema = resolve(schema) if "description" not in schema else schema
    for branch in schema.get("anyOf", []):
        if resolve(branch).get("type") in ("object", "array"):
            schema = resolve(branch)  # a step: its mapping form
    if schema.get("type") == "object":
        for name, prop in schema.get("properties", {}).items():
            yield from leaves(prop, (*path, name))
        if isinstance(schema.get("additionalProperties"), dict):  # templates, a matrix: any key
            yield from leaves(schema["additionalProperties"], (*path, "*"))
    elif schema.get("type") == "array":
        yield from leaves(schema["items"], (*path, "[]"))
    else:
        yield path, schema


LEAVES = list(leaves(PLAN))


def accepts(schema: Any, value: Any) -> bool:
    return bool(Draft202012Validator({"$defs": PLAN["$defs"], **schema}).is_valid(value))


def test_the_walk_finds_every_setting() -> None:
    paths = {".".join(path) for path, _ in LEAVES}
    assert {"version", "fusion.url", "max_parallel", "steps.[].retry_on.[]"} <= paths
    assert {"steps.[].success.expect.[]", "steps.[].success.warn.[]"} <= paths
    assert {"steps.[].success.min_documents", "defaults.success.min_documents"} <= paths
    assert {"steps.[].stall_after", "defaults.warn_after", "fusion.schedules"} <= paths
    assert {"steps.[].tags.[]", "defaults.tags.[]"} <= paths
    assert {"templates.*.retries", "templates.*.success.states.[]"} <= paths
    assert {"steps.[].extends.[]", "steps.[].for_each.*.[]"} <= paths
    assert len(paths) == 94  # default_target, free text, among them
    assert {"steps.[].request.path", "steps.[].request.status.[]", "steps.[].webhook.url"} <= paths
    assert {"steps.[].require.job", "steps.[].require.succeeded_within"} <= paths


@pytest.mark.parametrize(
    ("path", "schema"), LEAVES, ids=lambda x: ".".join(x) if isinstance(x, tuple) else ""
)
def test_a_value_that_is_not_free_text_may_be_a_variable(
    path: tuple[str, ...], schema: dict[str, Any]
) -> None:
    """So that check-jsonschema and editors pass `retries: ${RETRIES:-2}` as fusion-run does,
    and `allow_failure: ${{ item.optional }}` in a for_each step."""
    if accepts(schema, "any text at all"):
        return
    for reference in ("${X}", "${RETRIES:-2}", "${URL:-https://h.example}", "${X:-}"):
        assert accepts(schema, reference), (path, reference)
    for placeholder in ("${{ item }}", "${{item.optional}}", "${{ item.max-docs }}"):
        assert accepts(schema, placeholder), (path, placeholder)
    for not_one in ("$${X}", "${X}y", "${1X}", "${X-2}", "${X:-}}", "${{ items }}", "${{ item }}x"):
        assert not accepts(schema, not_one), (path, not_one)


def test_fusion_run_checks_what_a_reference_becomes_so_its_schema_has_none() -> None:
    checking = checking_schema("plan.schema.json")
    assert "#/$defs/reference" not in json.dumps(checking)
    assert "reference" not in checking["$defs"]
    assert checking["$defs"]["retries"] == {
        "description": PLAN["$defs"]["retries"]["description"],
        "type": "integer",
        "minimum": 0,
        "maximum": 100,
    }
    assert checking_schema("scenario.schema.json") == load_schema("scenario.schema.json")


# --- uniqueItems in linear time ------------------------------------------------------------------


def test_unique_items_reads_each_item_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """10,000 items of mixed types, which jsonschema's own check compares pair by pair: here each
    item becomes one canonical text, looked up in a set, and nothing compares two items."""
    reduced: list[Any] = []
    canonical = keywords.canonical

    def counted(value: Any) -> str:
        reduced.append(value)
        return canonical(value)

    def pairwise(*_: Any) -> bool:
        raise AssertionError("items compared pairwise")

    monkeypatch.setattr(keywords, "canonical", counted)
    monkeypatch.setattr("jsonschema._keywords.uniq", pairwise)
    monkeypatch.setattr("jsonschema._utils.equal", pairwise)
    items: list[Any] = [
        [i, f"s{i}", {"k": i}, float(i) + 0.5, [i], {"k": [i, None, True]}][i % 6]
        for i in range(10_000)
    ]
    validator = keywords.validator_class()({"uniqueItems": True})
    assert validator.is_valid(items)
    assert len(reduced) == len(items)
    reduced.clear()
    assert not validator.is_valid([*items, 6.0])  # equal to the integer 6, as JSON counts
    assert len(reduced) == len(items) + 1


@pytest.mark.parametrize(
    ("items", "repeated"),
    [
        ([1, 1.0, True, "1", [1], [1.0], {"a": 1, "b": 2}, {"b": 2, "a": 1.0}], [1, 5, 7]),
        ([False, 0, None, "", [], {}], []),
        ([[True], [1]], []),
    ],
)
def test_unique_items_counts_as_json_does(items: list[Any], repeated: list[int]) -> None:
    assert list(keywords.repeats(items)) == repeated
    assert keywords.validator_class()({"uniqueItems": True}).is_valid(items) == (not repeated)
    assert Draft202012Validator({"uniqueItems": True}).is_valid(items) == (not repeated)


def test_a_plan_with_a_list_of_10000_mixed_items_is_read_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What took 21 s before: every item of a step's 10,000 dependencies reduced exactly once."""
    reduced: list[Any] = []
    canonical = keywords.canonical

    def counted(value: Any) -> str:
        reduced.append(value)
        return canonical(value)

    monkeypatch.setattr(keywords, "canonical", counted)
    monkeypatch.setattr("jsonschema._keywords.uniq", None)  # jsonschema's own check is not used
    items = ", ".join(str(i) if i % 2 else f"{{a: {i}}}" for i in range(10_000))
    doc = parse(f"version: 1\nsteps:\n  - job: a\n    depends_on: [{items}]\n", "p.yaml")
    problems = validate(doc)
    assert len(reduced) == 10_000
    assert len(problems) == 10_000  # one wrong type each
    assert (
        str(problems[0])
        == "p.yaml:4:18: $.steps[0].depends_on[0]: expected a string, got a mapping"
    )
