"""A file's name as sent is shown, never trusted: no path, no control characters, bounded."""

from __future__ import annotations

import pytest

from disputes.entrypoints.http import shown_name


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        ("receipt.pdf", "receipt.pdf"),
        ("../../\x01etc.pdf", "etc.pdf"),
        ("..\\..\\windows\\receipt.png", "receipt.png"),
        ("/abs/path/", "upload"),
        ("", "upload"),
        (None, "upload"),
        ("x" * 5000 + ".pdf", "x" * 200),
    ],
)
def test_a_files_name_is_its_last_segment_printable_and_bounded(
    sent: str | None, shown: str
) -> None:
    assert shown_name(sent) == shown
