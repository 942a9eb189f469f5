from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from runner import keywords
from runner.schemas import load_schema
from runner.source import parse
from runner.validate import validate

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


@pytest.mark.parametrize(("where", "schema"), list(objects(PLAN)), ids=lambda x: str(x)[:40])
def test_every_object_is_closed_and_every_property_described(
    where: str, schema: dict[str, Any]
) -> None:
    assert schema.get("additionalProperties") is False, where
    for name, prop in schema["properties"].items():
        assert resolve(prop).get("description"), f"{where}/properties/{name} has no description"


def test_defaults_take_every_step_setting_but_job_name_depends_on() -> None:
    step = set(PLAN["$defs"]["step_mapping"]["properties"])
    defaults = set(PLAN["properties"]["defaults"]["properties"])
    assert defaults == step - {"job", "name", "depends_on"}


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
