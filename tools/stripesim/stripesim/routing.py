"""A tiny route table for the ``/v1`` API plus Stripe's ``expand[]`` handling."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from stripesim.errors import invalid_request
from stripesim.forms import Params
from stripesim.jsonio import clone
from stripesim.state import Ctx, SimState

Handler = Callable[[Ctx, Params, dict[str, str]], dict[str, Any]]

# Parameters every endpoint accepts.
COMMON_PARAMS = frozenset({"expand"})


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    handler: Handler
    params: frozenset[str] = frozenset()
    pattern: re.Pattern[str] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.template)
        object.__setattr__(self, "pattern", re.compile(f"^{regex}$"))

    @property
    def allowed(self) -> frozenset[str]:
        return self.params | COMMON_PARAMS


def route(method: str, template: str, params: Iterable[str] = ()) -> Callable[[Handler], Route]:
    def decorate(handler: Handler) -> Route:
        return Route(method.upper(), template, handler, frozenset(params))

    return decorate


def match(routes: Iterable[Route], method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    for candidate in routes:
        if candidate.method != method.upper():
            continue
        found = candidate.pattern.match(path)
        if found is not None:
            return candidate, found.groupdict()
    return None


def expand(state: SimState, obj: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    """Replace ids by the objects they name, for each dotted path in ``expand[]``."""
    result = clone(obj)
    for path in paths:
        _expand_path(state, result, path.split("."), path)
    return result


def _expand_path(state: SimState, node: dict[str, Any], parts: list[str], full: str) -> None:
    head, rest = parts[0], parts[1:]
    if head not in node:
        raise invalid_request(f"This property cannot be expanded ({full}).", param="expand")
    value = node[head]
    if isinstance(value, str):
        target = state.objects.get(value)
        if target is None:
            raise invalid_request(f"This property cannot be expanded ({full}).", param="expand")
        value = clone(target)
        node[head] = value
    if rest and isinstance(value, dict):
        _expand_path(state, value, rest, full)
