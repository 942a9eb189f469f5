"""The rules of a step that sends one HTTP request instead of running a job (`request:`,
`webhook:`): where it may go, and what outputs may show of it.

A request goes to the plan's own Fusion with its credentials, so its path must stay there: a
path is relative to fusion.url and starts with a single `/`; a scheme, a host, a user, a
backslash or a `.`/`..` segment (also percent-encoded) is refused. A webhook goes anywhere over
https (http only when the plan says `insecure: true`), with no credentials of Fusion's. No
message here echoes the value: it may hold a variable's secret.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

_SPACE = re.compile(r"[\s\x00-\x1f\x7f]")


def path_problem(path: str) -> str | None:
    """Why `path` cannot be a request's path, or None."""
    if not path.startswith("/") or path.startswith("//"):
        return (
            "a request's path is relative to fusion.url and starts with a single /, "
            "e.g. /api/solr/products/select: write it so"
        )
    if _SPACE.search(path):
        return "a request's path may not hold white space or control characters: encode them"
    if "\\" in path or "@" in path or "://" in path:
        return (
            "a request's path may not name another host or user (it holds \\, @ or ://): "
            "a request goes only to the plan's Fusion; use a webhook: step for another host"
        )
    where = path.split("?", 1)[0]
    if "#" in path:
        return "a request's path may not hold a fragment (#): remove it"
    segments = unquote(unquote(where)).split("/")
    if any(segment in (".", "..") for segment in segments):
        return (
            "a request's path may not hold a . or .. segment: it would leave fusion.url; "
            "write the path in full"
        )
    return None


def webhook_problem(url: str, insecure: bool) -> str | None:
    """Why `url` cannot be a webhook's URL, or None."""
    if _SPACE.search(url) or "\\" in url:
        return "a webhook's URL may not hold white space, control characters or \\: encode them"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is no number
    except ValueError:
        return "a webhook's URL cannot be read: write it as https://host/path"
    if parts.scheme == "http" and not insecure:
        return (
            "a webhook's URL is http://: its body and headers would travel unencrypted; "
            "use https://, or add insecure: true"
        )
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return (
            "a webhook's URL is an absolute https:// URL with a host: write it as https://host/path"
        )
    if "@" in parts.netloc:
        return "a webhook's URL may not hold a user or password: send them in headers:"
    return None


_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110: what a header's name may be
_UNSENDABLE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]|^\s|\s$")


def header_name_problem(name: str) -> str | None:
    """Why `name` cannot be a header's name, or None."""
    if _TOKEN.fullmatch(name):
        return None
    return "a header name is letters, digits and !#$%&'*+-.^_`|~ only: write it so"


def header_value_problem(value: str) -> str | None:
    """Why `value` cannot be a header's value, or None: HTTP would refuse to send it."""
    if not _UNSENDABLE.search(value):
        return None
    return (
        "a header value may not hold a line break or another control character, nor begin or "
        "end with white space: remove them (a variable's value may end with a line break)"
    )


def shown_path(path: str) -> str:
    """A request's path as outputs show it: without its query, which may hold a value."""
    return path.split("?", 1)[0]


def shown_host(url: str) -> str:
    """A webhook's URL as outputs show it: its host alone (its path and query may hold a
    token, as Slack's do)."""
    try:
        return urlsplit(url).hostname or "?"
    except ValueError:
        return "?"
