"""The Solr endpoints a plan's `request:` steps use, as Fusion's proxy serves them under
`/api/solr/`: the Collections API's CREATEALIAS, DELETEALIAS and LISTALIASES, and `select`,
whose `numFound` is the collection's documents (the scenario's `collections`, else
`DEFAULT_DOCUMENTS`; through an alias, its collections' together). Answers are Solr's shapes.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

DEFAULT_DOCUMENTS = 120_000  # in a collection the scenario does not list
PREFIX = "/api/solr/"


class Solr:
    """Collections and aliases: what select counts and what the alias actions change."""

    def __init__(self, collections: Mapping[str, int]) -> None:
        self.collections = dict(collections)
        self.aliases: dict[str, str] = {}
        self.changes: list[str] = []  # each alias action taken, for tests: "CREATEALIAS products"
        self.lock = threading.Lock()

    def answer(self, method: str, path: str, query: Mapping[str, list[str]]) -> tuple[int, Any]:
        """(status, body) for a request to `path` (under PREFIX)."""
        segments = path[len(PREFIX) :].split("/")
        with self.lock:
            if segments == ["admin", "collections"]:
                return self._admin(_first(query, "action").upper(), query)
            if len(segments) == 2 and segments[1] == "select" and method in ("GET", "POST"):
                return self._select(segments[0], query)
        return 404, _error(404, f"Cannot find {method} {path}")

    def _admin(self, action: str, query: Mapping[str, list[str]]) -> tuple[int, Any]:
        name = _first(query, "name")
        if action == "LISTALIASES":
            return 200, {**_header(), "aliases": dict(self.aliases)}
        if action == "CREATEALIAS":
            collections = _first(query, "collections")
            if not name or not collections:
                return 400, _error(400, "Missing required parameter: name, collections")
            self.aliases[name] = collections
            self.changes.append(f"CREATEALIAS {name}")
            return 200, _header()
        if action == "DELETEALIAS":
            if self.aliases.pop(name, None) is None:
                return 400, _error(400, f"Alias {name} does not exist")
            self.changes.append(f"DELETEALIAS {name}")
            return 200, _header()
        return 400, _error(400, f"Unknown action: {action or None}")

    def _select(self, name: str, query: Mapping[str, list[str]]) -> tuple[int, Any]:
        collections = self.aliases.get(name, name).split(",")
        found = sum(self.collections.get(c, DEFAULT_DOCUMENTS) for c in collections)
        params = {key: values[-1] for key, values in query.items()}
        return 200, {
            **_header(params),
            "response": {"numFound": found, "start": 0, "numFoundExact": True, "docs": []},
        }


def _first(query: Mapping[str, list[str]], key: str) -> str:
    return (query.get(key) or [""])[0]


def _header(params: dict[str, str] | None = None) -> dict[str, Any]:
    header: dict[str, Any] = {"status": 0, "QTime": 1}
    if params is not None:
        header["params"] = params
    return {"responseHeader": header}


def _error(code: int, message: str) -> dict[str, Any]:
    return {"responseHeader": {"status": code, "QTime": 0}, "error": {"msg": message, "code": code}}
