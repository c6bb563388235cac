"""The one threaded server of the tests: an ASGI app under uvicorn in a background thread, on a
free port of 127.0.0.1, for as long as the `with` block (or the fixture that wraps it) runs;
and its twin on the test's own event loop (`serve_here`), for an app whose pool is bound to it."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import uvicorn

from tests.support.poll import wait_for, wait_until


@contextlib.contextmanager
def serve(app: Any, what: str = "the app") -> Iterator[str]:
    """Serve ``app`` (lifespan on) and yield its base URL; stop it afterwards."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_until(
            lambda: server.started or not thread.is_alive(),
            timeout=15,
            interval=0.02,
            what=f"{what} listening",
        )
        assert thread.is_alive(), f"{what} stopped while starting"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextlib.asynccontextmanager
async def serve_here(app: Any, what: str = "the app") -> AsyncIterator[str]:
    """Serve ``app`` (lifespan off) on the running event loop and yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))

    async def started() -> bool:
        assert not task.done(), f"{what} stopped while starting"
        return server.started

    try:
        await wait_for(started, timeout=15, interval=0.02)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)
        sock.close()
