"""Who a staff change is recorded against: a person's own token, or the person a service
names in X-Acting-For; a service naming nobody changes nothing."""

from __future__ import annotations

import pytest
from fastapi import HTTPException

from eventkit.acting import acting_actor
from eventkit.auth import Principal, Role


def test_a_person_is_recorded_by_their_token_whatever_the_header_says() -> None:
    alice = Principal("alice@example.com", Role.FINANCE)
    assert acting_actor(alice, None) == "alice@example.com"
    assert acting_actor(alice, "mallory") == "alice@example.com"


def test_a_service_is_recorded_with_the_person_it_acts_for() -> None:
    ops = Principal("ops", Role.SERVICE)
    assert acting_actor(ops, "tom@example.com") == "tom@example.com via service:ops"


@pytest.mark.parametrize("header", [None, ""])
def test_a_service_naming_nobody_is_refused_with_a_code(header: str | None) -> None:
    with pytest.raises(HTTPException) as refused:
        acting_actor(Principal("ops", Role.SERVICE), header)
    assert refused.value.status_code == 400
    assert isinstance(refused.value.detail, dict)
    assert refused.value.detail["code"] == "acting_for_required"
