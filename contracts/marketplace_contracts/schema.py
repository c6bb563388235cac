"""JSON Schema of whole envelopes, one per event type and version."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import create_model

from marketplace_contracts.envelope import Envelope, EventModel
from marketplace_contracts.registry import REGISTRY

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def schema_path(event_type: str, version: int, root: Path = SCHEMA_DIR) -> Path:
    return root / event_type / f"v{version}.json"


@cache
def typed_envelope(model: type[EventModel]) -> type[Envelope]:
    """The envelope with `type`, `version` and `data` pinned to one event version."""
    return create_model(
        f"{model.__name__}Envelope",
        __base__=Envelope,
        __doc__=model.__doc__,
        type=(Literal[model.TYPE], ...),  # type: ignore[arg-type]
        version=(Literal[model.VERSION], ...),  # type: ignore[arg-type]
        data=(model, ...),
    )


def envelope_schema(model: type[EventModel]) -> dict[str, Any]:
    """The schema a consumer (or kcat-based checker) validates a whole Kafka value against."""
    schema = typed_envelope(model).model_json_schema(mode="serialization")
    schema["$schema"] = DIALECT
    schema["$id"] = f"urn:marketplace:event:{model.TYPE}:v{model.VERSION}"
    schema["title"] = f"{model.TYPE} v{model.VERSION}"
    schema["x-topic"] = model.TOPIC
    return schema


def generated_schemas() -> dict[tuple[str, int], dict[str, Any]]:
    return {key: envelope_schema(model) for key, model in sorted(REGISTRY.items())}


def committed_schemas(root: Path = SCHEMA_DIR) -> dict[tuple[str, int], dict[str, Any]]:
    import json

    found: dict[tuple[str, int], dict[str, Any]] = {}
    for path in sorted(root.glob("*/v*.json")):
        found[(path.parent.name, int(path.stem[1:]))] = json.loads(path.read_text())
    return found
