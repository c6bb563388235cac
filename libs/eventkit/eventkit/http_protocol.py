"""The HTTP server's protocol: uvicorn's (httptools), with its one answer of its own, to a
request it cannot parse, in the project's error body.

A request line or header that is not HTTP/1.1 (an unknown method such as `FOO`, a space in
the path, a malformed header) is refused by the parser before any application code runs;
uvicorn answered it with a plain-text 400. It is now 400 `malformed_request` in the JSON
body every other error has (docs/api-errors.md), and the connection is closed, as before.
"""

from __future__ import annotations

import json
from typing import Final

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from eventkit.http_errors import error_body

MALFORMED_REQUEST: Final = "malformed_request"
_BODY: Final = json.dumps(
    error_body(
        MALFORMED_REQUEST,
        "the request could not be read as HTTP/1.1: its request line (method, path, version) "
        "or a header is malformed",
    )
).encode()


class HttpProtocol(HttpToolsProtocol):
    """`uvicorn.run(..., http=HttpProtocol)`."""

    def send_400_response(self, msg: str) -> None:
        content = [STATUS_LINE[400]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: application/json\r\n",
                b"content-length: " + str(len(_BODY)).encode("ascii") + b"\r\n",
                b"connection: close\r\n",
                b"\r\n",
                _BODY,
            ]
        )
        self.transport.write(b"".join(content))
        self.transport.close()
