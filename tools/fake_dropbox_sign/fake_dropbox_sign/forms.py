"""Request bodies as Dropbox Sign reads them: multipart or urlencoded, ``a[0][b]=v`` nesting."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

_PARAM = re.compile(r';\s*([A-Za-z0-9_*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))')
_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")


class FormError(ValueError):
    pass


@dataclass(frozen=True)
class UploadedFile:
    field: str
    filename: str
    content_type: str
    content: bytes


def header_params(value: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for match in _PARAM.finditer(value):
        quoted, bare = match.group(2), match.group(3)
        params[match.group(1).lower()] = (
            re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else bare
        )
    return params


def parse_multipart(body: bytes, boundary: str) -> tuple[list[tuple[str, str]], list[UploadedFile]]:
    """(text fields, file parts), in order."""
    sections = (b"\r\n" + body).split(b"\r\n--" + boundary.encode("latin-1"))
    if len(sections) < 2:
        raise FormError("body does not contain the multipart boundary")
    fields: list[tuple[str, str]] = []
    files: list[UploadedFile] = []
    for section in sections[1:]:
        if section.startswith(b"--"):
            return fields, files
        head, sep, data = section.partition(b"\r\n\r\n")
        if not sep:
            raise FormError("multipart part without headers")
        headers: dict[str, str] = {}
        for line in head.split(b"\r\n"):
            key, colon, value = line.decode("utf-8", "replace").partition(":")
            if colon:
                headers[key.strip().lower()] = value.strip()
        params = header_params(headers.get("content-disposition", ""))
        name = params.get("name")
        if name is None:
            raise FormError("multipart part without a name")
        if "filename" in params:
            content_type = headers.get("content-type", "application/octet-stream")
            files.append(UploadedFile(name, params["filename"], content_type, data))
        else:
            fields.append((name, data.decode("utf-8", "replace")))
    raise FormError("multipart body without its closing boundary")


def read_body(body: bytes, content_type: str) -> tuple[list[tuple[str, str]], list[UploadedFile]]:
    kind = content_type.split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        boundary = header_params(content_type).get("boundary")
        if not boundary:
            raise FormError("multipart body without a boundary")
        return parse_multipart(body, boundary)
    if kind in ("application/x-www-form-urlencoded", ""):
        return parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True), []
    raise FormError(f"unsupported content type {kind!r}")


def split_key(key: str) -> list[str]:
    """``"signers[0][name]"`` → ``["signers", "0", "name"]``."""
    match = _KEY.match(key)
    if match is None:
        return [key]
    return [match.group(1), *_SEGMENT.findall(match.group(2))]


def nest(fields: list[tuple[str, str]]) -> dict[str, Any]:
    """Bracket keys to nested dicts (indices stay string keys: ``{"signers": {"0": {...}}}``);
    ``a[]`` appends with the next free index."""
    root: dict[str, Any] = {}
    for key, value in fields:
        path = split_key(key)
        node = root
        for segment in path[:-1]:
            child = node.setdefault(segment, {})
            if not isinstance(child, dict):
                raise FormError(f"conflicting parameter {key!r}")
            node = child
        last = path[-1] if path[-1] != "" else str(len(node))
        if isinstance(node.get(last), dict):
            raise FormError(f"conflicting parameter {key!r}")
        node[last] = value
    return root


def indexed(mapping: dict[str, Any]) -> list[Any]:
    """``{"1": b, "0": a}`` → ``[a, b]``; indices must be integers."""
    if not all(k.isdigit() for k in mapping):
        raise FormError("array parameters need integer indices")
    return [mapping[k] for k in sorted(mapping, key=int)]
