"""MkDocs hook: the reference pages that are generated, so that they cannot drift.

At build time it writes
- `reference/schemas/<name>.md` for each `schemas/<name>.schema.json`: every property with its
  type, whether it is required, its default and its description, as the schema gives them;
- `reference/options.md` from fusion-run's click command: its argument, every option with its
  help as `fusion-run --help` words it, and the exit codes; then the same of `fusion-run report`.

mkdocs.yml lists them in its nav like any page; one left out is a warning
(`validation.omitted_files`), so a strict build fails on it.
"""

from __future__ import annotations

import html
import inspect
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mkdocs.structure.files import File, Files

if TYPE_CHECKING:
    import click
    from mkdocs.config.defaults import MkDocsConfig

log = logging.getLogger("mkdocs.hooks.reference")

OPTIONS_PAGE = "reference/options.md"
SCHEMA_PAGES = "reference/schemas"

Schema = dict[str, Any]


def fusion_run_command() -> click.Command:
    """fusion-run's click command: the one thing this hook imports from fusion-run."""
    from runner.cli import main  # noqa: PLC0415 - fusion-run is imported here, and only here

    return main


def report_command() -> click.Command:
    """The click command of `fusion-run report`."""
    from runner.cli.report import command  # noqa: PLC0415

    return command()


# --- the hook's events ---------------------------------------------------------------------------


def on_files(files: Files, config: MkDocsConfig) -> Files:
    for src_uri, content in generated_pages(Path(config.config_file_path).parent).items():
        written = files.get_file_from_path(src_uri)
        if written is not None:
            log.warning("%s is generated: remove it from docs/", src_uri)
            files.remove(written)
        files.append(File.generated(config, src_uri, content=content))
    return files


def generated_pages(root: Path) -> dict[str, str]:
    """Each generated page's path under docs/, and its Markdown."""
    pages = {OPTIONS_PAGE: options_page(fusion_run_command(), report_command())}
    for path in sorted((root / "schemas").glob("*.schema.json")):
        name = path.name.removesuffix(".schema.json")
        schema = json.loads(path.read_text(encoding="utf-8"))
        pages[f"{SCHEMA_PAGES}/{name}.md"] = SchemaPage(schema, f"schemas/{path.name}").markdown()
    return pages


# --- the command line ----------------------------------------------------------------------------


def options_page(command: click.Command, report: click.Command) -> str:
    lines = [
        "# Options",
        "",
        "What `fusion-run --help` says, generated from the command itself.",
        "[Command line](command-line.md) shows how the options go together.",
        "",
        *command_lines(command, "fusion-run"),
    ]
    if command.epilog:
        epilog = command.epilog.replace("\b\n", "").strip("\n")
        title, _, rest = epilog.partition("\n")
        lines += ["", f"## {title.rstrip(':')}", "", "```text", rest, "```"]
    lines += [
        "",
        "## `fusion-run report`",
        "",
        "What `fusion-run report --help` says.",
        "",
        *command_lines(report, "fusion-run report"),
        "",
        prose(" ".join((report.epilog or "").split())),
    ]
    return "\n".join(lines) + "\n"


def command_lines(command: click.Command, name: str) -> list[str]:
    """A command's usage, its help, and tables of its arguments and of its options."""
    import click  # noqa: PLC0415

    context = click.Context(command, info_name=name, **command.context_settings)
    params = command.get_params(context)
    arguments = [p for p in params if isinstance(p, click.Argument)]
    usage = " ".join([name, *command.collect_usage_pieces(context)])
    lines = [
        "```text",
        usage,
        "```",
        "",
        inspect.cleandoc(command.help or ""),
        "",
        "| Argument | |",
        "|---|---|",
    ]
    for argument in arguments:
        required = "required" if argument.required else "optional"
        many = ", one or more" if argument.nargs == -1 else ""
        lines.append(f"| `{argument.make_metavar(context)}` | {required}{many} |")
    lines += ["", "| Option | What it does |", "|---|---|"]
    for param in params:
        record = param.get_help_record(context)
        if isinstance(param, click.Option) and record is not None:
            names, help_text = record
            lines.append(f"| `{names}` | {cell(prose(help_text))} |")
    return lines


def cell(text: str) -> str:
    """Markdown for a table cell: one line, and a pipe outside code is no column's end."""
    return outside_code(" ".join(text.split()), lambda words: words.replace("|", "\\|"))


def prose(text: str) -> str:
    """Words from a schema or the command as Markdown: `<id>` is text, not an HTML tag."""
    return outside_code(text, lambda words: html.escape(words, quote=False))


def outside_code(text: str, change: Callable[[str], str]) -> str:
    """`text` with `change` applied to all but its code spans."""
    parts = text.split("`")
    parts[::2] = [change(part) for part in parts[::2]]
    return "`".join(parts)


# --- the schemas ---------------------------------------------------------------------------------


@dataclass
class Section:
    """A table of an object's properties, under a heading: an object of the schema's own, or a
    definition (`$defs`), written once and linked from everywhere it is used."""

    title: str
    anchor: str
    schema: Schema
    path: str  # where the object is, for the paths of the objects in it
    used_at: list[str] = field(default_factory=list)  # a definition's uses
    rows: list[str] = field(default_factory=list)


@dataclass
class SchemaPage:
    schema: Schema
    file: str
    sections: list[Section] = field(default_factory=list)
    types: dict[str, Schema] = field(default_factory=dict)  # definitions with a syntax

    @property
    def defs(self) -> dict[str, Schema]:
        defs: dict[str, Schema] = self.schema.get("$defs", {})
        return defs

    @property
    def has_defaults(self) -> bool:
        return any(self.default(prop) for prop in properties_in(self.schema))

    def markdown(self) -> str:
        self.sections.append(Section("Top level", "top-level", self.schema, ""))
        done = 0
        while done < len(self.sections):  # a table's rows may add sections after it
            self.fill(self.sections[done])
            done += 1
        types: dict[str, str] = {}
        while set(self.types) - set(types):  # a type's words may name another type
            for name in sorted(set(self.types) - set(types)):
                types[name] = self.inline(self.types[name], name, top=True)
        anchors = [s.anchor for s in self.sections] + [f"type-{name}" for name in types]
        assert len(anchors) == len(set(anchors)), anchors

        lines = [
            f"# {self.schema.get('title', self.file)}",
            "",
            f"Generated from `{self.file}`, JSON Schema 2020-12 (`$id`: `{self.schema['$id']}`).",
            "",
            prose(self.schema.get("description", "")),
        ]
        for section in self.sections:
            lines += ["", f"## {section.title} {{#{section.anchor}}}", ""]
            if section.used_at:
                lines += ["Used at " + ", ".join(f"`{p}`" for p in section.used_at) + ".", ""]
            if section.schema is not self.schema and "description" in section.schema:
                lines += [prose(section.schema["description"]), ""]
            lines += section.rows
        if types:
            lines += ["", "## Types {#types}"]
            for name, words in sorted(types.items()):
                lines += ["", f"### `{name}` {{#type-{name}}}", ""]
                if "description" in self.types[name]:
                    lines += [prose(self.types[name]["description"]), ""]
                lines.append(f"JSON: {words}.")
        return "\n".join(lines) + "\n"

    def fill(self, section: Section) -> None:
        node = section.schema
        required = set(node.get("required", []))
        columns = ["Property", "Type", "Required"]
        columns += ["Default"] if self.has_defaults else []
        columns += ["Description"]
        rows = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        for name, prop in node.get("properties", {}).items():
            path = f"{section.path}.{name}" if section.path else name
            cells = [f"`{name}`", self.inline(prop, path), "yes" if name in required else ""]
            cells += [self.default(prop)] if self.has_defaults else []
            cells += [prose(self.description(prop))]
            rows.append("| " + " | ".join(cell(c) for c in cells) + " |")
        if node.get("additionalProperties") is False:
            rows += ["", "No other property is allowed."]
        section.rows = rows

    # -- what a property's cells say --

    def ref(self, node: Schema) -> tuple[str, Schema]:
        """The name and schema a `$ref` points to: a definition, or (`#/properties/fusion`) a
        property of the schema's own, named by its key."""
        pointer: str = node["$ref"]
        if pointer.startswith("#/$defs/"):
            name = pointer.removeprefix("#/$defs/")
            return name, self.defs[name]
        target: Schema = self.schema
        for part in pointer.removeprefix("#/").split("/"):
            target = target[part]
        return pointer.rsplit("/", 1)[1], target

    def description(self, node: Schema) -> str:
        while "description" not in node and "$ref" in node:
            node = self.ref(node)[1]
        text: str = node.get("description", "")
        return text

    def default(self, node: Schema) -> str:
        """The default: the schema's `default` keyword, else what the description says it is."""
        found = node
        while "default" not in found and "$ref" in found:
            found = self.ref(found)[1]
        if "default" in found:
            return f"`{json.dumps(found['default'])}`"
        said = default_in_words(self.description(node), self.words(node))
        return f"`{said}`" if said and not re.search(r"\s", said) else said

    def words(self, node: Schema) -> list[str]:
        """The words a value may be (enum members, booleans): where a description says "X (the
        default)", the default is the last of them before it."""
        if "$ref" in node:
            return self.words(self.ref(node)[1])
        found = [str(v).lower() if isinstance(v, bool) else str(v) for v in node.get("enum", [])]
        types = node.get("type", [])
        if "boolean" in ([types] if isinstance(types, str) else types):
            found += ["true", "false"]
        for branch in node.get("anyOf", []):
            found += self.words(branch)
        return found

    def inline(self, node: Schema, path: str, *, top: bool = False) -> str:
        """A value's type in words, with links to its object's table or its type."""
        if "$ref" in node and not top:
            name, target = self.ref(node)
            if is_object(target):
                return self.link(target, path, name)
            if is_named(target):
                self.types[name] = target
                return f"[`{name}`](#type-{name})"
            return self.inline(target, path)
        if "const" in node:
            return f"`{json.dumps(node['const'])}`"
        if "enum" in node:
            return "one of " + ", ".join(f"`{word(v)}`" for v in node["enum"])
        if "anyOf" in node:
            return " or ".join(self.inline(branch, path) for branch in node["anyOf"])
        if is_object(node) and not top:
            return self.link(node, path)
        types = node.get("type")
        if types is None:
            return "any JSON value"
        kinds = [types] if isinstance(types, str) else types
        return " or ".join(self.one_type(kind, node, path) for kind in kinds)

    def one_type(self, kind: str, node: Schema, path: str) -> str:
        if kind in {"integer", "number"}:
            low, high = node.get("minimum"), node.get("maximum")
            if low is not None and high is not None:
                return f"{kind} from {low} to {high}"
            return kind if low is None else f"{kind} ≥ {low}"
        if kind == "string" and "pattern" in node:
            return f"string matching `{node['pattern']}`"
        if kind == "array":
            items = node.get("items")
            words = "list of " + (self.inline(items, path + "[]") if items else "values")
            extra = [f"at least {node['minItems']}"] if node.get("minItems") else []
            extra += ["no repeats"] if node.get("uniqueItems") else []
            return words + (f" ({', '.join(extra)})" if extra else "")
        if kind == "object":
            more = node.get("additionalProperties")
            if isinstance(more, dict):
                return "mapping of names to " + self.inline(more, path + ".<name>")
            return "object"
        return kind

    def link(self, node: Schema, path: str, name: str | None = None) -> str:
        """A link to an object's table; a definition's table is written once, for all its uses."""
        title = f"`{name}`" if name is not None else f"`{path}`"
        known = [s for s in self.sections if name is not None and s.title == title]
        if known:
            section = known[0]
        else:
            section = Section(title, slug(name or path), node, path)
            self.sections.append(section)
        if name is not None:
            section.used_at.append(path)
        return f"object, [{title.strip('`')}](#{section.anchor})"


def properties_in(node: Any) -> list[Schema]:
    """Every property schema anywhere in a schema."""
    if isinstance(node, list):
        return [prop for item in node for prop in properties_in(item)]
    if not isinstance(node, dict):
        return []
    found = list(node.get("properties", {}).values())
    return found + [prop for value in node.values() for prop in properties_in(value)]


def word(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def is_object(node: Schema) -> bool:
    return "properties" in node


def is_named(node: Schema) -> bool:
    """A definition with a syntax of its own (a pattern) gets an entry under Types."""
    branches = [node, *node.get("anyOf", [])]
    return any("pattern" in branch for branch in branches)


def default_in_words(text: str, values: list[str]) -> str:
    """The default a description states: "Default 10s.", "Defaults to the job id.", "auto (the
    default)", "No limit by default". Empty when it states none, or more than one."""
    said: list[str] = re.findall(r"\bDefaults? to ([^.;]+)", text) or re.findall(
        r"\bDefault:? (.+?)(?:\.(?:\s|$)|;|$)", text
    )
    if len(said) == 1:
        return said[0]
    marker = re.search(r"\((?:[^()]*, )?(?:the )?default(?::[^()]*)?\)", text)
    if marker:
        before = text[: marker.start()]
        spots = [
            (found.end(), value)
            for value in values
            for found in re.finditer(rf"(?<![\w-]){re.escape(value)}(?![\w-])", before)
        ]
        if spots:
            return max(spots)[1]
        if not values and before.split():
            return before.split()[-1]
    by_default: list[str] = re.findall(r"(?:^|\. )([^.]+?) by default\b", text)
    if len(by_default) == 1:
        return by_default[0].lower()
    return ""
