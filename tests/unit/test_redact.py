"""Every output boundary masks known credentials and drops terminal codes: the one module that does
it (tests/scenario/test_redact.py holds every output of a plan whose Fusion echoes secrets)."""

from __future__ import annotations

import base64
import json
from typing import Any

from runner.fusion.client import FusionClient
from runner.redact import MASK, Redactor, cleaned, forms, strip_controls
from tests.helpers.fakes import CREDENTIALS

PASSWORD, API_KEY, TOKEN = (
    CREDENTIALS[name] for name in ("FUSION_PASSWORD", "FUSION_API_KEY", "FUSION_TOKEN")
)
PAIR = base64.b64encode(f"{CREDENTIALS['FUSION_USER']}:{PASSWORD}".encode()).decode()
OBTAINED = "oauth2-t0ken-fusion-handed-out"  # a token the client got from Fusion


def test_terminal_codes_and_control_characters_are_stripped() -> None:
    assert strip_controls(
        "\x1b[1;31mred\x1b[0m \x1b]8;;http://x\x07link\x1b]8;;\x07 \x9b2Jc1\x85 bell\x07 "
        "cr\r nul\x00 \ud800lone \ufffe\n\ttab"
    ) == ("red link c1\n bell cr\n nul lone \n\ttab")  # NEL and CR break lines as \n does
    assert strip_controls("a\u202eb\u2066c\u200bd\u2028e") == "abcd\ne"  # bidi, zero-width


def test_a_console_line_stays_one_line() -> None:
    """A multi-line Fusion message cannot put a workflow command at the start of a log line."""
    message = "boom\n::error file=evil.yaml::injected\r\n::stop-commands::x\u2028::add-mask::y"
    assert Redactor().line(message) == (
        "boom \u21b5 ::error file=evil.yaml::injected \u21b5 ::stop-commands::x \u21b5 "
        "::add-mask::y"
    )


def test_each_spelling_of_a_secret_is_masked() -> None:
    secret = 'p@ss "w/rd"\\é'
    utf8, latin1 = secret.encode(), secret.encode("latin-1")
    assert forms(secret) == {
        secret,
        *(base64.b64encode(data).decode().rstrip(pad) for data in (utf8, latin1) for pad in "=-"),
        *(
            base64.urlsafe_b64encode(data).decode().rstrip(p)
            for data in (utf8, latin1)
            for p in "=-"
        ),
        "p%40ss%20%22w%2Frd%22%5C%C3%A9",  # quote(secret, safe=""), and with lower-case hex:
        "p%40ss%20%22w%2frd%22%5c%c3%a9",
        "p%40ss%20%22w/rd%22%5C%C3%A9",  # quote(secret): "/" kept
        "p%40ss%20%22w/rd%22%5c%c3%a9",
        "p%40ss+%22w%2Frd%22%5C%C3%A9",  # quote_plus
        "p%40ss+%22w%2frd%22%5c%c3%a9",
        'p@ss \\"w/rd\\"\\\\\\u00e9',  # JSON, ASCII only
        'p@ss \\"w/rd\\"\\\\\\u00E9',  # ... as Jackson writes \u escapes
        'p@ss \\"w\\/rd\\"\\\\\\u00e9',  # ... with "/" escaped
        'p@ss \\"w\\/rd\\"\\\\\\u00E9',
        'p@ss \\"w/rd\\"\\\\é',  # JSON, UTF-8
        'p@ss \\"w\\/rd\\"\\\\é',
        "p@ss &quot;w/rd&quot;\\é",  # HTML, in an error page: `"` as Jetty writes it,
        "p@ss &#34;w/rd&#34;\\é",  # as Go does, and as is (Python's quote=False)
    }
    redact = Redactor([secret])
    assert redact.text(f"a {json.dumps(secret)} b {secret} c") == f'a "{MASK}" b {MASK} c'


def test_a_secret_is_masked_as_gateways_and_libraries_escape_it() -> None:
    """Jetty writes `'` as `&apos;`, Go and Spring as `&#39;`, Python as `&#x27;`; Gson
    escapes `<>&='` as `\\u003c` ...; a reflowed message may put any white space for a space."""
    redact = Redactor(["it's=<Pa55&w0rd> now"])
    for echo in (
        "it&apos;s=&lt;Pa55&amp;w0rd&gt; now",
        "it&#39;s=&lt;Pa55&amp;w0rd&gt; now",
        "it&#x27;s=&lt;Pa55&amp;w0rd&gt; now",
        "it\\u0027s\\u003d\\u003cPa55\\u0026w0rd\\u003e now",
        "it\\u0027s\\u003D\\u003CPa55\\u0026w0rd\\u003E now",
        "it's=<Pa55&w0rd>\tnow",
        "it's=<Pa55&w0rd>\u00a0 now",
    ):
        assert redact.mask(f"denied: {echo}.") == "denied: ***.", echo


def test_a_secret_is_masked_where_only_the_outputs_cleaning_would_show_it() -> None:
    """Fusion's words with a zero-width space, an ANSI code or a NUL inside the secret: the
    outputs remove those, which would leave the secret whole."""
    redact = Redactor(["Secret123"])
    for echo in ("Sec\u200bret123", "Sec\x1b[31mret123", "Se\x00cret123"):
        assert redact.mask(f"denied: {echo}!") == "denied: ***!"
    assert redact.mask("a\x1b[31m b") == "a\x1b[31m b"  # no secret: nothing changed
    assert Redactor([" Pad "]).mask("denied: Pad") == "denied: ***"  # at a message's end


def test_the_environment_credentials_are_masked_but_not_the_user_name() -> None:
    redact = Redactor.from_environ({**CREDENTIALS, "FUSION_URL": "http://fusion"})
    line = (
        f"user {CREDENTIALS['FUSION_USER']}: {PASSWORD} {API_KEY} Bearer {TOKEN} Basic {PAIR} "
        f"at http://fusion"
    )
    assert redact.text(line) == (
        f"user {CREDENTIALS['FUSION_USER']}: *** *** Bearer *** Basic *** at http://fusion"
    )
    assert Redactor.from_environ({"FUSION_PASSWORD": " "}).text("a b") == "a b"


def test_tokens_obtained_later_are_masked_and_stay_masked_once_renewed() -> None:
    redact = Redactor()
    redact.add("first-token-of-the-day")
    assert redact.text("Bearer first-token-of-the-day") == "Bearer ***"
    redact.add("second-token-of-the-day")
    assert redact.text("first-token-of-the-day, second-token-of-the-day") == "***, ***"


def test_what_fusion_reports_is_masked_but_its_names_keys_and_shape() -> None:
    """Values are Fusion's words; keys (`extra."counter.output"`) and what names a run, a job
    or a moment are what a program reads. With the password `j`, the job `j` stays `j`."""
    client = FusionClient(url="http://f", redact=Redactor(["j"]), environ={})
    data: dict[str, Any] = {
        "a": ["xj", 1, None, {"j": "\x1b[31mj"}],
        "result": {"jobConfigId": "j", "jobRunId": "jj", "exception": {"message": "j!"}},
        "x": {"status": "failed for user j", "id": "j\x1b[0m"},  # words where a name should be
    }
    assert client._words(data) == {
        "a": ["x***", 1, None, {"j": "\x1b[31m***"}],
        "result": {"jobConfigId": "j", "jobRunId": "jj", "exception": {"message": "***!"}},
        "x": {"status": "failed for user ***", "id": "***\x1b[0m"},
    }
    assert cleaned(data)["a"][3] == {"j": "j"}
    assert FusionClient(url="http://f", environ={})._words(data) is data  # nothing to mask
