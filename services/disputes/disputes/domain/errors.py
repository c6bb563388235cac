"""The disputes service's refusals: a machine-readable code each (HTTP status: entrypoints)."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    CASE_NOT_FOUND = "case_not_found"
    ILLEGAL_TRANSITION = "illegal_transition"  # domainkit.transitions' code
    EVIDENCE_LOCKED = "evidence_locked"  # evidence changes only while a response is due
    CASE_RESOLVED = "case_resolved"
    UNKNOWN_EVIDENCE_FIELD = "unknown_evidence_field"
    UNSUPPORTED_FILE_TYPE = "unsupported_file_type"
    EMPTY_FILE = "empty_file"
    EVIDENCE_TOO_LARGE = "evidence_too_large"
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"


class DisputeError(Exception):
    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
