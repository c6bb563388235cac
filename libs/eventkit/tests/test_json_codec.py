"""eventkit.db's json/jsonb codec, without a database: what it writes and what it refuses."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from eventkit.db import decode_json, encode_json


def test_it_writes_what_json_dumps_with_default_str_wrote() -> None:
    """Rows written before the codec and after it read the same: datetimes as str(dt) (a space,
    not isoformat's T), non-str keys as strings, unknown types as str(value)."""
    at = datetime(2027, 3, 1, 10, 30, tzinfo=UTC)
    value = {
        "at": at,
        "day": date(2027, 3, 1),
        "id": uuid.UUID(int=7),
        "fee": Decimal("1.50"),
        1: ["a", None, True, 2.5, (3, 4)],
        "name": "Zoë",
    }
    assert decode_json(encode_json(value)) == json.loads(json.dumps(value, default=str))
    assert decode_json(encode_json(value))["at"] == "2027-03-01 10:30:00+00:00"


def test_it_keeps_key_order() -> None:
    """A `json` column (booking's replayed responses) gives back the keys in their order."""
    value = {"zeta": 1, "alpha": {"y": 2, "b": 3}}
    assert list(decode_json(encode_json(value))) == ["zeta", "alpha"]
    assert list(decode_json(encode_json(value))["alpha"]) == ["y", "b"]


@pytest.mark.parametrize("encoded", ['{"a": 1}', b'{"a": 1}', "[]"])
def test_it_refuses_text_that_would_be_stored_as_a_json_string(encoded: str | bytes) -> None:
    """json.dumps(...) passed as before the codec would be encoded twice: a JSON string."""
    with pytest.raises(TypeError, match="pass the value itself"):
        encode_json(encoded)
