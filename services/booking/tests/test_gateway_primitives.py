import time

import jwt
import pytest

from booking.domain.errors import BookingError, ErrorCode
from booking.entrypoints.auth import Role, decode_token, issue_token
from booking.entrypoints.errors import STATUS
from eventkit.idempotency import request_hash

SECRET = "a-test-secret-that-is-long-enough-for-hs256"


def test_issued_token_round_trips_its_subject_and_role() -> None:
    principal = decode_token(SECRET, issue_token(SECRET, "guest-7", Role.GUEST))
    assert (principal.sub, principal.role) == ("guest-7", Role.GUEST)


@pytest.mark.parametrize(
    "token",
    [
        issue_token("another-secret-that-is-also-long-enough", "g", Role.GUEST),
        jwt.encode({"sub": "g", "role": "guest", "exp": int(time.time()) - 10}, SECRET),
        jwt.encode({"sub": "g", "role": "superuser", "exp": int(time.time()) + 60}, SECRET),
        jwt.encode({"role": "guest", "exp": int(time.time()) + 60}, SECRET),
        "not-a-jwt",
    ],
)
def test_bad_tokens_are_unauthenticated(token: str) -> None:
    with pytest.raises(BookingError) as caught:
        decode_token(SECRET, token)
    assert caught.value.code == ErrorCode.UNAUTHENTICATED


def test_a_token_accepted_once_is_refused_once_it_expires(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Verified tokens are remembered (eventkit.auth): the expiry must still hold on reuse."""
    token = issue_token(SECRET, "guest-8", Role.GUEST, ttl_seconds=60)
    assert decode_token(SECRET, token).sub == "guest-8"
    assert decode_token(SECRET, token).sub == "guest-8"  # the remembered answer
    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(BookingError) as caught:
        decode_token(SECRET, token)
    assert caught.value.code == ErrorCode.UNAUTHENTICATED
    with pytest.raises(BookingError):  # remembered for its own secret only
        decode_token("another-secret-that-is-also-long-enough", token)


def test_request_hash_ignores_key_order_but_not_values() -> None:
    a = request_hash("POST", "/v1/bookings", {"x": 1, "y": [1, 2]})
    assert a == request_hash("POST", "/v1/bookings", {"y": [1, 2], "x": 1})
    assert a != request_hash("POST", "/v1/bookings", {"x": 2, "y": [1, 2]})
    assert a != request_hash("POST", "/v1/other", {"x": 1, "y": [1, 2]})


def test_every_error_code_has_an_http_status() -> None:
    assert set(STATUS) == set(ErrorCode)
