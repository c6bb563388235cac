"""Stripe's form encoding: ``a[b][c]=v`` nesting, ``a[0]=x`` / ``a[]=x`` arrays.

``parse_form`` turns a ``application/x-www-form-urlencoded`` body (or a query string) into
nested dicts and lists of strings, as Stripe's API reads it. The ``get_*`` helpers read typed
values and raise Stripe's ``invalid_request_error`` on bad input.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

from stripesim.errors import StripeAPIError, invalid_request, parameter_missing, parameter_unknown

Params = dict[str, Any]

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")


def split_key(key: str) -> list[str]:
    """``"a[b][]"`` → ``["a", "b", ""]``; a malformed key is taken literally."""
    match = _KEY.match(key)
    if match is None:
        return [key]
    return [match.group(1), *_SEGMENT.findall(match.group(2))]


def parse_form(raw: bytes | str) -> Params:
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    return parse_pairs(parse_qsl(text, keep_blank_values=True))


def parse_pairs(pairs: Iterable[tuple[str, Any]]) -> Params:
    """Nest ``(key, value)`` pairs as ``parse_form`` does (a multipart body's parts: a file's
    value is the dict ``multipart`` makes of it)."""
    root: Params = {}
    for key, value in pairs:
        _insert(root, split_key(key), value, key)
    result = _listify(root)
    assert isinstance(result, dict)
    return result


def _insert(node: Params, path: list[str], value: Any, full_key: str) -> None:
    for depth, segment in enumerate(path):
        if segment == "":  # ``a[]`` appends
            segment = str(len(node))
        last = depth == len(path) - 1
        if last:
            if isinstance(node.get(segment), dict):
                raise invalid_request(f"Invalid hash: {full_key}", param=full_key)
            node[segment] = value
            return
        child = node.setdefault(segment, {})
        if not isinstance(child, dict):
            raise invalid_request(f"Invalid hash: {full_key}", param=full_key)
        node = child


def _listify(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    converted = {k: _listify(v) for k, v in value.items()}
    if converted and all(k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted


def check_known(params: Params, allowed: Iterable[str], prefix: str = "") -> None:
    allowed_set = set(allowed)
    for key in params:
        if key not in allowed_set:
            raise parameter_unknown(f"{prefix}[{key}]" if prefix else key)


def get_str(params: Params, name: str, *, required: bool = False) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise parameter_missing(name)
        return None
    if not isinstance(value, str):
        raise invalid_request(f"Invalid string: {value!r}", param=name)
    return value


def require_str(params: Params, name: str) -> str:
    value = get_str(params, name, required=True)
    assert value is not None
    return value


def get_int(
    params: Params, name: str, *, required: bool = False, minimum: int | None = None
) -> int | None:
    raw = get_str(params, name, required=required)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise invalid_request(f"Invalid integer: {raw}", param=name) from None
    if minimum is not None and value < minimum:
        raise invalid_request(f"This value must be greater than or equal to {minimum}.", param=name)
    return value


def get_bool(params: Params, name: str, default: bool = False) -> bool:
    raw = get_str(params, name)
    if raw is None:
        return default
    if raw not in ("true", "false"):
        raise invalid_request(f"Invalid boolean: {raw}", param=name)
    return raw == "true"


def get_enum(params: Params, name: str, choices: Iterable[str]) -> str | None:
    raw = get_str(params, name)
    options = list(choices)
    if raw is not None and raw not in options:
        raise invalid_request(f"Invalid {name}: must be one of {', '.join(options)}", param=name)
    return raw


def get_dict(params: Params, name: str) -> Params:
    value = params.get(name)
    if value is None or value == "":
        return {}
    if not isinstance(value, dict):
        raise invalid_request(f"Invalid object: {name}", param=name)
    return value


def get_list(params: Params, name: str) -> list[str]:
    value = params.get(name)
    if value is None or value == "":
        return []
    if isinstance(value, str):
        raise invalid_request(f"Invalid array: {name}", param=name)
    if isinstance(value, dict) or not all(isinstance(v, str) for v in value):
        raise invalid_request(f"Invalid array: {name}", param=name)
    return list(value)


def get_metadata(params: Params, current: dict[str, str] | None = None) -> dict[str, str]:
    """Merge ``metadata`` into ``current`` as Stripe does (an empty value unsets a key)."""
    result = dict(current or {})
    raw = params.get("metadata")
    if raw is None:
        return result
    if raw == "":
        return {}
    if not isinstance(raw, dict):
        raise invalid_request("Invalid object: metadata", param="metadata")
    for key, value in raw.items():
        if not isinstance(value, str):
            raise invalid_request(f"Invalid metadata value for {key}", param=f"metadata[{key}]")
        if len(key) > 40:
            raise invalid_request(
                "Metadata keys can have up to 40 characters.", param=f"metadata[{key}]"
            )
        if value == "":
            result.pop(key, None)
        else:
            result[key] = value
    if len(result) > 50:
        raise invalid_request("Metadata can have up to 50 keys.", param="metadata")
    return result


__all__ = [
    "Params",
    "StripeAPIError",
    "check_known",
    "get_bool",
    "get_dict",
    "get_enum",
    "get_int",
    "get_list",
    "get_metadata",
    "get_str",
    "parse_form",
    "require_str",
    "split_key",
]
