"""Fuzz `fusion-run PLAN --validate`: every plan must give exit 0 or 2, never an internal error.

    python bench/fuzz_validate.py                    # 12,000 plans, seed 1
    python bench/fuzz_validate.py -n 3000 --seed 7 -v

Plans of three kinds, in equal numbers: random bytes (and random YAML punctuation), the example
plans damaged (bytes inserted, deleted or replaced; values retyped, nested or swollen) and a
complete plan with one to three settings replaced by hostile values (explicit tags that do not
fit, numbers of thousands of digits, flow collections nested hundreds of levels, JSON literals in
`expect` nested hundreds of levels, durations with thousands of leading zeros, scalars that YAML
1.1 and 1.2 read apart). Each is validated in this process, with and without a variable set, as
click's test runner calls the command line. It prints the count of each exit code and, for each
plan that ended otherwise than 0 or 2, its first line of output (`-v`: and the plan's file, kept).
The exit status is 1 when any did.
"""

from __future__ import annotations

import argparse
import collections
import random
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from runner import cli  # noqa: E402

EXAMPLES = [p.read_text() for p in sorted((ROOT / "examples").glob("*.yaml"))]
PUNCTUATION = ["[", "]", "{", "}", ": ", "- ", "? ", "&a ", "*a", "!!", "'", '"', "`", "\n", "  "]
TAGS = ["!!int", "!!float", "!!bool", "!!null", "!!str", "!!binary", "!!timestamp", "!!map"]


def deep(rng: random.Random) -> str:
    depth = rng.choice([40, 100, 500, 999, 1001, 5000])
    if rng.random() < 0.5:
        return "[" * depth + "]" * depth
    return "{a: " * depth + "b" + "}" * depth


HOSTILE: list[Callable[[random.Random], str]] = [
    lambda r: r.choice(TAGS) + " " + r.choice(["", "''", "_", ".", "0x", "0b", "-", "~", "x"]),
    lambda r: r.choice(["", "-", "+"]) + "9" * r.choice([599, 601, 4300, 4301, 5000]),
    lambda r: "0" * r.choice([10, 600, 5000]) + r.choice(["1", "1s", "1m", "9", "1d1h"]),
    lambda r: "'" + "0" * r.choice([600, 5000]) + r.choice(["1s", "1h30m"]) + "'",
    lambda r: "'a == `" + "[" * r.choice([49, 51, 500, 989, 5000]) + "`'",
    lambda r: "'`" + '{"a": ' * r.choice([51, 300]) + "1" + "}" * r.choice([0, 51, 300]) + "`'",
    lambda r: "'" + "(" * r.choice([60, 600]) + "a" + ")" * r.choice([0, 60, 600]) + "'",
    deep,
    lambda r: r.choice(["1:30", "010", "09", "0o17", "0x1F", "yes", "Off", "y", "1_000", "0b101"]),
    lambda r: r.choice(["1e3", "1e999", ".nan", "-.inf", "1:30:00", "0x_", "0b_", "._", "~", ""]),
    lambda r: r.choice(["${X}", "${UNSET}", "${X:-010}", "'${X}'", "${", "$${X}", "${1X}"]),
    lambda r: r.choice(["[a, a]", "{}", "[]", "null", "true", "'yes'", "366d", "-1", "101"]),
]
BASE = """\
version: 1
name: n
fusion: {url: 'https://f.example.com', verify: true, connect_timeout: 10s}
max_parallel: 2
timeout: 1h
defaults: {retries: 1, success: {expect: [a]}}
steps:
  - crawl
  - job: index
    name: i
    timeout: 1h
    retries: 1
    retry_backoff: 2
    retry_delay: 1m
    depends_on: [crawl]
    allow_failure: false
    success: {states: [finished], max_duration: 1h, expect: [a], warn: [b]}
"""
PLACES = [
    "version: 1",
    "name: n",
    "max_parallel: 2",
    "timeout: 1h",
    "retries: 1",
    "connect_timeout: 10s",
    "verify: true",
    "expect: [a]",
    "retry_backoff: 2",
    "retry_delay: 1m",
    "depends_on: [crawl]",
    "allow_failure: false",
    "max_duration: 1h",
    "warn: [b]",
    "  - crawl",
]


def random_bytes(rng: random.Random) -> bytes:
    if rng.random() < 0.5:
        return rng.randbytes(rng.randint(0, 400))
    words = [rng.choice([*PUNCTUATION, "a", "1", "version", "steps", "job"]) for _ in range(60)]
    return ("version: 1\nsteps:\n" + "".join(words)).encode()


def damaged_text(rng: random.Random) -> bytes:
    text = bytearray(rng.choice(EXAMPLES).encode())
    for _ in range(rng.randint(1, 6)):
        at = rng.randint(0, len(text))
        kind = rng.choice(["insert", "delete", "replace"])
        if kind == "insert":
            text[at:at] = (
                rng.randbytes(rng.randint(1, 8))
                if rng.random() < 0.5
                else (rng.choice(PUNCTUATION).encode())
            )
        elif kind == "delete":
            del text[at : at + rng.randint(1, 10)]
        else:
            text[at : at + 1] = rng.randbytes(1)
    return bytes(text)


def damaged_data(rng: random.Random) -> bytes:
    plan = yaml.safe_load(rng.choice(EXAMPLES))
    places: list[tuple[Any, Any]] = []

    def walk(node: Any) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in list(items):
            places.append((node, key))
            if isinstance(value, dict | list):
                walk(value)

    walk(plan)
    for _ in range(rng.randint(1, 4)):
        container, key = rng.choice(places)
        choice = rng.random()
        if choice < 0.4:
            container[key] = rng.choice([None, True, 0, -1, 1.5, "", "x" * 2000, [], {}, [1, "a"]])
        elif choice < 0.7:
            for _ in range(rng.randint(1, 30)):
                container[key] = [container[key]] if rng.random() < 0.5 else {"x": container[key]}
        else:
            container[key] = "HOSTILE"
    text = yaml.safe_dump(plan, sort_keys=False, allow_unicode=True)
    return text.replace("HOSTILE", rng.choice(HOSTILE)(rng), 1).encode()


def hostile_values(rng: random.Random) -> bytes:
    text = BASE
    for place in rng.sample(PLACES, rng.randint(1, 3)):
        key, _, _ = place.partition(":")
        value = rng.choice(HOSTILE)(rng)
        text = text.replace(place, f"{key}: {value}" if ":" in place else f"  - {value}", 1)
    return text.encode()


KINDS = [random_bytes, damaged_text, damaged_data, hostile_values]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=12_000, help="how many plans (default 12000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("-v", action="store_true", help="keep and name each failing plan's file")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    codes: collections.Counter[int] = collections.Counter()
    failures: collections.Counter[str] = collections.Counter()
    runner = CliRunner()
    with tempfile.TemporaryDirectory() as folder:
        for number in range(args.n):
            path = Path(folder) / f"plan-{number}.yaml"
            path.write_bytes(KINDS[number % len(KINDS)](rng))
            env = {"X": rng.choice(["2", "010", "yes", "9" * 5000, ".nan", "1:30"])}
            result = runner.invoke(cli.main, [str(path), "--validate"], env=env)
            codes[result.exit_code] += 1
            if result.exit_code not in (0, 2):
                lines = (result.stderr or result.stdout or repr(result.exception)).splitlines()
                failures[f"{KINDS[number % len(KINDS)].__name__}: {lines[0][:160]}"] += 1
                if args.v:
                    kept = Path(tempfile.mkdtemp(prefix="fuzz-")) / path.name
                    kept.write_bytes(path.read_bytes())
                    print(f"exit {result.exit_code}: {kept}")
            else:
                path.unlink()
    print(f"{args.n} plans: " + ", ".join(f"exit {c}: {n}" for c, n in sorted(codes.items())))
    for line, count in failures.most_common():
        print(f"{count:6}  {line}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
