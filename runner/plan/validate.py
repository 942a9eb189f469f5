"""Every problem in a plan document, at its place: the JSON Schema pass, then the semantic pass.

Both passes yield `Problem`s for the same formatter. The semantic pass reads the raw data
defensively, so one run reports schema and semantic problems together. A value whose variable is
not set (`Unset`, with --validate) is not judged: the plan's run will judge what it becomes.
"""

from __future__ import annotations

import collections
import difflib
import graphlib
import itertools
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from runner.jobs import END_STATES, JOB_KINDS, TERMINAL, job_kind
from runner.plan.calls import (
    header_name_problem,
    header_value_problem,
    path_problem,
    webhook_problem,
)
from runner.plan.problems import Path, Problem
from runner.plan.quickcheck import fits
from runner.plan.source import Document
from runner.plan.values import address_problem, expression_problem, job_problem, verify_problem
from runner.plan.variables import Unset, given_by
from runner.schemas import checking_schema

if TYPE_CHECKING:
    from jsonschema import ValidationError

_TYPE_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "nothing (null)",
}


def validate(doc: Document) -> list[Problem]:
    return [*schema_problems(doc, "plan.schema.json"), *semantic_problems(doc)]


def schema_problems(doc: Document, schema: str) -> Iterator[Problem]:
    """Each way `doc` does not fit `schema`, in jsonschema's judgement. A document that
    `runner.plan.quickcheck` proves valid has none, and jsonschema is not even imported for it."""
    checking = checking_schema(schema)
    if fits(doc.data, checking):
        return
    from runner.plan.keywords import validator_class  # noqa: PLC0415 - its import costs 45 ms

    validator = validator_class()(checking)
    for error in validator.iter_errors(doc.data):
        if _judged(error, doc):
            yield from _explain(error, doc)


def _judged(error: ValidationError, doc: Document) -> bool:
    """False when `error` is only about unset values: an anyOf that one branch would pass but
    for them, or a value that is itself unset."""
    if not doc.unset:
        return True
    if tuple(error.absolute_path) in doc.unset:
        return _wants_container(error)  # no variable's value ever is one
    if error.validator in ("anyOf", "oneOf"):
        return all(any(_judged(sub, doc) for sub in errors) for errors in _branches(error))
    return True


def _branches(error: ValidationError) -> list[list[ValidationError]]:
    branches: dict[int, list[ValidationError]] = {}
    for sub in error.context or []:
        branches.setdefault(int(sub.relative_schema_path[0]), []).append(sub)
    return list(branches.values())


def _explain(error: ValidationError, doc: Document) -> Iterator[Problem]:
    """The problems `error` stands for; of a value a variable gave, by its reference alone."""
    path: Path = tuple(error.absolute_path)
    whole = path in doc.references and _wants_container(error)  # said as such, set or not
    if path in doc.substituted and error.validator not in ("anyOf", "oneOf") and not whole:
        schema = error.schema if isinstance(error.schema, dict) else {}
        yield doc.problem(path, given_by(doc.substituted[path], *_unfit(error, schema)))
    else:
        yield from _explain_value(error, doc)


def _explain_value(error: ValidationError, doc: Document) -> Iterator[Problem]:
    path: Path = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    instance: Any = error.instance
    expected: Any = error.validator_value
    kind = error.validator
    if kind in ("anyOf", "oneOf"):
        yield from _explain_alternatives(error, doc)
    elif kind == "type":
        if path == ():
            keys = " and ".join(repr(key) for key in schema.get("required", []))
            yield doc.problem(path, f"expected a mapping with {keys}, got {_describe(instance)}")
        elif path in doc.references and _wants_container(error):
            yield doc.problem(path, _whole_variable(expected))
        else:
            wanted = expected if isinstance(expected, list) else [expected]
            yield doc.problem(path, f"expected {_alternatives(wanted)}, got {_describe(instance)}")
    elif kind == "required":
        for name in expected:
            if isinstance(instance, dict) and name not in instance:
                yield doc.problem(path, f"missing required key {name!r}")
    elif kind == "additionalProperties":
        known = sorted(schema.get("properties", {}))
        for key in instance:
            if key not in known:
                yield doc.problem(
                    (*path, key),
                    f"unknown key {key!r}{_suggest(key, known, listing=True)}",
                    key=True,
                )
    elif kind == "enum":
        options = [str(option) for option in expected]
        yield doc.problem(
            path,
            f"{instance!r} is not one of: {', '.join(options)}{_suggest(str(instance), options)}",
        )
    elif kind == "const" and path == ("version",):
        yield doc.problem(
            path, f"unsupported version {instance!r}: this fusion-run reads version 1"
        )
    elif kind == "pattern" and path[-2:] == ("fusion", "url"):
        yield doc.problem(path, url_problem(instance) or error.message)
    elif kind in ("maximum", "maxDuration") and "maxDuration" in schema:
        yield doc.problem(
            path, f"expected a duration of at most {schema['maxDuration']}, got {_shown(instance)}"
        )
    elif kind in ("pattern", "minimum") and "patternErrorMessage" in schema:
        yield doc.problem(path, f"{schema['patternErrorMessage']}, got {_shown(instance)}")
    elif kind == "minimum":
        yield doc.problem(path, f"expected at least {expected}, got {instance!r}")
    elif kind == "maximum":
        yield doc.problem(path, f"expected at most {expected}, got {_shown(instance)}")
    elif kind == "minItems" and path == ("steps",):
        yield doc.problem(path, "a plan needs at least one step")
    elif kind == "minItems":
        yield doc.problem(path, f"expected at least {expected} item(s), got none")
    elif kind == "minLength":
        yield doc.problem(path, "expected a non-empty string")
    elif kind == "uniqueItems":
        from runner.plan.keywords import repeats  # noqa: PLC0415

        for index in repeats(instance):
            yield doc.problem((*path, index), f"{instance[index]!r} is listed twice")
    else:
        yield doc.problem(path, error.message)


def _unfit(error: ValidationError, schema: dict[str, Any]) -> tuple[str, str | None]:
    """What a value a variable gave is not, in words that do not quote it, and what to set it
    to when that is not the rest of those words (see `given_by`)."""
    expected: Any = error.validator_value
    if error.validator == "enum":
        options = ", ".join(str(option) for option in expected)
        return f"is not one of: {options}", "one of them"
    return _unfit_words(error, schema), None


def _unfit_words(error: ValidationError, schema: dict[str, Any]) -> str:
    expected: Any = error.validator_value
    if error.validator == "type":
        return f"not {_alternatives(expected if isinstance(expected, list) else [expected])}"
    if error.validator in ("maximum", "maxDuration") and "maxDuration" in schema:
        return f"not a duration of at most {schema['maxDuration']}"
    if error.validator == "minimum":
        return f"not at least {expected}"
    if error.validator == "maximum":
        return f"not at most {expected}"
    if error.validator == "pattern" and "patternErrorMessage" in schema:
        return f"does not fit ({schema['patternErrorMessage']})"
    if error.validator == "minLength":
        return "not a non-empty string"
    return "does not fit here"


def _keys_only(branches: Any) -> bool:
    """A oneOf of `required` alone: exactly one of these keys (`job`, `require`)."""
    return isinstance(branches, list) and all(
        isinstance(b, dict) and set(b) == {"required"} and len(b["required"]) == 1 for b in branches
    )


_ONE_OF_KEYS = (
    "a step runs a job (job:), checks one (require:), calls Fusion (request:) "
    "or posts to a webhook (webhook:)"
)


def _one_of_keys(doc: Document, path: Path, branches: Any, instance: Any) -> Problem:
    """A mapping that must have exactly one of the keys has none (said at the mapping), or
    several (said at the second)."""
    keys = [branch["required"][0] for branch in branches]
    given = [key for key in keys if isinstance(instance, dict) and key in instance]
    if not given:
        listed = " or ".join(repr(key) for key in keys)
        return doc.problem(path, f"missing {listed}: {_ONE_OF_KEYS}")
    both = " and ".join(repr(key) for key in given)
    message = f"{both} together: {_ONE_OF_KEYS}, not several"
    return doc.problem((*path, given[1]), message, key=True)


def url_problem(url: str) -> str | None:
    """Why `url` cannot be Fusion's base URL, or None. Never echoes `url`: it may hold a secret."""
    rule = _url_rule()
    if re.search(rule["pattern"], url):
        return address_problem(url)
    if "@" in url.split("//", 1)[-1].split("/", 1)[0]:
        return "credentials may not be part of the URL: set them in the environment instead"
    return str(rule["patternErrorMessage"])


def _wants_container(error: ValidationError) -> bool:
    """Whether `error` says that a value must be a list or a mapping, and nothing else."""
    if error.validator != "type":
        return False
    wanted = error.validator_value
    return set(wanted if isinstance(wanted, list) else [wanted]) <= {"array", "object"}


def _whole_variable(wanted: Any) -> str:
    """Why one `${NAME}` cannot give a list or a mapping: it stands for one scalar value."""
    what, parts = ("a list", "items") if "array" in str(wanted) else ("a mapping", "values")
    return (
        f"a variable stands for one value, not {what}: "
        f"write {what.replace('a ', 'the ', 1)}, with variables in its {parts}"
    )


def _explain_alternatives(error: ValidationError, doc: Document) -> Iterator[Problem]:
    """Explain an anyOf by the branch whose type fits the value; name the types when none does.
    A oneOf of keys (`job` or `require`) says which the mapping has."""
    if error.validator == "oneOf" and _keys_only(error.validator_value):
        yield _one_of_keys(doc, tuple(error.absolute_path), error.validator_value, error.instance)
        return
    branches = [[sub for sub in errors if _judged(sub, doc)] for errors in _branches(error)]
    fitting = [
        errors
        for errors in branches
        if not any(sub.validator == "type" and not sub.relative_path for sub in errors)
    ]
    if fitting:
        for sub in min(fitting, key=len):
            yield from _explain(sub, doc)
        return
    wanted = [
        sub.validator_value for errors in branches for sub in errors if sub.validator == "type"
    ]
    path: Path = tuple(error.absolute_path)
    if path in doc.substituted:
        message = given_by(doc.substituted[path], f"not {_alternatives(wanted)}")
    else:
        message = f"expected {_alternatives(wanted)}, got {_describe(error.instance)}"
    yield doc.problem(path, message)


def _alternatives(types: list[Any]) -> str:
    words = list(dict.fromkeys(_TYPE_WORDS.get(str(t), str(t)) for t in types))
    if len(words) > 1:
        words = ["true, false" if word == _TYPE_WORDS["boolean"] else word for word in words]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, int):
        return _long_integer(value) or f"the integer {value}"
    if isinstance(value, float):
        return f"the number {value}"
    return f"{value!r}"


def _shown(value: Any) -> str:
    """`value` as messages quote it; an integer of 400 digits is not written out, nor a text of
    thousands of characters (a duration of 5,000 leading zeros) in full."""
    if isinstance(value, str) and len(value) > 40:
        return repr(f"{value[:37]}...")
    return (isinstance(value, int) and _long_integer(value)) or repr(value)


def _long_integer(value: int) -> str | None:
    digits = len(str(abs(value)))  # at most `runner.plan.source.MAX_DIGITS`, so it converts
    return f"an integer of {digits} digits" if digits > 20 else None


def _suggest(word: str, options: list[str], *, listing: bool = False) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if close:
        return f" (did you mean {close[0]!r}?)"
    if listing and options:
        return f" (expected one of: {', '.join(options)})"
    return ""


# --- the semantic pass ---------------------------------------------------------------------------


def semantic_problems(doc: Document) -> Iterator[Problem]:
    data = doc.data if isinstance(doc.data, dict) else {}
    steps = data.get("steps")
    if isinstance(steps, list):
        yield from _step_problems(doc, steps)
    defaults = data.get("defaults")
    if isinstance(defaults, dict):
        yield from _expect_problems(doc, ("defaults",), defaults)
    targets = data.get("targets")
    places: list[Path] = [("fusion",)]
    if isinstance(targets, dict):
        places += [("targets", name, "fusion") for name in targets]
    for place in places:
        yield from _fusion_problems(doc, place)


def _fusion_problems(doc: Document, place: Path) -> Iterator[Problem]:
    """The problems of the Fusion settings at `place`: the plan's, or a target's."""
    fusion: Any = doc.data
    for key in place:
        fusion = fusion.get(key) if isinstance(fusion, dict) else None
    yield from _url_problems(doc, fusion, place)
    verify = fusion.get("verify") if isinstance(fusion, dict) else None
    if isinstance(verify, str) and verify and not isinstance(verify, Unset):
        message = verify_problem(verify)
        if message:
            yield _concealed(doc, (*place, "verify"), message, _VERIFY)


# What a value a variable gave is not, where a check's own message would quote it (`_concealed`).
_VERIFY = "not true, false or the path of a CA bundle file"
_URL = "not an http:// or https:// URL whose host and port can be reached"
_JOB = "not a job such as spark:<id>, datasource:<id> or task:<id>"
_EXPRESSION = "not a JMESPath expression of at most 1000 characters and 50 levels"


def _concealed(doc: Document, path: Path, message: str, what: str) -> Problem:
    """The problem `message` at `path`; when a variable gave the value there, `what` it is not,
    said by its reference, since `message` may quote the value."""
    if path in doc.substituted:
        message = given_by(doc.substituted[path], what)
    return doc.problem(path, message)


def _url_problems(doc: Document, fusion: Any, place: Path = ("fusion",)) -> Iterator[Problem]:
    """A `fusion.url` of the right shape whose host or port cannot be reached (the schema pass
    reports one of the wrong shape)."""
    url = fusion.get("url") if isinstance(fusion, dict) else None
    if not isinstance(url, str) or isinstance(url, Unset):
        return
    if re.search(_url_rule()["pattern"], url) and (message := address_problem(url)):
        yield _concealed(doc, (*place, "url"), message, _URL)


def _url_rule() -> dict[str, Any]:
    """The plan schema's rule for `fusion.url`: its pattern and the message for it."""
    rule: dict[str, Any] = checking_schema("plan.schema.json")["properties"]["fusion"][
        "properties"
    ]["url"]
    return rule


def step_name(step: Any) -> str | None:
    """The name a raw step goes by: its name, else its job id; None when it has neither."""
    if isinstance(step, str):
        return step
    if isinstance(step, dict):
        for key in ("name", "job"):
            value = step.get(key)
            if isinstance(value, str):
                return value  # as it is: an `Unset` name stays one
        if "job" not in step and ("request" in step or "webhook" in step):
            return None  # it has no job to be named after: its name is required
        gated = _gated_job(step)
        if gated is not None:
            return gated
    return None


def _gated_job(step: dict[str, Any]) -> str | None:
    """The job a `require:` step checks, if it names one."""
    require = step.get("require")
    job = require.get("job") if isinstance(require, dict) else None
    return job if isinstance(job, str) else None


def _name_path(index: int, step: Any) -> Path:
    if isinstance(step, dict):
        if "name" in step:
            return ("steps", index, "name")
        if "job" not in step and _gated_job(step) is not None:
            return ("steps", index, "require", "job")
        return ("steps", index, "job")
    return ("steps", index)


def _step_problems(doc: Document, steps: list[Any]) -> Iterator[Problem]:
    names: dict[str, int] = {}
    graph_ok = True
    for index, step in enumerate(steps):
        name = step_name(step)
        if name is None:
            graph_ok = False
            continue
        if name in names:
            graph_ok = False
            first_line, _ = doc.locate(_name_path(names[name], steps[names[name]]))
            yield doc.problem(
                _name_path(index, step),
                f"duplicate step name {doc.shown(_name_path(index, step), name)} "
                f"(first at line {first_line}): "
                "give one of them a distinct 'name:'",
            )
        else:
            names[name] = index
    # A dependency on a step whose name is not known here may be a dependency on that step.
    names_known = not any(isinstance(step_name(step), Unset) for step in steps)
    defaults = doc.data.get("defaults") if isinstance(doc.data, dict) else None
    for index, step in enumerate(steps):
        yield from _kind_problems(doc, index, step, defaults if isinstance(defaults, dict) else {})
        if not isinstance(step, dict):
            continue
        yield from _extends_problems(doc, index, step)
        yield from _expect_problems(doc, ("steps", index), step)
        yield from _gate_problems(doc, index, step)
        yield from _call_problems(doc, index, step)
        depends_on = step.get("depends_on")
        if not isinstance(depends_on, list):
            continue
        for position, dependency in enumerate(depends_on):
            if not isinstance(dependency, str) or isinstance(dependency, Unset):
                continue
            where = ("steps", index, "depends_on", position)
            if dependency == step_name(step):
                graph_ok = False
                yield doc.problem(
                    where, f"step {doc.shown(where, dependency)} cannot depend on itself"
                )
            elif dependency not in names and names_known:
                graph_ok = False
                shown = doc.shown(where, dependency)
                named = [
                    n for n, i in names.items() if _name_path(i, steps[i]) not in doc.substituted
                ]
                yield doc.problem(where, f"unknown step {shown}{_suggest(dependency, named)}")
    if graph_ok:
        yield from _cycle_problems(doc, steps, names)


def _kind_problems(
    doc: Document, index: int, step: Any, defaults: dict[str, Any]
) -> Iterator[Problem]:
    """A job type that is nearly right, and accepted states that the job's kind never ends in."""
    raw = step.get("job") if isinstance(step, dict) else step
    where: Path = ("steps", index, "job") if isinstance(step, dict) else ("steps", index)
    if isinstance(step, dict) and "job" not in step:  # a gate: the job it checks
        raw, where = _gated_job(step), ("steps", index, "require", "job")
    if not isinstance(raw, str) or isinstance(raw, Unset):
        return
    message = job_problem(raw)
    if message:
        yield _concealed(doc, where, message, _JOB)
        return
    prefix, colon, _ = raw.partition(":")
    if colon and prefix not in JOB_KINDS:
        close = difflib.get_close_matches(prefix, list(JOB_KINDS), n=1, cutoff=0.7)
        if close:
            message = f"unknown job type {prefix!r} (did you mean {close[0]!r}?)"
            yield _concealed(doc, where, message, _JOB)
            return
    kind = job_kind(raw)[0]
    own = step.get("success") if isinstance(step, dict) else None
    shared = defaults.get("success")
    sources = [(("steps", index), own), *_templates_of(doc, step), (("defaults",), shared)]
    for source, settings in sources:
        states = settings.get("states") if isinstance(settings, dict) else None
        if not isinstance(states, list):
            continue
        for position, state in enumerate(states):
            if isinstance(state, str) and state in TERMINAL and state not in END_STATES[kind]:
                name = step_name(step)
                which = (
                    "" if source[0] == "steps" else f" (step {name!r} takes it from {source[0]})"
                )
                if source[0] == "templates":
                    which = f" (step {name!r} takes it from template {source[1]!r})"
                at = (*source, "success", "states", position)
                yield doc.problem(
                    at,
                    f"a {kind} job never ends {doc.shown(at, state)}: "
                    f"it ends {', '.join(END_STATES[kind])}{which}",
                )
        return  # the step's own states win over the defaults'


def _templates_of(doc: Document, step: Any) -> list[tuple[Path, Any]]:
    """The `success:` of each template `step` extends, the one that wins first, with its path."""
    templates = doc.data.get("templates") if isinstance(doc.data, dict) else None
    names = step.get("extends") if isinstance(step, dict) else None
    names = [names] if isinstance(names, str) else names
    if not isinstance(templates, dict) or not isinstance(names, list):
        return []
    return [
        (("templates", name), template.get("success"))
        for name in reversed(names)
        if isinstance(name, str) and isinstance(template := templates.get(name), dict)
    ]


def _extends_problems(doc: Document, index: int, step: dict[str, Any]) -> Iterator[Problem]:
    """Each name in `extends` that `templates:` does not define."""
    names = step.get("extends")
    templates = doc.data.get("templates") if isinstance(doc.data, dict) else None
    known = sorted(templates) if isinstance(templates, dict) else []
    at: list[tuple[Path, Any]] = [(("steps", index, "extends"), names)]
    if isinstance(names, list):
        at = [(("steps", index, "extends", i), name) for i, name in enumerate(names)]
    for path, name in at:
        if not isinstance(name, str) or isinstance(name, Unset) or name in known:
            continue
        if known:
            message = f"unknown template {name!r}{_suggest(name, known, listing=True)}"
        else:
            message = f"unknown template {name!r}: define it under 'templates:'"
        yield doc.problem(path, message)


# The settings of a step that starts a run, which a `require:` step never does.
NOT_FOR_GATES = (
    *("timeout", "poll_interval", "retries", "retry_delay", "retry_backoff", "retry_on"),
    "on_running",
)
NOT_FOR_GATES_SUCCESS = ("max_duration", "expect")


def _gate_problems(doc: Document, index: int, step: dict[str, Any]) -> Iterator[Problem]:
    """Each setting about a run on a `require:` step, at its key: a gate starts no run."""
    if "require" not in step or "job" in step:
        return
    yield from _not_applying(
        doc, index, step, "require", keys=NOT_FOR_GATES, success_keys=NOT_FOR_GATES_SUCCESS
    )


def _not_applying(
    doc: Document,
    index: int,
    step: dict[str, Any],
    kind: str,
    *,
    keys: tuple[str, ...],
    success_keys: tuple[str, ...],
) -> Iterator[Problem]:
    """Each of `keys` (and `success_keys` under `success:`) the step sets, at its key: a step
    with `kind:` starts no run, and they are settings about a run."""
    success = step.get("success")
    found: list[Path] = [("steps", index, key) for key in keys if key in step]
    if isinstance(success, dict):
        found += [("steps", index, "success", k) for k in success_keys if k in success]
    for path in found:
        yield doc.problem(
            path,
            f"{path[-1]!r} does not apply to a step with '{kind}:': it starts no run; remove it",
            key=True,
        )


# The settings about a run, which a `request:` or `webhook:` step never starts.
NOT_FOR_CALLS = ("timeout", "poll_interval", "on_running", "warn_after", "stall_after", "on_stall")
NOT_FOR_CALLS_SUCCESS = ("states", "max_duration", "min_documents")


def _call_problems(doc: Document, index: int, step: dict[str, Any]) -> Iterator[Problem]:
    """A `request:` or `webhook:` step: its name, where it goes, and each setting about a run
    at its key (it starts no run)."""
    kind = next((key for key in ("request", "webhook") if key in step), None)
    if kind is None or "job" in step or "require" in step:
        return
    if "name" not in step:
        yield doc.problem(
            ("steps", index, kind),
            f"a step with '{kind}:' needs a name: add name: (used in depends_on and outputs)",
            key=True,
        )
    call = step[kind] if isinstance(step[kind], dict) else {}
    key = "path" if kind == "request" else "url"
    where = call.get(key)
    if isinstance(where, str) and not isinstance(where, Unset):
        message = (
            path_problem(where)
            if kind == "request"
            else webhook_problem(where, call.get("insecure") is True)
        )
        if message:
            yield doc.problem(("steps", index, kind, key), message)
    yield from _header_problems(doc, ("steps", index, kind, "headers"), call.get("headers"))
    yield from _not_applying(
        doc, index, step, kind, keys=NOT_FOR_CALLS, success_keys=NOT_FOR_CALLS_SUCCESS
    )


def _header_problems(doc: Document, where: Path, headers: Any) -> Iterator[Problem]:
    """Each header a webhook could not send, at its name or its value, never quoting it."""
    if not isinstance(headers, dict):
        return
    for name, value in headers.items():
        if isinstance(name, str) and (problem := header_name_problem(name)):
            yield doc.problem((*where, name), problem, key=True)
        elif (
            isinstance(value, str)
            and not isinstance(value, Unset)
            and (problem := header_value_problem(value))
        ):
            yield doc.problem((*where, name), problem)


def _cycle_problems(doc: Document, steps: list[Any], names: dict[str, int]) -> Iterator[Problem]:
    """Every dependency cycle, each once, at the `depends_on` of its step listed first."""
    waits_for: dict[str, list[str]] = {}
    implicit: set[str] = set()
    previous: str | None = None
    for step in steps:
        name = step_name(step)
        assert name is not None  # the caller checked every step has a name
        explicit = step.get("depends_on") if isinstance(step, dict) else None
        if isinstance(explicit, list):
            waits_for[name] = [d for d in explicit if isinstance(d, str)]
        else:
            waits_for[name] = [] if previous is None else [previous]
            implicit.add(name)
        previous = name
    for cycle in dependency_cycles(waits_for):
        start = cycle[0]
        notes = [
            f"{later} has no depends_on, so it waits for {earlier}, the step listed before it"
            for earlier, later in itertools.pairwise(cycle)
            if later in implicit
        ]
        message = "dependency cycle: " + " -> ".join(cycle)
        if notes:
            message += f" ({'; '.join(notes)})"
        index = names[start]
        step = steps[index]
        path: Path = (
            ("steps", index, "depends_on")
            if isinstance(step, dict) and "depends_on" in step
            else _name_path(index, step)
        )
        yield doc.problem(path, message)


def dependency_cycles(waits_for: dict[str, list[str]]) -> list[list[str]]:
    """The cycles of `waits_for` (name -> the names it waits for, in the order written): for each
    name, in that order, that is on a cycle but on none found so far, the shortest cycle through
    it. So every name on a cycle is in one of them, and each cycle is found in one search or
    none. Each is written from its name listed first, in the order of those names.

    >>> dependency_cycles({"a": ["b"], "b": ["a", "c"], "c": ["a"], "d": []})
    [['a', 'b', 'a'], ['a', 'b', 'c', 'a']]
    """
    try:
        graphlib.TopologicalSorter(waits_for).prepare()
    except graphlib.CycleError:
        pass
    else:
        return []  # the common case: no cycle, found in linear time
    order = {name: index for index, name in enumerate(waits_for)}
    found: list[list[str]] = []
    covered: set[str] = set()
    for name in waits_for:
        loop = None if name in covered else _shortest_cycle(name, waits_for)
        if loop is None:
            continue
        covered.update(loop)
        first = min(range(len(loop)), key=lambda at: order[loop[at]])
        found.append([*loop[first:], *loop[:first], loop[first]])
    return sorted(found, key=lambda cycle: order[cycle[0]])


def _shortest_cycle(start: str, waits_for: dict[str, list[str]]) -> list[str] | None:
    """The names of the shortest cycle from `start` back to it (breadth first), or None."""
    came_from: dict[str, str] = {}
    queue = collections.deque([start])
    while queue:
        name = queue.popleft()
        for dependency in waits_for.get(name, ()):
            if dependency == start:
                path = [name]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return path[::-1]
            if dependency not in came_from and dependency in waits_for:
                came_from[dependency] = name
                queue.append(dependency)
    return None


def _expect_problems(doc: Document, where: Path, settings: dict[str, Any]) -> Iterator[Problem]:
    success = settings.get("success")
    for key in ("expect", "warn"):
        expressions = success.get(key) if isinstance(success, dict) else None
        if not isinstance(expressions, list):
            continue
        for position, expression in enumerate(expressions):
            if not isinstance(expression, str) or not expression or isinstance(expression, Unset):
                continue
            message = expression_problem(expression)
            if message:
                yield _concealed(doc, (*where, "success", key, position), message, _EXPRESSION)
