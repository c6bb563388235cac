"""A small ``multipart/form-data`` reader (the service does not depend on python-multipart)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_PARAM = re.compile(r';\s*([A-Za-z0-9_*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))')


@dataclass(frozen=True)
class Part:
    name: str
    filename: str | None
    content_type: str | None
    data: bytes


def header_params(value: str) -> dict[str, str]:
    """``form-data; name="a"; filename="b.txt"`` → ``{"name": "a", "filename": "b.txt"}``."""
    params: dict[str, str] = {}
    for match in _PARAM.finditer(value):
        quoted, bare = match.group(2), match.group(3)
        text = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else bare
        params[match.group(1).lower()] = text
    return params


def boundary_of(content_type: str) -> str | None:
    if not content_type.lower().startswith("multipart/"):
        return None
    return header_params(content_type).get("boundary") or None


def parse_multipart(body: bytes, boundary: str) -> list[Part]:
    """Parts in order. Raises ValueError on a body that is not multipart with this boundary."""
    delimiter = b"\r\n--" + boundary.encode("latin-1")
    sections = (b"\r\n" + body).split(delimiter)
    if len(sections) < 2:
        raise ValueError("no multipart boundary in body")
    parts: list[Part] = []
    for section in sections[1:]:
        if section.startswith(b"--"):
            return parts
        head, sep, data = section.partition(b"\r\n\r\n")
        if not sep:
            raise ValueError("multipart part without headers")
        headers: dict[str, str] = {}
        for line in head.split(b"\r\n"):
            if b":" in line:
                key, _, value = line.decode("utf-8", "replace").partition(":")
                headers[key.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        params = header_params(disposition)
        if "name" not in params:
            raise ValueError("multipart part without a name")
        parts.append(
            Part(params["name"], params.get("filename"), headers.get("content-type"), data)
        )
    raise ValueError("multipart body without closing boundary")
