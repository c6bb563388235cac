"""Every mutating gateway route is a command (entrypoints/command.py): it reads
`Idempotency-Key`, documents who may call it (401, 403) and answers its response model."""

from typing import Any

import pytest

from booking.bootstrap import build_app, build_runtime
from booking.config import BookingSettings

# POST routes that change nothing: they take a body, not a command.
READS = {"/v1/bookings/{booking_id}/cancel/preview"}


def _commands() -> list[tuple[str, dict[str, Any]]]:
    app = build_app(
        build_runtime(BookingSettings(jwt_secret="gateway-commands-secret-long-enough"))
    )
    paths = app.openapi()["paths"]
    return [
        (path, operation)
        for path, operations in paths.items()
        for method, operation in operations.items()
        if method in ("post", "put", "patch", "delete") and path not in READS
    ]


COMMANDS = _commands()


def test_the_gateway_has_commands() -> None:
    assert len(COMMANDS) >= 20


@pytest.mark.parametrize(("path", "operation"), COMMANDS, ids=[p for p, _ in COMMANDS])
def test_a_command_reads_the_key_names_its_refusals_and_its_answer(
    path: str, operation: dict[str, Any]
) -> None:
    names = [p["name"] for p in operation.get("parameters", [])]
    assert "Idempotency-Key" in names
    responses = operation["responses"]
    assert {"401", "403", "422"} <= set(responses)
    [success] = [code for code in responses if code.startswith("2")]
    schema = responses[success]["content"]["application/json"]["schema"]
    assert "$ref" in schema, f"{path} answers no response model"
