"""Stripe simulator bench: CPU per request and webhook throughput with a long history.

    python bench/stripesim_bench.py [--intents 100000] [--rate 150] [--duration 20]

Builds a state file holding ``--intents`` captured PaymentIntents (each with its charge and
PaymentMethod; the events of the newest 10,000), starts ``python -m stripesim`` on it with a
local webhook receiver, then measures the simulator process's CPU (from /proc) per
``GET /v1/payment_intents/{id}`` and per create + confirm + capture, its idle CPU, webhook
delivery under ``--rate`` events/s for ``--duration`` s (and how fast the queue drains), and
the snapshot writes it reports in ``/_sim/health``. It prints figures and asserts nothing.
Runs on its own: no `make up` needed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from stripesim import create_app
from stripesim.store import Batch, Store

AUTH = {"Authorization": "Bearer sk_test_bench"}
EVENTS_OF_NEWEST = 10_000
CHUNK = 10_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- history ---------------------------------------------------------------------------------
async def _template() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The objects and events of one real create + confirm + capture."""
    app = create_app()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
        form = {"amount": "4200", "currency": "usd", "payment_method": "pm_card_visa"}
        pi = (await client.post("/v1/payment_intents", data=form, headers=AUTH)).json()
        await client.post(f"/v1/payment_intents/{pi['id']}/confirm", headers=AUTH)
    sim = app.state.sim
    return [dict(o) for o in sim.objects.values()], list(sim.events)


def build_history(path: Path, intents: int) -> tuple[list[str], float]:
    """Write ``intents`` cloned payments to the state file; their ids and the write time."""
    objects, events = asyncio.run(_template())
    texts = [json.dumps(o) for o in objects]
    event_texts = [(e["created"], json.dumps(e)) for e in events]
    ids = [o["id"] for o in objects]
    store, seq, event_seq, intent_ids = Store(path), 0, 0, []
    started = time.perf_counter()
    for first in range(0, intents, CHUNK):
        batch = Batch()
        for n in range(first, min(first + CHUNK, intents)):
            fresh = {old: f"{old[: old.index('_') + 1]}b{n:09d}{old[-8:]}" for old in ids}

            def rename(text: str, fresh: dict[str, str] = fresh) -> str:
                for old, new in fresh.items():
                    text = text.replace(old, new)
                return text

            for obj_id, text in zip(ids, texts, strict=True):
                seq += 1
                batch.objects[fresh[obj_id]] = (seq, rename(text))
            intent_ids.append(next(v for k, v in fresh.items() if k.startswith("pi_")))
            if n >= intents - EVENTS_OF_NEWEST:
                for created, text in event_texts:
                    event_seq += 1
                    body = rename(text).replace('"id": "evt_', f'"id": "evt_{event_seq}x', 1)
                    batch.events[event_seq] = (json.loads(body)["id"], created, body)
        store.write(batch)
    store.close()
    return intent_ids, time.perf_counter() - started


# -- webhook receiver ------------------------------------------------------------------------
class Receiver:
    """A minimal HTTP/1.1 keep-alive endpoint answering 200, in its own thread and loop."""

    def __init__(self) -> None:
        self.port = free_port()
        self.count = 0
        self._ready = threading.Event()
        threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True).start()
        self._ready.wait(10)

    async def _serve(self) -> None:
        server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self._ready.set()
        async with server:
            await server.serve_forever()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
                self.count += 1
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


# -- measurements ----------------------------------------------------------------------------
def start_sim(path: Path, receiver: Receiver) -> tuple[subprocess.Popen[bytes], str, float]:
    port = free_port()
    command = [sys.executable, "-m", "stripesim", "--port", str(port), "--log-level", "warning"]
    command += ["--state-file", str(path)]
    command += ["--webhook-url", f"http://127.0.0.1:{receiver.port}/webhooks"]
    started = time.perf_counter()
    proc = subprocess.Popen(command)
    base = f"http://127.0.0.1:{port}"
    while True:
        try:
            if httpx.get(f"{base}/_sim/health", timeout=1).status_code == 200:
                return proc, base, time.perf_counter() - started
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise SystemExit("stripesim exited during start")
        time.sleep(0.1)


def per_request_cpu(pid: int, client: httpx.Client, ids: list[str], count: int) -> float:
    before = cpu_seconds(pid)
    for intent_id in random.sample(ids, min(count, len(ids))):
        client.get(f"/v1/payment_intents/{intent_id}", headers=AUTH).raise_for_status()
    return (cpu_seconds(pid) - before) * 1000 / min(count, len(ids))


def flow_cpu(pid: int, client: httpx.Client, count: int) -> float:
    form = {"amount": "4200", "currency": "usd", "payment_method": "pm_card_visa"}
    before = cpu_seconds(pid)
    for _ in range(count):
        pi = client.post(
            "/v1/payment_intents", data={**form, "capture_method": "manual"}, headers=AUTH
        ).json()
        client.post(f"/v1/payment_intents/{pi['id']}/confirm", headers=AUTH).raise_for_status()
        client.post(f"/v1/payment_intents/{pi['id']}/capture", headers=AUTH).raise_for_status()
    return (cpu_seconds(pid) - before) * 1000 / count


async def _sample(client: httpx.AsyncClient, samples: list[dict[str, Any]]) -> None:
    while True:
        samples.append((await client.get("/_sim/health")).json())
        await asyncio.sleep(0.25)


async def sustained(base: str, rate: float, duration: float) -> dict[str, Any]:
    """``rate`` events/s (customers) for ``duration`` s; the queue sampled every 0.25 s."""
    samples: list[dict[str, Any]] = []
    limits = httpx.Limits(max_connections=32)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
        sampler = asyncio.create_task(_sample(client, samples))
        total, started = int(rate * duration), time.perf_counter()
        sent: list[asyncio.Task[httpx.Response]] = []
        for n in range(total):
            delay = started + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            sent.append(asyncio.create_task(client.post("/v1/customers", headers=AUTH)))
        await asyncio.gather(*sent)
        generated = time.perf_counter() - started
        while (health := (await client.get("/_sim/health")).json())["webhooks"]["pending"]:
            samples.append(health)
            await asyncio.sleep(0.05)
        sampler.cancel()
    done = time.perf_counter() - started
    saved = [s["persistence"] for s in samples if s["persistence"]["last_saved_at"]]
    return {
        "events": total,
        "generated_per_s": total / generated,
        "drained_after_s": done - generated,
        "delivered_per_s": total / done,
        "max_pending": max(s["webhooks"]["pending"] for s in samples),
        "snapshots": {
            (p["last_saved_at"], p["last_write_ms"], p["last_rows"], p["last_collect_ms"])
            for p in saved
        },
    }


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--intents", type=int, default=100_000, help="PaymentIntents of history")
    p.add_argument("--requests", type=int, default=2_000, help="GETs measured")
    p.add_argument("--flows", type=int, default=300, help="create+confirm+capture measured")
    p.add_argument("--rate", type=float, default=150.0, help="events/s during the webhook run")
    p.add_argument("--duration", type=float, default=20.0, help="seconds of the webhook run")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="stripesim-bench-") as tmp:
        path = Path(tmp) / "state.sqlite3"
        ids, written = build_history(path, args.intents)
        print(
            f"history: {args.intents:,} PaymentIntents written in {written:.1f} s "
            f"({path.stat().st_size / 1e6:.0f} MB)"
        )
        receiver = Receiver()
        proc, base, boot = start_sim(path, receiver)
        try:
            print(f"simulator started on it in {boot:.1f} s, {rss_mb(proc.pid):.0f} MB resident")
            with httpx.Client(base_url=base, timeout=30) as client:
                per_request_cpu(proc.pid, client, ids, 200)  # warm-up: first timer pass, caches
                get_ms = per_request_cpu(proc.pid, client, ids, args.requests)
                print(f"GET /v1/payment_intents/{{id}}: {get_ms:.2f} ms CPU per request")
                flow_ms = flow_cpu(proc.pid, client, args.flows)
                print(f"create+confirm+capture: {flow_ms:.2f} ms CPU per payment")
                idle = cpu_seconds(proc.pid)
                time.sleep(3)
                print(f"idle: {(cpu_seconds(proc.pid) - idle) / 3 * 100:.1f} % of a core")
            run = asyncio.run(sustained(base, args.rate, args.duration))
            print(
                f"webhooks: {run['events']:,} events at {run['generated_per_s']:.0f}/s; "
                f"queue drained {run['drained_after_s']:.2f} s after the last; "
                f"{run['delivered_per_s']:.0f} delivered/s overall; "
                f"max pending {run['max_pending']}; receiver got {receiver.count:,}"
            )
            writes = sorted(run["snapshots"])
            if writes:
                ms, collect = [w[1] for w in writes], [w[3] for w in writes]
                print(
                    f"snapshots during the run: {len(writes)}, write (thread) "
                    f"median {statistics.median(ms):.1f} ms, max {max(ms):.1f} ms; "
                    f"serialize (event loop) max {max(collect):.1f} ms; "
                    f"rows up to {max(w[2] for w in writes):,}"
                )
        finally:
            proc.terminate()
            proc.wait(30)
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
