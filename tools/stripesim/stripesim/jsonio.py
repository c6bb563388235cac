"""JSON out of the simulator: every API answer, every webhook body and every row of its state
file. orjson, because the standard library's encoder was a tenth of the simulator's CPU under a
checkout benchmark (and a webhook's pretty-printed body, like Stripe's, took its pure-Python
path); `json` stays the fallback for what orjson refuses (an integer beyond 64 bits)."""

from __future__ import annotations

import copy
import json
from typing import Any

import orjson
from fastapi.responses import JSONResponse


def dumps(value: Any, *, pretty: bool = False) -> bytes:
    """`value` as UTF-8 JSON: compact, or indented by two spaces as Stripe sends events."""
    try:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2 if pretty else 0)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        text = json.dumps(value, indent=2) if pretty else json.dumps(value, separators=(",", ":"))
        return text.encode("utf-8")


def clone(value: Any) -> Any:
    """A deep copy of a JSON document (Stripe objects, events): through orjson, several times
    faster than `copy.deepcopy`, which was a twentieth of the simulator's CPU; deepcopy for
    what orjson refuses."""
    try:
        return orjson.loads(orjson.dumps(value))
    except TypeError:
        return copy.deepcopy(value)


class SimJSONResponse(JSONResponse):
    """Starlette's JSONResponse, rendered by `dumps`."""

    def render(self, content: Any) -> bytes:
        return dumps(content)
