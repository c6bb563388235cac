"""Signing page, offline: client IP resolution and HTML escaping."""

from datetime import UTC, datetime

import pytest

from booking.adapters.esign.base import EnvelopeStatus, sha256_hex
from booking.domain.signing import SigningDocument, SigningView
from booking.features.documents.endpoints import (
    SECURITY_HEADERS,
    page,
    render_form,
    resolve_client_ip,
)


@pytest.mark.parametrize(
    ("peer", "xff", "hops", "expected"),
    [
        ("10.0.0.5", None, 0, "10.0.0.5"),
        ("10.0.0.5", "198.51.100.7", 0, "10.0.0.5"),  # not configured: header ignored
        ("10.0.0.5", "198.51.100.7", 1, "198.51.100.7"),
        ("10.0.0.5", "6.6.6.6, 198.51.100.7", 1, "198.51.100.7"),  # spoofed left entry
        ("10.0.0.5", "6.6.6.6, 198.51.100.7, 10.0.0.9", 2, "198.51.100.7"),
        ("10.0.0.5", "198.51.100.7", 3, "198.51.100.7"),
        ("10.0.0.5", "not-an-ip", 1, "10.0.0.5"),
        ("10.0.0.5", " , ", 1, "10.0.0.5"),
        ("10.0.0.5", "2001:db8::1", 1, "2001:db8::1"),
        (None, None, 1, None),
    ],
)
def test_client_ip(peer: str | None, xff: str | None, hops: int, expected: str | None) -> None:
    assert resolve_client_ip(peer, xff, hops) == expected


def test_documents_and_names_are_escaped() -> None:
    evil = b"<script>alert('x')</script> & \"quotes\""
    view = SigningView(
        "env_1",
        "<b>Mallory</b>",
        "m@example.com",
        EnvelopeStatus.SENT,
        datetime(2031, 1, 1, tzinfo=UTC),
        None,
        (
            SigningDocument("d1", "<i>Terms</i>", "text/plain", evil, sha256_hex(evil)),
            SigningDocument("d2", "Scan", "application/pdf", b"%PDF", sha256_hex(b"%PDF")),
        ),
    )
    html = render_form(view, 'tok"en')
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<b>Mallory</b>" not in html and "&lt;b&gt;Mallory&lt;/b&gt;" in html
    assert "<i>Terms</i>" not in html
    assert 'value="tok&#34;en"' in html
    assert f'value="{view.digest}"' in html
    assert "application/pdf, 4 bytes" in html
    assert 'name="action" value="sign"' in html and 'name="action" value="decline"' in html
    response = page(200, "<t>", view=view, token="t")
    assert b"<title>&lt;t&gt;</title>" in response.body
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
