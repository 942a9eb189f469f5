"""Durations as plans write them: integer seconds or strings like 90s, 5m, 2h, 1h30m, 1d."""

from __future__ import annotations

import re

# Kept in step with "$defs.duration" in schemas/plan.schema.json.
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
MAX_DURATION = 365 * 86400  # seconds: the longest duration a plan may give, 365d


def parse_duration(value: int | str) -> int:
    """Seconds in `value`. The schema has vetted the form; this raises ValueError otherwise.

    >>> parse_duration("1h30m"), parse_duration(90), parse_duration("2d")
    (5400, 90, 172800)
    """
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"not a duration: {value!r}")
        return value
    match = _DURATION.match(value)
    if not value or match is None:
        raise ValueError(f"not a duration: {value!r}")
    # Leading zeros are dropped first: Python refuses to convert more than 4,300 digits.
    return sum(
        int(n.lstrip("0") or "0") * size
        for n, (_, size) in zip(match.groups(), _UNITS, strict=True)
        if n
    )


def exceeds(value: str, limit: int) -> bool:
    """Whether the duration `value` is longer than `limit` seconds; False when it is no duration.

    Numbers too long to matter are not converted, so a duration of 5,000 digits costs nothing.

    >>> exceeds("365d", 365 * 86400), exceeds("365d1s", 365 * 86400), exceeds("9" * 5000 + "d", 1)
    (False, True, True)
    """
    match = _DURATION.match(value)
    if not value or match is None:
        return False
    if any(len(n.lstrip("0")) > len(str(limit)) for n in match.groups() if n):
        return True
    return parse_duration(value) > limit


def format_duration(seconds: float) -> str:
    """The shortest plan-style spelling of `seconds`: whole seconds, but tenths under 10 s.

    >>> format_duration(5400), format_duration(0), format_duration(59.6), format_duration(0.24)
    ('1h30m', '0s', '1m', '0.2s')
    """
    if seconds < 9.95 and seconds != int(seconds):
        return f"{seconds:.1f}s"
    rest = round(seconds)
    if rest == 0:
        return "0s"
    parts = []
    for unit, size in _UNITS:
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
