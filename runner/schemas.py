"""The published JSON Schemas, read from the package (installed) or from the checkout."""

from __future__ import annotations

import functools
import json
from importlib import resources
from pathlib import Path
from typing import Any, cast


@functools.cache
def load_schema(name: str) -> dict[str, Any]:
    """`name` from runner/schemas in a wheel, else from the top-level schemas/ of a checkout."""
    packaged = resources.files("runner").joinpath("schemas", name)
    if packaged.is_file():
        text = packaged.read_text(encoding="utf-8")
    else:
        text = (Path(__file__).resolve().parent.parent / "schemas" / name).read_text("utf-8")
    return cast(dict[str, Any], json.loads(text))
