"""What every request body of the gateway shares (its fields' types: fields.py)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class RequestBody(BaseModel):
    """A request body: a field it does not declare is refused (422 `validation_failed`), not
    silently dropped."""

    model_config = ConfigDict(extra="forbid")


def example(body: dict[str, Any]) -> ConfigDict:
    """A `RequestBody`'s `model_config` with the example OpenAPI shows of it."""
    return ConfigDict(json_schema_extra={"examples": [body]})
