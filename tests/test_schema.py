from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from runner.schemas import load_schema

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
