"""The published JSON Schemas, read from the package (installed) or from the checkout."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, cast

# In the plan schema, a setting that is not free text also takes a whole `${NAME}` reference, so
# that editors and other validators pass a plan whose variables are set only where it runs.
REFERENCE = {"$ref": "#/$defs/reference"}


@functools.cache
def load_schema(name: str) -> dict[str, Any]:
    """`name` from runner/schemas in a wheel, else from the top-level schemas/ of a checkout."""
    here = Path(__file__).resolve().parent
    for folder in (here / "schemas", here.parent / "schemas"):
        if (folder / name).is_file():
            return cast(dict[str, Any], json.loads((folder / name).read_text("utf-8")))
    # A package that is no folder of files (in a zip): importlib.resources reads it, at 5 ms.
    from importlib import resources  # noqa: PLC0415

    text = resources.files("runner").joinpath("schemas", name).read_text(encoding="utf-8")
    return cast(dict[str, Any], json.loads(text))


@functools.cache
def checking_schema(name: str) -> dict[str, Any]:
    """The schema fusion-run checks documents against: `name` without its `${NAME}` alternatives.

    fusion-run checks the value a reference becomes, so a reference that is left in a value (a
    variable set to `${X}`, or `$${X}` written out) is refused where a reference would pass.
    """
    schema = cast(dict[str, Any], _without_references(load_schema(name)))
    schema.get("$defs", {}).pop("reference", None)
    return schema


def _without_references(node: Any) -> Any:
    if isinstance(node, list):
        return [_without_references(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _without_references(value) for key, value in node.items()}
    branches = node.get("anyOf")
    if isinstance(branches, list) and REFERENCE in branches:
        rest = [_without_references(b) for b in branches if b != REFERENCE]
        del out["anyOf"]
        if len(rest) == 1:
            assert not set(rest[0]) & set(out), f"{rest[0]} would overwrite {out}"
            out.update(rest[0])
        else:
            out["anyOf"] = rest
    return out
