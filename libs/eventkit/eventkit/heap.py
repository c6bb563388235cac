"""The cyclic garbage collector of a long-running service, tuned once it has started.

A service allocates short-lived objects by the thousand per request or event (pydantic models,
dicts of rows, envelopes), nearly all freed by reference counting. With Python's default
thresholds (700, 10, 10) the collector still runs a young collection every 700 allocations
and, every hundred of those, a full one that walks every tracked object: the modules, the
FastAPI app, the connection pools, the caches built at start, most of which live as long as
the process. Profiled under checkout load, collection was several percent of a service's CPU.

`settle()` runs once the process `serve` runs has started (not in the apps tests build): one
full collection, then `gc.freeze()` moves every surviving object to the permanent generation
(no collection walks it again), and the young threshold is raised so that young collections
run less often. Cycles are still collected, only less often (docs/benchmarks.md has the
measurement).
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger("eventkit.heap")


def settle(young_threshold: int) -> None:
    """Collect, freeze what is left, and set the young threshold (0 keeps Python's own)."""
    gc.collect()
    gc.freeze()
    if young_threshold:
        _, older, oldest = gc.get_threshold()
        gc.set_threshold(young_threshold, older, oldest)
    log.info(
        "heap settled: %d objects frozen, thresholds %s", gc.get_freeze_count(), gc.get_threshold()
    )
