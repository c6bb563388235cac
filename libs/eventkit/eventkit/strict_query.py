"""Query parameters are strict, as bodies are: every service's operations refuse with 422
`validation_failed` a parameter they do not have (a typo, `stauts=` for `status=`, would
otherwise answer the whole list) and a parameter given more than once that takes one value
(`?limit=2&limit=5` would otherwise be read as its last value, silently). So are the fields of
a form or multipart body: one that takes one value, given twice (`-F file=@a -F file=@b`), is
refused rather than read as its last. Pages for people (the console: not in the OpenAPI
document) read their forms' fields as they come."""

from __future__ import annotations

from collections.abc import Sequence
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from fastapi import Request, params
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

_FORMS = ("multipart/form-data", "application/x-www-form-urlencoded")

_SEQUENCES = (list, tuple, set, frozenset, Sequence)


def _repeatable(annotation: Any) -> bool:
    """Whether a parameter so annotated takes a list (`status: list[str] | None`)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _repeatable(get_args(annotation)[0])
    if origin is Union or origin is UnionType:
        return any(_repeatable(arg) for arg in get_args(annotation))
    return (origin or annotation) in _SEQUENCES


def _declared_query(route: APIRoute) -> dict[str, bool]:
    """The query parameters `route` declares, its dependencies' included, each with whether it
    takes a list (kept on the route)."""
    declared: dict[str, bool] | None = getattr(route, "_declared_query", None)
    if declared is None:
        declared = {}
        dependants = [route.dependant]
        while dependants:
            dependant = dependants.pop()
            for param in dependant.query_params:
                declared[param.alias] = _repeatable(param.field_info.annotation)
            dependants.extend(dependant.dependencies)
        route._declared_query = declared  # type: ignore[attr-defined]
    return declared


def _single_form_fields(route: APIRoute) -> frozenset[str]:
    """The form fields (and files) of `route` that take one value (kept on the route)."""
    fields: frozenset[str] | None = getattr(route, "_single_form_fields", None)
    if fields is None:
        fields = frozenset(
            param.alias
            for param in route.dependant.body_params
            if isinstance(param.field_info, params.Form)  # File is a Form
            and not _repeatable(param.field_info.annotation)
        )
        route._single_form_fields = fields  # type: ignore[attr-defined]
    return fields


async def _repeated_form_fields(request: Request, route: APIRoute) -> list[dict[str, Any]]:
    """The errors of a form body's single-valued fields given more than once. FastAPI read the
    form before this dependency runs; `request.form()` answers what it read."""
    single = _single_form_fields(route)
    content_type = request.headers.get("content-type", "")
    if not single or not content_type.startswith(_FORMS):
        return []
    form = await request.form()
    return [
        {"loc": ("body", name), "msg": "given more than once; it takes one value",
         "type": "repeated", "input": None}
        for name in sorted(single)
        if len(form.getlist(name)) > 1
    ]  # fmt: skip


async def no_unknown_query(request: Request) -> None:
    """The dependency every service's app puts before every operation (eventkit.runtime)."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not route.include_in_schema:
        return
    errors = await _repeated_form_fields(request, route)
    query = request.query_params
    if query:
        declared = _declared_query(route)
        errors += [
            {"loc": ("query", name), "msg": "not a parameter of this operation",
             "type": "extra_forbidden", "input": query[name]}
            for name in sorted(set(query) - set(declared))
        ] + [
            {"loc": ("query", name), "msg": "given more than once; it takes one value",
             "type": "repeated", "input": query.getlist(name)}
            for name in sorted(set(query) & set(declared))
            if not declared[name] and len(query.getlist(name)) > 1
        ]  # fmt: skip
    if errors:
        raise RequestValidationError(errors)
