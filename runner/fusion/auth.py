"""Credentials from the environment, put on each request, and renewed when Fusion asks.

`auth: auto` (the default) takes the kind from what the environment holds: FUSION_API_KEY
(api-key), FUSION_TOKEN (bearer), or FUSION_USER and FUSION_PASSWORD (basic); more than one is
ambiguous, and the plan must choose. A refusal (401) says what to check (`refusal_hint`).
Renewal follows what Lucidworks' own clients do: a session
clears its cookie and logs in again on a 401 (Fusion 4 says `session-idle-timeout` then), and an
oauth2 token from `POST {url}/oauth2/token` is fetched again 10 s before `expires_in` runs out, and
once on a 401. A fixed bearer token cannot be renewed: its refusal says so, and names oauth2.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from runner.errors import UsageError
from runner.fusion import ErrorKind, FusionError
from runner.plan import Auth

NEEDS = {
    Auth.BASIC: ("FUSION_USER", "FUSION_PASSWORD"),
    Auth.SESSION: ("FUSION_USER", "FUSION_PASSWORD"),
    Auth.OAUTH2: ("FUSION_USER", "FUSION_PASSWORD"),
    Auth.API_KEY: ("FUSION_API_KEY",),
    Auth.BEARER: ("FUSION_TOKEN",),
    Auth.NONE: (),
}
RENEW_AHEAD = 10.0  # seconds before a token expires that a new one is fetched
_AUTO = (("FUSION_API_KEY", Auth.API_KEY), ("FUSION_TOKEN", Auth.BEARER))

# The client's own request, with no renewal of credentials: its `Reply` (`runner.fusion.client`), or
# FusionError on an error answer.
Send = Callable[..., Any]


def resolve(auth: Auth, environ: Mapping[str, str]) -> Auth:
    """The kind of auth to use: the plan's, or with auto, the one the environment holds."""
    if auth is not Auth.AUTO:
        return auth
    found = [(name, kind) for name, kind in _AUTO if environ.get(name)]
    if environ.get("FUSION_USER") or environ.get("FUSION_PASSWORD"):
        found.append(("FUSION_USER", Auth.BASIC))
    if len(found) > 1:
        names = " and ".join(name for name, _ in found)
        raise UsageError(
            f"{names} are both set: say in the plan which to use, with fusion.auth: "
            + " or ".join(str(kind) for _, kind in found)
        )
    if not found:
        raise UsageError(
            "no credentials in the environment: set FUSION_API_KEY, FUSION_TOKEN, or "
            "FUSION_USER and FUSION_PASSWORD (or fusion.auth: none for a Fusion without security)"
        )
    return found[0][1]


def credentials(auth: Auth, environ: Mapping[str, str]) -> dict[str, str]:
    """The environment variables `auth` needs; UsageError naming the first one missing."""
    found = {}
    for name in NEEDS[auth]:
        value = environ.get(name)
        if not value:
            needs = " and ".join(NEEDS[auth])
            raise UsageError(
                f"{name} is not set: fusion.auth {auth} needs {needs} in the environment"
            )
        found[name] = value
    return found


def refused(error: FusionError) -> str:
    """A refusal of the credentials in words: a 401 says what to check already (`refusal_hint`);
    a 403, that Fusion took them, but not for this."""
    if error.status != 403:
        return str(error)
    return (
        f"{error}; Fusion knows these credentials, but they may not do this: give that user or "
        "key a role in Fusion that may read and start the plan's jobs"
    )


def refusal_hint(auth: Auth, realm: str) -> str:
    """What to check when Fusion refuses the credentials of kind `auth` (a 401), naming the
    environment variables and plan settings that hold them."""
    if auth is Auth.NONE:
        return (
            "this Fusion asks for credentials: set fusion.auth (it is none) and FUSION_USER and "
            "FUSION_PASSWORD, FUSION_API_KEY or FUSION_TOKEN"
        )
    if auth is Auth.BEARER:
        return (
            "the token from FUSION_TOKEN may have expired: with fusion.auth: oauth2, "
            "fusion-run gets its own tokens and renews them"
        )
    names = " and ".join(NEEDS[auth])
    if auth is Auth.SESSION:
        return f"check {names}, and fusion.realm ({realm}): the realm that user logs in to"
    return f"check {names} (fusion.auth {auth})"


class Credentials:
    """The credentials' headers for each request, renewed when they run out."""

    def __init__(
        self,
        auth: Auth,
        environ: Mapping[str, str],
        *,
        url: str,
        realm: str,
        monotonic: Callable[[], float] = time.monotonic,
        obtained: Callable[[str], None] = lambda _: None,
    ) -> None:
        self.auth = resolve(auth, environ)
        self.secrets = credentials(self.auth, environ)
        self.url = url
        self.realm = realm
        self.monotonic = monotonic
        self.tell = obtained  # told of each secret Fusion hands out, to be masked
        self.renew_at: float | None = None  # clock time to fetch a new session or token
        self.obtained: list[str] = []  # every token and session cookie Fusion handed out
        self.cookies: dict[str, str] = {}  # what Fusion set, sent back on every request
        self.header: dict[str, str] = {}
        if self.auth is Auth.BASIC:
            self.header = {"Authorization": self._basic()}
        elif self.auth is Auth.API_KEY:
            self.header = {"x-api-key": self.secrets["FUSION_API_KEY"]}
        elif self.auth is Auth.BEARER:
            self.header = {"Authorization": f"Bearer {self.secrets['FUSION_TOKEN']}"}
        elif self.auth in (Auth.SESSION, Auth.OAUTH2):
            self.renew_at = float("-inf")  # before the first request

    def _basic(self) -> str:
        """Basic's header, the pair encoded as UTF-8 (RFC 7617's charset): requests would use
        Latin-1, which cannot hold a password such as 'p€ss'."""
        pair = f"{self.secrets['FUSION_USER']}:{self.secrets['FUSION_PASSWORD']}"
        return "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")

    def headers(self) -> dict[str, str]:
        """The headers that carry the credentials (and the cookies Fusion set) on a request."""
        if not self.cookies:
            return self.header
        cookie = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        return {**self.header, "Cookie": cookie}

    def keep(self, cookies: Mapping[str, str]) -> None:
        """Keep the cookies an answer set, as a browser would."""
        self.cookies.update(cookies)

    def _obtained(self, secret: str) -> None:
        if secret:
            self.obtained.append(secret)
            self.tell(secret)

    @property
    def renewable(self) -> bool:
        return self.auth in (Auth.SESSION, Auth.OAUTH2)

    def values(self) -> list[str]:
        """Every secret in play, and every one Fusion handed out (a token renewed since may
        still be quoted in an earlier error): never to be shown. FUSION_USER is a name, not a
        secret (`runner.redact` masks it with its password, as Basic's pair)."""
        given = [value for name, value in self.secrets.items() if name != "FUSION_USER"]
        return [*given, *self.obtained]

    def before(self, send: Send) -> None:
        """Log in, or fetch a token, when none is held or the one held is about to expire."""
        if self.renew_at is not None and self.monotonic() >= self.renew_at:
            self.renew(send)

    def renew(self, send: Send) -> None:
        if self.auth is Auth.SESSION:
            self._log_in(send)
        elif self.auth is Auth.OAUTH2:
            self._fetch_token(send)

    def _log_in(self, send: Send) -> None:
        self.cookies.clear()  # the old cookie would only be refused again
        url = f"{self.url}/api/session"
        body = {
            "username": self.secrets["FUSION_USER"],
            "password": self.secrets["FUSION_PASSWORD"],
        }
        send("POST", url, params={"realmName": self.realm}, json_body=body)
        for value in self.cookies.values():
            self._obtained(value)
        self.renew_at = float("inf")  # until Fusion refuses it

    def _fetch_token(self, send: Send) -> None:
        url = f"{self.url}/oauth2/token"
        self.header = {}
        reply = send("POST", url, headers={"Authorization": self._basic()})
        try:
            answer: Any = json.loads(reply.body)
            token, lifetime = str(answer["access_token"]), float(answer.get("expires_in", 1800))
        except (ValueError, KeyError, TypeError):
            raise FusionError(
                method="POST",
                url=url,
                kind=ErrorKind.OTHER,
                status=reply.status,
                what="Fusion's answer holds no access_token",
            ) from None
        self.header = {"Authorization": f"Bearer {token}"}
        self._obtained(token)
        ahead = RENEW_AHEAD if lifetime > 15 else 2.0
        self.renew_at = self.monotonic() + lifetime - ahead
