"""Built-in e-sign provider: signing-link tokens, internal webhook signatures, table names, contract."""

import importlib.util
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from booking.adapters.esign.base import (
    DocumentSpec,
    EnvelopeStatus,
    ESignError,
    ESignErrorCode,
    ESignProvider,
    Signer,
    WebhookEvent,
    WebhookVerificationError,
    request_fingerprint,
    validate_request,
)
from booking.adapters.esign.builtin import BuiltinESignProvider
from booking.adapters.esign.builtin_tables import BuiltinTables
from booking.adapters.esign.builtin_tokens import (
    make_link_token,
    sign_webhook,
    verify_link_token,
    verify_webhook_signature,
)
from booking.adapters.esign.dropbox_sign import DropboxSignProvider
from booking.adapters.esign.dropbox_sign_requests import RequestMap
from booking.domain.signing import envelope_digest

SECRET = "a-signing-link-secret-for-tests"
NOW = datetime(2031, 5, 1, 12, 0, tzinfo=UTC)
SIGNER = Signer("guest-1", "Ada Guest", "ada@example.com")
DOCS = [DocumentSpec("rental", "Rental agreement", b"You agree.")]


def test_a_link_token_verifies_for_its_envelope_until_it_expires() -> None:
    not_after = int((NOW + timedelta(hours=1)).timestamp())
    token = make_link_token(SECRET, "env_a", not_after)
    assert verify_link_token(SECRET, "env_a", token, NOW)
    assert verify_link_token(SECRET, "env_a", token, NOW + timedelta(minutes=59))
    assert not verify_link_token(SECRET, "env_a", token, NOW + timedelta(hours=1))
    assert not verify_link_token(SECRET, "env_b", token, NOW)
    assert not verify_link_token("another-secret-of-enough-length", "env_a", token, NOW)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: None,
        lambda t: "",
        lambda t: "garbage",
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # flipped MAC
        lambda t: str(int(t.split(".")[0]) + 3600) + "." + t.split(".")[1],  # extended expiry
        lambda t: "x" + t,
        lambda t: t.split(".")[0],
    ],
)
def test_tampered_or_missing_tokens_are_refused(mutate) -> None:  # type: ignore[no-untyped-def]
    token = make_link_token(SECRET, "env_a", int((NOW + timedelta(hours=1)).timestamp()))
    assert not verify_link_token(SECRET, "env_a", mutate(token), NOW)


def test_short_secrets_are_refused() -> None:
    with pytest.raises(ValueError):
        make_link_token("short", "env_a", 1)


def test_internal_webhook_signature_round_trips_and_detects_tampering() -> None:
    body = b'{"envelope_id":"env_a","status":"signed"}'
    ts = int(NOW.timestamp())
    header = sign_webhook(SECRET, body, ts)
    verify_webhook_signature(SECRET, body, header, NOW, timedelta(minutes=5))
    for bad_body, bad_header, now in [
        (body + b" ", header, NOW),
        (body, header.replace("v1=", "v1=0"), NOW),
        (body, None, NOW),
        (body, "t=abc,v1=00", NOW),
        (body, header, NOW + timedelta(minutes=6)),
    ]:
        with pytest.raises(WebhookVerificationError):
            verify_webhook_signature(SECRET, bad_body, bad_header, now, timedelta(minutes=5))


async def test_builtin_parse_webhook_accepts_its_own_encoding() -> None:
    provider = BuiltinESignProvider(
        None,  # type: ignore[arg-type]  # parse/encode never touch the database
        public_base_url="http://127.0.0.1:8000/",
        secret=SECRET,
        clock=lambda: NOW,
    )
    event = WebhookEvent("env_a", EnvelopeStatus.DECLINED, NOW, {"envelope_key": "k"})
    body, headers = provider.encode_webhook(event)
    parsed = await provider.parse_webhook(body, {k.lower(): v for k, v in headers.items()})
    assert (parsed.envelope_id, parsed.status, parsed.occurred_at) == ("env_a", "declined", NOW)
    assert parsed.raw["envelope_key"] == "k"
    with pytest.raises(WebhookVerificationError):
        await provider.parse_webhook(body.replace(b"declined", b"signed"), headers)
    url = provider.signing_url("env_a", NOW + timedelta(hours=1))
    assert url.startswith("http://127.0.0.1:8000/sign/env_a?token=")
    assert provider.verify_link("env_a", url.split("token=")[1])


def test_both_providers_satisfy_the_protocol() -> None:
    assert isinstance(
        BuiltinESignProvider(None, public_base_url="http://x", secret=SECRET),  # type: ignore[arg-type]
        ESignProvider,
    )
    assert hasattr(DropboxSignProvider, "create_envelope")
    for method in ("create_envelope", "get_status", "parse_webhook", "fetch_signed_document"):
        assert callable(getattr(DropboxSignProvider, method))


@pytest.mark.parametrize("schema", ["Booking", "booking; DROP TABLE x", "", "1abc"])
def test_table_names_refuse_unsafe_identifiers(schema: str) -> None:
    with pytest.raises(ValueError):
        BuiltinTables.of(schema)
    with pytest.raises(ValueError):
        RequestMap(None, schema="booking", table_prefix=schema + "-")  # type: ignore[arg-type]


def test_envelope_digest_depends_on_every_document_hash() -> None:
    a = envelope_digest([("rental", "aa"), ("waiver", "bb")])
    assert a == envelope_digest([("rental", "aa"), ("waiver", "bb")])
    assert a != envelope_digest([("rental", "aa"), ("waiver", "bc")])
    assert a != envelope_digest([("waiver", "bb"), ("rental", "aa")])


def test_request_fingerprint_covers_content_signer_metadata_and_expiry() -> None:
    base = request_fingerprint(SIGNER, DOCS, {"booking_id": "b1"}, NOW)
    assert base == request_fingerprint(SIGNER, list(DOCS), {"booking_id": "b1"}, NOW)
    other_doc = [DocumentSpec("rental", "Rental agreement", b"You agree!")]
    assert base != request_fingerprint(SIGNER, other_doc, {"booking_id": "b1"}, NOW)
    assert base != request_fingerprint(SIGNER, DOCS, {"booking_id": "b2"}, NOW)
    assert base != request_fingerprint(SIGNER, DOCS, {"booking_id": "b1"}, NOW + timedelta(1))
    other_signer = Signer("guest-2", "Ada Guest", "ada@example.com")
    assert base != request_fingerprint(other_signer, DOCS, {"booking_id": "b1"}, NOW)


@pytest.mark.parametrize(
    ("key", "signer", "docs", "expires_at"),
    [
        ("", SIGNER, DOCS, NOW),
        ("k" * 256, SIGNER, DOCS, NOW),
        ("k", Signer("g", "Ada", "not-an-email"), DOCS, NOW),
        ("k", SIGNER, [], NOW),
        ("k", SIGNER, [DOCS[0], DOCS[0]], NOW),
        ("k", SIGNER, [DocumentSpec("empty", "Empty", b"")], NOW),
        ("k", SIGNER, DOCS, NOW.replace(tzinfo=None)),
    ],
)
def test_invalid_requests_are_refused(key, signer, docs, expires_at) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ESignError) as caught:
        validate_request(key, signer, docs, expires_at)
    assert caught.value.code == ESignErrorCode.INVALID_REQUEST
    assert not caught.value.retryable


def _migration(name: str) -> Any:
    path = Path(__file__).parents[1] / "booking/migrations/versions" / name
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_adapters_name_the_tables_the_migrations_create() -> None:
    # The adapters keep no DDL: migrations 0007 and 0008 create their tables (the DDL is frozen
    # in them, so history cannot change with an adapter). The names must still agree.
    docs_before_pay = _migration("0007_docs_before_pay.py")
    dropbox = _migration("0008_dropbox_sign.py")
    tables = BuiltinTables.of()
    assert tables == BuiltinTables(
        "booking.esign_envelopes", "booking.esign_documents", "booking.esign_signatures"
    )
    for name in (tables.envelopes, tables.documents, tables.signatures):
        assert (
            sum(sql.startswith(f"CREATE TABLE {name} (") for sql in docs_before_pay.ESIGN_TABLES)
            == 1
        )
        assert f"DROP TABLE IF EXISTS {name}" in docs_before_pay.DROP_ESIGN_TABLES
    requests = RequestMap(None, schema="booking", table_prefix="esign_")  # type: ignore[arg-type]
    assert dropbox.TABLES[0].startswith(f"CREATE TABLE {requests._table} (")
    assert dropbox.DROP_TABLES == [f"DROP TABLE IF EXISTS {requests._table}"]
