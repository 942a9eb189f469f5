from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from check_jsonschema.parsers.yaml import construct_yaml_implementation  # type: ignore[import-untyped]
from hypothesis import given, settings
from hypothesis import strategies as st

from runner.plan import source
from runner.plan.core_schema import CoreLoader
from runner.plan.problems import InvalidPlan
from runner.plan.source import MAX_DEPTH, MAX_DIGITS, MAX_PLAN_BYTES, Document, parse, read_text
from runner.plan.variables import Unset


def declaring(text: str, *names: str) -> str:
    """`text` with `names` declared, with no default, after it (so its lines keep their numbers)."""
    return f"{text}variables: {{{', '.join(f'{name}: null' for name in names)}}}\n"


def data_of(doc: Document) -> object:
    """The document's data but its declarations."""
    return {key: value for key, value in doc.data.items() if key != "variables"}


def problems_of(text: str, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(InvalidPlan) as caught:
        parse(text, "p.yaml", environ=environ)
    return [str(problem) for problem in caught.value.problems]


def test_positions_of_values_and_keys() -> None:
    doc = parse("version: 1\nsteps:\n  - crawl\n  - job: index\n    retries: 2\n", "p.yaml")
    assert doc.data == {"version": 1, "steps": ["crawl", {"job": "index", "retries": 2}]}
    assert doc.locate(("steps", 0)) == (3, 5)
    assert doc.locate(("steps", 1, "retries")) == (5, 14)
    assert doc.locate(("steps", 1, "retries"), key=True) == (5, 5)
    assert doc.locate(("steps", 1, "missing")) == (4, 5)  # the nearest enclosing value


def test_dates_stay_strings_and_scalars_keep_yaml_types() -> None:
    doc = parse("a: 2024-01-01\nb: 0x10\nc: null\nd: true\ne: 1.5\nf: '7'\n", "p.yaml")
    assert doc.data == {"a": "2024-01-01", "b": 16, "c": None, "d": True, "e": 1.5, "f": "7"}


def test_non_string_keys_keep_their_text() -> None:
    assert parse("1: a\ntrue: b\n", "p.yaml").data == {"1": "a", "true": "b"}


def test_complex_keys_are_refused() -> None:
    assert problems_of("? [a, b]\n: c\n") == ["p.yaml:1:3: $: a mapping key must be a plain string"]


@pytest.mark.parametrize(
    "text",
    ["a: " + "[" * 40 + "]" * 40, "a:\n" + "".join(f"{'  ' * i}- \n" for i in range(1, 40))],
    ids=["flow", "block"],
)
def test_deep_nesting_is_refused(text: str) -> None:
    [problem] = problems_of(text)
    assert problem.endswith("nested more than 32 levels deep")


def test_flow_nesting_bomb_is_a_yaml_error() -> None:
    [problem] = problems_of("a: " + "[" * 100_000)
    assert problem.startswith("p.yaml:1:")
    assert "invalid YAML" in problem


class TestInterpolation:
    def test_variables_then_environment_then_default(self) -> None:
        doc = parse(
            declaring("a: ${X}\nb: ${Y}\nc: ${Z:-zed}\nd: x-${X}-${Y}\n", "X", "Y", "Z"),
            "p.yaml",
            variables={"X": "from-var"},
            environ={"X": "from-env", "Y": "from-env"},
        )
        assert data_of(doc) == {
            "a": "from-var",
            "b": "from-env",
            "c": "zed",
            "d": "x-from-var-from-env",
        }

    def test_plain_whole_reference_takes_the_type_of_its_value(self) -> None:
        text = "a: ${N:-3}\nb: '${N:-3}'\nc: ${B:-false}\nd: n${N:-3}\n"
        doc = parse(declaring(text, "N", "B"), "p.yaml")
        assert data_of(doc) == {"a": 3, "b": "3", "c": False, "d": "n3"}

    def test_escape(self) -> None:
        assert parse("a: $${X} costs $5\n", "p.yaml").data == {"a": "${X} costs $5"}

    def test_empty_default_and_empty_value(self) -> None:
        doc = parse(declaring("a: x${A:-}y\nb: x${B}y\n", "A", "B"), "p.yaml", environ={"B": ""})
        assert data_of(doc) == {"a": "xy", "b": "xy"}

    def test_keys_are_not_interpolated(self) -> None:
        assert parse("${X}: 1\n", "p.yaml", environ={"X": "y"}).data == {"${X}": 1}

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("a: ${X\n", "p.yaml:1:4: $.a: unterminated '${': write ${NAME} or ${NAME:-default}"),
            (
                "a: ${1X}\n",
                "p.yaml:1:4: $.a: invalid reference '${1X}': write ${NAME} or ${NAME:-default}",
            ),
            (
                "a: ${X-y}\n",
                "p.yaml:1:4: $.a: invalid reference '${X-y}': write ${NAME} or ${NAME:-default}",
            ),
            (
                declaring("a:\n  - ${MISSING}\n", "MISSING"),
                "p.yaml:2:5: $.a[0]: undefined variable MISSING: pass --var MISSING=VALUE, "
                "set it in the environment, or write ${MISSING:-default}",
            ),
            (
                declaring("a: ${SIET}\n", "SITE"),
                "p.yaml:1:4: $.a: ${SIET} is not declared (did you mean SITE?): "
                "add SIET under variables:",
            ),
        ],
    )
    def test_bad_references(self, text: str, message: str) -> None:
        assert problems_of(text) == [message]

    @pytest.mark.parametrize("name", ["FUSION_PASSWORD", "FUSION_API_KEY", "FUSION_TOKEN"])
    def test_credentials_are_never_interpolated(self, name: str) -> None:
        with pytest.raises(InvalidPlan) as caught:
            parse(f"a: ${{{name}}}\n", "p.yaml", environ={name: "s3cret"})
        [problem] = caught.value.problems
        assert problem.message == (
            f"{name} is a credential: fusion-run reads it from the environment itself, "
            "and it may not appear in a plan"
        )
        assert "s3cret" not in str(problem)


class TestUnsetVariables:
    """With `unset_allowed` (--validate), a variable set nowhere is noted, and its value unknown."""

    def test_unset_values_are_noted_not_refused(self) -> None:
        doc = parse(
            declaring(
                "a: ${URL}\nb: x-${A}-${B}-${C:-c}\nc: ${N:-3}\nd: ${SET}\n",
                *("URL", "A", "B", "C", "N", "SET"),
            ),
            "p.yaml",
            environ={"SET": "4"},
            unset_allowed=True,
        )
        assert data_of(doc) == {"a": "${URL}", "b": "x-${A}-${B}-${C:-c}", "c": 3, "d": 4}
        assert isinstance(doc.data["a"], Unset)
        assert isinstance(doc.data["b"], Unset)
        assert doc.unset == {("a",), ("b",)}
        assert [str(note) for note in doc.notes] == [
            "p.yaml:1:4: $.a: ${URL} is not set here: its value is checked when the plan runs",
            "p.yaml:2:4: $.b: ${A} and ${B} are not set here: its value is checked when the plan "
            "runs",
        ]

    def test_other_reference_problems_stay_problems_and_keep_the_notes(self) -> None:
        with pytest.raises(InvalidPlan) as caught:
            parse(declaring("a: ${URL}\nb: ${FUSION_TOKEN}\n", "URL"), "p.yaml", unset_allowed=True)
        assert [p.message for p in caught.value.problems] == [
            "FUSION_TOKEN is a credential: fusion-run reads it from the environment itself, "
            "and it may not appear in a plan"
        ]
        assert [str(note) for note in caught.value.notes] == [
            "p.yaml:1:4: $.a: ${URL} is not set here: its value is checked when the plan runs"
        ]

    def test_otherwise_an_unset_variable_is_a_problem(self) -> None:
        assert problems_of(declaring("a: ${URL}\n", "URL")) == [
            "p.yaml:1:4: $.a: undefined variable URL: pass --var URL=VALUE, set it in the "
            "environment, or write ${URL:-default}"
        ]


class TestNumbersAndTags:
    """Only values Python can hold and print, and each tag's value of its own type."""

    @pytest.mark.parametrize(
        ("text", "value"),
        [
            ("!!int 12", 12),
            ("!!float 2", 2.0),
            ("!!str 12", "12"),
            ("!!null ''", None),
            ("!!bool True", True),
            ("._", "._"),
            ("9" * MAX_DIGITS, int("9" * MAX_DIGITS)),
            ("1.5e+300", 1.5e300),
        ],
    )
    def test_values(self, text: str, value: object) -> None:
        assert parse(f"a: {text}\n", "p.yaml").data == {"a": value}

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            (
                "!!int abc",
                "'abc' is not an integer as its tag !!int says: remove the tag, or "
                "write an integer",
            ),
            (
                "!!bool '1'",
                "'1' is not true or false as its tag !!bool says: remove the tag, or "
                "write true or false",
            ),
            (
                "!!float " + "x" * 40,
                f"'{'x' * 27}...' is not a number as its tag !!float says: "
                "remove the tag, or write a number",
            ),
            (
                "1" * (MAX_DIGITS + 1),
                "a number of more than 600 digits is too large for any "
                "setting: write a smaller one",
            ),
            (
                "9" * 5000,
                "a number of more than 600 digits is too large for any setting: write "
                "a smaller one",
            ),
            (
                "0" + "7" * 700,
                "a number of more than 600 digits is too large for any setting: "
                "write a smaller one",
            ),
            (
                "0x" + "f" * 500,
                "a number of more than 600 digits is too large for any setting: "
                "write a smaller one",
            ),
            (
                "!!bool yes",
                "'yes' is not true or false as its tag !!bool says: remove the tag, or "
                "write true or false",
            ),
            ("!!null x", "'x' is not null as its tag !!null says: remove the tag, or write null"),
            (
                "!!int ''",
                "'' is not an integer as its tag !!int says: remove the tag, or write an integer",
            ),
            (
                "!!int _",
                "'_' is not an integer as its tag !!int says: remove the tag, or write an integer",
            ),
            (
                "!!float ''",
                "'' is not a number as its tag !!float says: remove the tag, or write a number",
            ),
            (
                "!!int 1_000",
                "'1_000' is not an integer as its tag !!int says: remove the tag, or write an "
                "integer",
            ),
            (".NaN", "'.NaN' is not a number: write a number such as 1.5"),
            ("-.inf", "'-.inf' is infinite: write a number such as 1.5"),
            ("!!float 1e999", "'1e999' is too large: write a number such as 1.5"),
            ("9" * 400 + ".0", f"'{'9' * 27}...' is too large: write a number such as 1.5"),
        ],
    )
    def test_refused(self, text: str, message: str) -> None:
        assert problems_of(f"a: {text}\n") == [f"p.yaml:1:4: $.a: {message}"]

    def test_a_variable_becomes_a_number_under_the_same_rules(self) -> None:
        assert problems_of(declaring("a: ${X}\n", "X"), environ={"X": ".nan"}) == [
            "p.yaml:1:4: $.a: ${X} gives a number no setting can take (not a number, infinite, "
            "or more than 600 digits): set X to a number such as 1.5"
        ]
        doc = parse(declaring("a: ${X}\n", "X"), "p.yaml", environ={"X": "0b_"})
        assert data_of(doc) == {"a": "0b_"}


class TestYaml12:
    """Plain scalars as YAML 1.2's core schema reads them; refused if YAML 1.1 reads otherwise."""

    @pytest.mark.parametrize(
        ("text", "value"),
        [
            ("10", 10),
            ("-10", -10),
            ("+7", 7),
            ("0", 0),
            ("00", 0),  # 0 in both
            ("0x1F", 31),
            ("1.5", 1.5),
            (".5", 0.5),
            ("1.", 1.0),
            ("1.0e+3", 1000.0),
            *((word, True) for word in ("true", "True", "TRUE")),
            *((word, False) for word in ("false", "False", "FALSE")),
            *((word, None) for word in ("null", "Null", "NULL", "~", "")),
            *((word, word) for word in ("tRUE", "nULL", "0:30", "._", "0o8", "1h30m")),
            ("2024-01-01", "2024-01-01"),
            *((f"'{word}'", word) for word in ("yes", "010", "1:30", "1_000", "0o17", "y")),
            *((f'"{word}"', word) for word in ("on", "0b101", "1e3", "=", "<<")),
            ("!!str 010", "010"),
        ],
    )
    def test_values(self, text: str, value: object) -> None:
        assert parse(f"a: {text}\n", "p.yaml").data == {"a": value}

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("010", "010 is 10 in YAML 1.2 but 8 in YAML 1.1: write 10 (or quote it: '010')"),
            ("-010", "-010 is -10 in YAML 1.2 but -8 in YAML 1.1: write -10 (or quote it: '-010')"),
            ("!!int 010", "010 is 10 in YAML 1.2 but 8 in YAML 1.1: write 10 (or quote it: '010')"),
            ("09", "09 is 9 in YAML 1.2 but text in YAML 1.1: write 9 (or quote it: '09')"),
            ("0o17", "0o17 is 15 in YAML 1.2 but text in YAML 1.1: write 15 (or quote it: '0o17')"),
            (
                "1:30",
                "1:30 is text in YAML 1.2 but 90 in YAML 1.1: write 90s or 1m30s "
                "(or quote it: '1:30')",
            ),
            (
                "1:30:00",
                "1:30:00 is text in YAML 1.2 but 5400 in YAML 1.1: write 5400s or 1h30m "
                "(or quote it: '1:30:00')",
            ),
            ("0:59", None),
            (
                "1:05",
                "1:05 is text in YAML 1.2 but 65 in YAML 1.1: write 65s or 1m5s "
                "(or quote it: '1:05')",
            ),
            (
                "-1:30",
                "-1:30 is text in YAML 1.2 but -90 in YAML 1.1: write -90 (or quote it: '-1:30')",
            ),
            (
                "1:30.5",
                "1:30.5 is text in YAML 1.2 but 90.5 in YAML 1.1: write 90.5 "
                "(or quote it: '1:30.5')",
            ),
            (
                "yes",
                "yes is text in YAML 1.2 but true in YAML 1.1: write true (or quote it: 'yes')",
            ),
            ("No", "No is text in YAML 1.2 but false in YAML 1.1: write false (or quote it: 'No')"),
            ("ON", "ON is text in YAML 1.2 but true in YAML 1.1: write true (or quote it: 'ON')"),
            (
                "off",
                "off is text in YAML 1.2 but false in YAML 1.1: write false (or quote it: 'off')",
            ),
            ("y", "y is text in YAML 1.2 but true in YAML 1.1: write true (or quote it: 'y')"),
            ("N", "N is text in YAML 1.2 but false in YAML 1.1: write false (or quote it: 'N')"),
            (
                "1_000",
                "1_000 is text in YAML 1.2 but 1000 in YAML 1.1: write 1000 (or quote it: '1_000')",
            ),
            (
                "0b101",
                "0b101 is text in YAML 1.2 but 5 in YAML 1.1: write 5 (or quote it: '0b101')",
            ),
            (
                "0x_1F",
                "0x_1F is text in YAML 1.2 but 31 in YAML 1.1: write 31 (or quote it: '0x_1F')",
            ),
            (
                "1_0.5",
                "1_0.5 is text in YAML 1.2 but 10.5 in YAML 1.1: write 10.5 (or quote it: '1_0.5')",
            ),
            (
                "1e3",
                "1e3 is 1000.0 in YAML 1.2 but text in YAML 1.1: write 1000.0 (or quote it: '1e3')",
            ),
            ("0b_", "0b_ is text in YAML 1.2 but YAML 1.1 cannot read it: quote it: '0b_'"),
            *(
                (
                    word,
                    f"{word} is text in YAML 1.2 and 1.1 but a number to ruamel.yaml (and so "
                    f"to check-jsonschema): quote it: '{word}'",
                )
                for word in ("01_90_", "._1", "-0o7")
            ),
            ("<<", "<< is text in YAML 1.2 but YAML 1.1 cannot read it: quote it: '<<'"),
            ("=", "= is text in YAML 1.2 but YAML 1.1 cannot read it: quote it: '='"),
        ],
    )
    def test_read_otherwise_by_yaml_1_1_refused(self, text: str, message: str | None) -> None:
        if message is None:
            assert parse(f"a: {text}\n", "p.yaml").data == {"a": text}
        else:
            assert problems_of(f"a: {text}\n") == [f"p.yaml:1:4: $.a: {message}"]

    def test_in_lists_and_flow_collections_too(self) -> None:
        assert problems_of("a: [1, yes]\nb: {c: 010}\n") == [
            "p.yaml:1:8: $.a[1]: yes is text in YAML 1.2 but true in YAML 1.1: write true "
            "(or quote it: 'yes')",
            "p.yaml:2:8: $.b.c: 010 is 10 in YAML 1.2 but 8 in YAML 1.1: write 10 "
            "(or quote it: '010')",
        ]

    def test_off_for_schedules_means_off_in_both(self) -> None:
        """YAML 1.1 reads it as false, which fusion.schedules takes as off: not ambiguous there."""
        assert parse("fusion: {schedules: off}\n", "p.yaml").data == {
            "fusion": {"schedules": "off"}
        }
        nested = parse("t: {p: {fusion: {schedules: OFF}}}\n", "p.yaml").data
        assert nested == {"t": {"p": {"fusion": {"schedules": "OFF"}}}}
        assert problems_of("fusion: {verify: off}\n") == [
            "p.yaml:1:18: $.fusion.verify: off is text in YAML 1.2 but false in YAML 1.1: "
            "write false (or quote it: 'off')"
        ]

    def test_keys_are_text(self) -> None:
        assert parse("yes: 1\n010: 2\n", "p.yaml").data == {"yes": 1, "010": 2}

    def test_a_variable_takes_yaml_1_2_types_unrefused(self) -> None:
        """A variable's value is no file that YAML 1.1 tools read, so it is not refused."""
        got = parse(
            "variables: {X: null, Y: null, Z: null}\na: ${X}\nb: ${Y}\nc: ${Z}\n",
            "p.yaml",
            environ={"X": "010", "Y": "yes", "Z": "1:30"},
        )
        assert {key: got.data[key] for key in "abc"} == {"a": 10, "b": "yes", "c": "1:30"}


class TestDepth:
    def test_deeper_than_the_limit_refused_at_its_place(self) -> None:
        text = "a: " + "[" * 40 + "]" * 40 + "\n"
        assert problems_of(text) == [
            f"p.yaml:1:{4 + MAX_DEPTH}: $.a{'[0]' * MAX_DEPTH}: nested more than {MAX_DEPTH} "
            "levels deep"
        ]

    @pytest.mark.parametrize("depth", [999, 1001, 5000])
    def test_far_deeper_flow_collections_are_located_problems(self, depth: int) -> None:
        for text in ("[" * depth + "]" * depth, "{a: " * depth + "b" + "}" * depth):
            problems = problems_of(f"a: {text}\n")
            assert len(problems) == 1
            assert problems[0].startswith("p.yaml:1:")

    def test_without_the_c_parser_deep_nesting_is_a_problem(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        class PythonLoader(yaml.SafeLoader):
            yaml_implicit_resolvers = CoreLoader.yaml_implicit_resolvers

        monkeypatch.setattr(source, "Loader", PythonLoader)
        assert problems_of("a: " + "[" * 3000 + "]" * 3000 + "\n") == [
            f"p.yaml: invalid YAML: nested too deeply to read: write at most {MAX_DEPTH} levels"
        ]


class TestReadText:
    def test_byte_order_mark_is_dropped(self, tmp_path: Path) -> None:
        path = tmp_path / "p.yaml"
        path.write_bytes(b"\xef\xbb\xbfversion: 1\n")
        assert read_text(str(path)) == "version: 1\n"

    def test_too_large(self, tmp_path: Path) -> None:
        path = tmp_path / "p.yaml"
        path.write_bytes(b"#" * (MAX_PLAN_BYTES + 1))
        with pytest.raises(InvalidPlan) as caught:
            read_text(str(path))
        assert [str(p) for p in caught.value.problems] == [
            f"{path}: the file is larger than 4 MiB, too large to be a plan"
        ]

    def test_largest_allowed(self, tmp_path: Path) -> None:
        path = tmp_path / "p.yaml"
        path.write_bytes(b"#" * MAX_PLAN_BYTES)
        assert len(read_text(str(path))) == MAX_PLAN_BYTES

    @pytest.mark.parametrize(
        ("error", "message"),
        [
            (PermissionError(13, "Permission denied"), "cannot read the plan: permission denied"),
            (OSError(5, "Input/output error"), "cannot read the plan: Input/output error"),
        ],
    )
    def test_unreadable(
        self, monkeypatch: pytest.MonkeyPatch, error: OSError, message: str
    ) -> None:
        def refuse(*_: object, **__: object) -> None:
            raise error

        monkeypatch.setattr(Path, "open", refuse)
        with pytest.raises(InvalidPlan) as caught:
            read_text("p.yaml")
        assert [str(p) for p in caught.value.problems] == [f"p.yaml: {message}"]


def test_document_problem_uses_key_position_when_asked() -> None:
    doc = Document("f.yaml", {"a": 1}, {(): (1, 1), ("a",): (1, 4)}, {("a",): (1, 1)})
    assert str(doc.problem(("a",), "m", key=True)) == "f.yaml:1:1: $.a: m"
    assert str(doc.problem(("a",), "m")) == "f.yaml:1:4: $.a: m"


def _read(load: Callable[[str], Any], text: str) -> Any:
    """`text`'s value as `load` reads `a: TEXT`; NOTHING when it cannot."""
    try:
        data = load(f"a: {text}\n")
    except Exception:  # any reader's failure is its own way of reading otherwise
        return NOTHING
    return data.get("a", NOTHING) if isinstance(data, dict) and len(data) == 1 else NOTHING


NOTHING = object()
_JSONSCHEMA_YAML = construct_yaml_implementation()


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="01789_:.+-eEoxbinfaNyYsOtrulT~=<", max_size=7))
def test_a_scalar_read_is_read_alike_by_yaml_1_1_and_by_check_jsonschema(text: str) -> None:
    """Every plain scalar a plan takes means the same to PyYAML (YAML 1.1) and to the reader of
    check-jsonschema (ruamel.yaml, YAML 1.2), or check-jsonschema cannot read it and says so (`._`).
    (A NaN, which equals nothing, is refused.)"""
    plan = _read(lambda t: parse(t, "p.yaml").data, text)
    if plan is NOTHING:
        return
    assert _read(yaml.safe_load, text) is not NOTHING, text  # what YAML 1.1 cannot read is refused
    for reader in (yaml.safe_load, _JSONSCHEMA_YAML.load):
        other = _read(reader, text)
        if other is NOTHING:
            continue
        assert (type(other), other) == (type(plan), plan), (reader, text)
