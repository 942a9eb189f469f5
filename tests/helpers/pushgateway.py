"""A stand-in Prometheus Pushgateway on 127.0.0.1: it records each request, parses its body as
the Prometheus text format (prometheus_client's parser), and keeps what was pushed as the
Pushgateway does, so a test reads values back after several pushes. POST replaces, in the
request's group, the series of each metric name it pushes; PUT replaces the whole group."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote_plus

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

GroupKey = tuple[tuple[str, str], ...]


@dataclass
class Pushed:
    method: str
    path: str
    group: dict[str, str]  # the grouping key, decoded
    authorization: str | None
    families: dict[str, list[Sample]]  # metric name: its samples


@dataclass
class Gateway:
    url: str
    status: int = 200  # what it answers
    reason: str | None = None  # its reason phrase; None: the standard one
    requests: list[Pushed] = field(default_factory=list)
    groups: dict[GroupKey, dict[str, list[Sample]]] = field(default_factory=dict)

    def value(self, name: str, **labels: str) -> float | None:
        """The value kept of the one series `name` whose labels (grouping key included) hold
        `labels`; None if there is none."""
        found = [
            sample.value
            for key, families in self.groups.items()
            for sample in families.get(name, [])
            if labels.items() <= (dict(key) | sample.labels).items()
        ]
        assert len(found) <= 1, f"{name} {labels}: {len(found)} series"
        return found[0] if found else None


def grouping_key(path: str) -> dict[str, str]:
    """`/metrics/job/fusion-run/plan@base64/...` as {"job": "fusion-run", "plan": ...}, below
    any prefix."""
    words = path.partition("/metrics/")[2].split("/")
    key = {}
    for name, value in zip(words[::2], words[1::2], strict=True):
        if name.endswith("@base64"):
            key[name.removesuffix("@base64")] = base64.urlsafe_b64decode(value).decode()
        else:
            key[name] = unquote_plus(value)
    return key


@contextmanager
def pushgateway(status: int = 200) -> Iterator[Gateway]:
    """A stand-in Pushgateway answering `status` to every push, at `Gateway.url`."""
    gateway = Gateway(url="")

    class Handler(BaseHTTPRequestHandler):
        def _store(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            families = {
                family.name: family.samples for family in text_string_to_metric_families(body)
            }
            group = grouping_key(self.path)
            gateway.requests.append(
                Pushed(self.command, self.path, group, self.headers.get("Authorization"), families)
            )
            if gateway.status < 300:
                kept = gateway.groups.setdefault(tuple(sorted(group.items())), {})
                if self.command == "PUT":
                    kept.clear()
                kept.update(families)
            self.send_response(gateway.status, gateway.reason)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_POST = do_PUT = _store

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    gateway.url = f"http://127.0.0.1:{server.server_address[1]}"
    gateway.status = status
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield gateway
    finally:
        server.shutdown()
        server.server_close()
