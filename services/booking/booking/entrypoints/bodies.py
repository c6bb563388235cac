"""What every request body of the gateway shares (its fields' types: fields.py)."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict

from eventkit.fields import RequestBody

__all__ = ["RequestBody", "example"]


def example(body: dict[str, Any]) -> ConfigDict:
    """A `RequestBody`'s `model_config` with the example OpenAPI shows of it."""
    return ConfigDict(json_schema_extra={"examples": [body]})
