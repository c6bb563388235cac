"""The simulator's JSON writer: orjson's bytes, read back as what was written, pretty as
Stripe's event bodies, and the standard library's for what orjson refuses."""

from __future__ import annotations

import json

from stripesim.jsonio import SimJSONResponse, dumps

EVENT = {"id": "evt_1", "object": "event", "data": {"object": {"amount": 1099, "paid": True}}}


def test_compact_and_pretty_read_back_as_written() -> None:
    assert json.loads(dumps(EVENT)) == EVENT
    assert b" " not in dumps(EVENT)
    pretty = dumps(EVENT, pretty=True).decode()
    assert json.loads(pretty) == EVENT
    assert pretty.splitlines()[1] == '  "id": "evt_1",'  # two spaces, as Stripe indents


def test_what_orjson_refuses_is_written_by_the_standard_library() -> None:
    huge = {"amount": 2**70}
    assert json.loads(dumps(huge)) == huge
    assert json.loads(dumps(huge, pretty=True)) == huge


def test_the_response_renders_utf8_json() -> None:
    response = SimJSONResponse({"description": "café"}, status_code=201)
    assert response.status_code == 201
    assert json.loads(response.body) == {"description": "café"}
