"""What every command but --validate starts from: the plan loaded with the command line's
variables, the steps --select and --exclude leave in, and Fusion's URL with where it came from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from runner.commands.options import Options
from runner.errors import UsageError
from runner.plan import Plan
from runner.plan.loader import load_plan
from runner.plan.selection import selected_steps
from runner.plan.validate import url_problem
from runner.plan.variables import check_variables


@dataclass(frozen=True, kw_only=True, slots=True)
class Loaded:
    plan: Plan
    selected: frozenset[str] | None  # None: every step
    url: str | None
    url_source: str  # --url, FUSION_URL, the plan, or nowhere


def load(options: Options, environ: Mapping[str, str]) -> Loaded:
    plan, selected = load_selected(options, environ)
    url, source = resolve_url(plan, options.url, environ)
    return Loaded(plan=plan, selected=selected, url=url, url_source=source)


def load_selected(
    options: Options, environ: Mapping[str, str]
) -> tuple[Plan, frozenset[str] | None]:
    """The plan, refused if a --var is one it never uses, and the steps the selection leaves in."""
    plan = load_plan(
        options.plans[0], variables=options.variables, environ=environ, target=options.target
    )
    check_variables(options.variables, plan.variables)
    return plan, selected_steps(plan, options.select, options.exclude, options.start_from)


def resolve_url(
    plan: Plan, cli_url: str | None, environ: Mapping[str, str]
) -> tuple[str | None, str]:
    """Fusion's base URL and where it came from: --url, then FUSION_URL, then the plan."""
    for value, source in ((cli_url, "--url"), (environ.get("FUSION_URL"), "FUSION_URL")):
        if value:
            problem = url_problem(value)
            if problem:
                raise UsageError(f"{source}: {problem}")
            return value.rstrip("/"), source
    if plan.fusion.url:
        return plan.fusion.url.rstrip("/"), f"the plan{_with(plan.target)}"
    return None, "nowhere"


def _with(target: str | None) -> str:
    return "" if target is None else f" with target {target}"
