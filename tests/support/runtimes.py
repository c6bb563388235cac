"""A service's runtime as its `serve` builds it (bootstrap and settings), not started."""

from __future__ import annotations

import importlib
from typing import Any

from eventkit.runtime import ServiceRuntime


def service_runtime(service: str) -> ServiceRuntime:
    bootstrap: Any = importlib.import_module(f"{service}.bootstrap")
    config: Any = importlib.import_module(f"{service}.config")
    settings = next(
        getattr(config, name)
        for name in dir(config)
        if name.endswith("Settings") and name.lower().startswith(service)
    )
    runtime: ServiceRuntime = bootstrap.build_runtime(settings())
    return runtime
