"""Credentials masked where they can come back, and terminal codes gone from what is printed.

A credential can reach an output only one way: Fusion echoes request details in its error bodies,
so a secret can arrive inside any message it writes. So the client masks Fusion's words as they
arrive (`Redactor.mask`): error messages, reason phrases, a run's failure message and the string
values of what it reports, but those that name a run, a job or a moment
(`runner.fusion.client.NAMES`). What a program reads (run ids, start times, step and job names,
keys) is never masked, so a secret of any length or content (`0`, a job's name) changes no identity,
no time and no name. The CLI's own error lines, free text that may quote anything, are masked too
(`Redactor.line`).

A `Redactor` masks every credential fusion-run knows (the environment's FUSION_PASSWORD,
FUSION_API_KEY and FUSION_TOKEN, and each token and session Fusion hands out, `add`ed as they
come), in each form it can take on the way back: as is, in Basic's base64, URL-encoded,
JSON-escaped, on one line. FUSION_USER is a name, not a secret: it is masked only as part of
`user:password`.

What is printed (the console, JUnit, the GitHub summary and annotations) is cleaned
(`strip_controls`, `one_line`, `cleaned`) of ANSI escape sequences and control characters other
than newline and tab: a colour code in a Fusion error would make JUnit's XML unparseable and
would recolour CI logs. The JSON report keeps them, escaped by the JSON encoder.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

MASK = "***"
SECRET_VARIABLES = ("FUSION_PASSWORD", "FUSION_API_KEY", "FUSION_TOKEN")

# CSI (colours, cursor moves), OSC (titles, links) and the other escapes, 7- and 8-bit.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x9b[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[ -/]*[0-~]?"
)
# C0 but newline and tab, DEL, C1, lone surrogates and the two non-characters XML refuses; and
# the marks that reorder or hide text (right-to-left overrides and isolates, zero-width marks).
_CONTROLS = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff"
    "\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]"
)
_SEPARATORS = re.compile("[\r\u0085\u2028\u2029]\n?")  # line breaks other than \n, as \n
NEWLINE = " \u21b5 "  # how `line` shows a line break: one output line never becomes two

T = TypeVar("T")


def strip_controls(text: str) -> str:
    r"""`text` without ANSI escape sequences and control characters (newline and tab stay;
    other line breaks become newlines).

    >>> strip_controls("\x1b[31mOOM\x1b[0m at line\u202e 3\x07\r\n")
    'OOM at line 3\n'
    """
    return _CONTROLS.sub("", _SEPARATORS.sub("\n", _ESCAPES.sub("", text)))


def forms(secret: str) -> set[str]:
    """The spellings of `secret` an output may carry: as is; base64 (standard and URL-safe, with
    and without padding, of its UTF-8 and of its Latin-1 bytes); URL-encoded (with and without
    `/` kept, hex digits in either case); JSON-escaped (with non-ASCII as is or as `\\u` escapes
    in either case, `/` as is or escaped, and as Gson escapes `<>&='`); HTML-escaped (`'` and
    `"` as Python, Jetty or Go write them); stripped. White space inside may be any (`_spaced`)."""
    from urllib.parse import quote, quote_plus  # noqa: PLC0415 - only with a secret: 2 ms

    raw = [secret.encode("utf-8")]
    if secret.isascii() is False and all(ord(char) < 256 for char in secret):
        raw.append(secret.encode("latin-1"))
    spelled = {secret}
    for data in raw:
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(data).decode("ascii")
            spelled |= {text, text.rstrip("=")}
    for quoted in (quote(secret, safe=""), quote(secret), quote_plus(secret, safe="")):
        spelled |= {quoted, re.sub("%[0-9A-F]{2}", lambda m: m[0].lower(), quoted)}
    for escaped in (json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]):
        for json_form in (escaped, _gson(escaped)):
            upper = _upper_escapes(json_form)
            spelled |= {json_form, upper, json_form.replace("/", "\\/"), upper.replace("/", "\\/")}
    spelled |= {_gson(secret), _upper_escapes(_gson(secret))}  # a message quoting a body
    spelled.add(secret.strip())  # at a message's end
    for apostrophe in ("&#x27;", "&apos;", "&#39;"):  # in an HTML error page: Python, Jetty, Go
        page = html.escape(secret, quote=False).replace("'", apostrophe)
        spelled |= {page, page.replace('"', "&quot;"), page.replace('"', "&#34;")}
    return {form for form in spelled if form.strip()}


def _gson(text: str) -> str:
    """`text` with `<>&='` escaped as Gson escapes them by default (`\\u003c` ...)."""
    return re.sub("[<>&=']", lambda m: f"\\u{ord(m[0]):04x}", text)


def _upper_escapes(text: str) -> str:
    """`text` with its `\\u` escapes in upper-case hex, as Jackson writes them."""
    return re.sub(r"\\u([0-9a-f]{4})", lambda m: "\\u" + m[1].upper(), text)


def one_line(text: str) -> str:
    """`text` cleaned (`strip_controls`) and on one line: a message Fusion wrote over several
    lines could otherwise put `::error` or `::stop-commands::` at the start of a CI log line."""
    return strip_controls(text).replace("\n", NEWLINE)


def cleaned(value: T) -> T:
    """JSON-like `value` with every string cleaned (`strip_controls`), for XML and Markdown."""
    walked: T = _walk(value, strip_controls)
    return walked


def each_string(value: T, clean: Callable[[str], str]) -> T:
    """JSON-like `value` with every string, keys included, through `clean`."""
    walked: T = _walk(value, clean)
    return walked


def environment_secrets(environ: Mapping[str, str]) -> list[str]:
    """The credentials in `environ`, and Basic's `user:password` pair when both are set."""
    found = [environ[name] for name in SECRET_VARIABLES if environ.get(name, "").strip()]
    user, password = environ.get("FUSION_USER"), environ.get("FUSION_PASSWORD")
    if user and password:
        found.append(f"{user}:{password}")
    return found


class Redactor:
    """Masks known secrets: those given, and those `add`ed since (tokens Fusion hands out)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._known = {secret for secret in secrets if secret.strip()}  # a renewed token stays
        self._pattern: re.Pattern[str] | None = None
        self._stale = True

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Redactor:
        return cls(environment_secrets(environ))

    def add(self, secret: str) -> None:
        """Mask `secret` too, from now on."""
        if secret.strip() and secret not in self._known:
            self._known.add(secret)
            self._stale = True

    @property
    def active(self) -> bool:
        """Some secret is known: masking may change something."""
        return self._current() is not None

    def mask(self, value: str) -> str:
        """`value` with every known secret masked, and nothing else changed; but where a secret
        shows only once terminal codes and control characters are gone (as outputs remove
        them), those go too, and it is masked."""
        pattern = self._current()
        masked = _masked(value, pattern)
        if pattern is not None:
            bare = strip_controls(masked)
            if bare != masked and pattern.search(bare):
                return _masked(bare, pattern)
        return masked

    def text(self, value: str) -> str:
        """`value` for a line, XML or Markdown: no terminal codes, no control characters, no
        secrets."""
        return _masked(strip_controls(value), self._current())

    def line(self, value: str) -> str:
        """`value` as `text`, on one line (`one_line`)."""
        return one_line(self.mask(value))

    def pattern(self) -> re.Pattern[str] | None:
        """What masks secrets now: the same object until a new secret is known."""
        return self._current()

    def _current(self) -> re.Pattern[str] | None:
        if self._stale:
            self._stale = False
            spelled = {form for secret in self._known for form in forms(secret)}
            longest_first = sorted(spelled, key=lambda form: (-len(form), form))
            alternatives = [_spaced(form) for form in longest_first]
            # A message cut short (`…`) in the middle of a secret still holds its beginning.
            alternatives += [_beginning(form) + CUT for form in longest_first if len(form) > 3]
            self._pattern = re.compile("|".join(alternatives)) if alternatives else None
        return self._pattern


CUT = "…"  # how fusion-run marks a message it cut short


def _spaced(form: str) -> str:
    """A pattern for `form`, where its white space may be any other run of it (a tab, two
    spaces, a no-break space: as a message reflowed may show it)."""
    if not any(char.isspace() for char in form):
        return re.escape(form)
    spaces = r"\s+"
    inner = spaces.join(re.escape(part) for part in form.split())
    return (spaces if form[0].isspace() else "") + inner + (spaces if form[-1].isspace() else "")


def _beginning(form: str) -> str:
    """A pattern for the first 3 or more characters of `form`: `abc(?:d(?:e)?)?`."""
    pattern = ""
    for char in reversed(form[3:]):
        pattern = f"(?:{re.escape(char)}{pattern})?"
    return re.escape(form[:3]) + pattern


def _masked(value: str, pattern: re.Pattern[str] | None) -> str:
    if pattern is None:
        return value
    return pattern.sub(lambda m: MASK + CUT if m.group().endswith(CUT) else MASK, value)


def _walk(value: Any, clean: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return {clean(str(key)): _walk(item, clean) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_walk(item, clean) for item in value]
    return value
