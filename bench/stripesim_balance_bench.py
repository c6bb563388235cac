"""Stripe simulator bench: paging through 100,000 balance transactions, as finance's import does.

    python bench/stripesim_balance_bench.py [--transactions 100000]

Writes a state file holding ``--transactions`` balance transactions (charges, refunds,
transfers; half still pending), starts ``python -m stripesim`` on it, then pages through all
of them with ``limit=100`` over HTTP four ways: raw requests (the simulator's own cost), the
same with a ``created[gte]`` filter (finance's incremental cursor), the official ``stripe`` SDK
(``stripe.BalanceTransaction.list(..., starting_after=...)``, which builds a StripeObject per
row), and the SDK's ``StripeClient.raw_request`` with the JSON parsed as plain dicts. It prints seconds, pages/s, the simulator
process's CPU per page and the load average, and asserts nothing. Runs on its own: no
`make up` needed.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import stripe

from stripesim.resources import fees
from stripesim.store import Batch, Store

KEY = "sk_test_bench"
AUTH = {"Authorization": f"Bearer {KEY}"}
CHUNK = 10_000
START = 1_800_000_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def transaction(n: int, total: int) -> dict[str, Any]:
    """The ``n``-th of ``total`` balance transactions, a second apart: mostly charges."""
    created = START + n
    kind = ("charge", "charge", "charge", "refund", "transfer")[n % 5]
    amount = 1_000 + n % 9_000 if kind == "charge" else -(500 + n % 500)
    fee = fees.card_fee(amount) if kind == "charge" else 0
    pending = kind == "charge" and n > total // 2
    return {
        "id": f"txn_bench{n:012d}",
        "object": "balance_transaction",
        "amount": amount,
        "available_on": created + 2 * 86_400 if pending else created,
        "created": created,
        "currency": "usd",
        "description": None,
        "exchange_rate": None,
        "fee": fee,
        "fee_details": fees.stripe_fee_details(fee, "usd", "Stripe processing fees"),
        "net": amount - fee,
        "reporting_category": kind,
        "source": f"{dict(charge='ch', refund='re', transfer='tr')[kind]}_bench{n:012d}",
        "status": "pending" if pending else "available",
        "type": kind,
    }


def build(path: Path, total: int) -> float:
    store, started = Store(path), time.perf_counter()
    for first in range(0, total, CHUNK):
        batch = Batch()
        for n in range(first, min(first + CHUNK, total)):
            txn = transaction(n, total)
            batch.objects[txn["id"]] = (n + 1, json.dumps(txn))
        store.write(batch)
    store.close()
    return time.perf_counter() - started


def start_sim(path: Path) -> tuple[subprocess.Popen[bytes], str, float]:
    port = free_port()
    command = [sys.executable, "-m", "stripesim", "--port", str(port), "--log-level", "warning"]
    command += ["--state-file", str(path), "--automatic-payouts", "false"]
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


def page_raw(client: httpx.Client, **params: Any) -> tuple[int, int]:
    """Every page with raw requests; (pages, rows)."""
    pages = rows = 0
    after: dict[str, str] = {}
    while True:
        body = client.get("/v1/balance_transactions", params={"limit": 100, **params, **after})
        data = body.json()
        pages, rows = pages + 1, rows + len(data["data"])
        if not data["has_more"]:
            return pages, rows
        after = {"starting_after": data["data"][-1]["id"]}


def page_sdk(**params: Any) -> tuple[int, int]:
    pages = rows = 0
    after: dict[str, str] = {}
    while True:
        page = stripe.BalanceTransaction.list(limit=100, **params, **after)
        pages, rows = pages + 1, rows + len(page.data)
        if not page.has_more:
            return pages, rows
        after = {"starting_after": page.data[-1].id}


def page_sdk_raw(client: stripe.StripeClient, **params: Any) -> tuple[int, int]:
    """The SDK's ``raw_request``, JSON parsed without building a StripeObject per row."""
    pages = rows = 0
    after: dict[str, str] = {}
    while True:
        response = client.raw_request(
            "get", "/v1/balance_transactions", limit=100, **params, **after
        )
        data = json.loads(response.body)
        pages, rows = pages + 1, rows + len(data["data"])
        if not data["has_more"]:
            return pages, rows
        after = {"starting_after": data["data"][-1]["id"]}


def measure(name: str, pid: int, run: Callable[[], tuple[int, int]]) -> None:
    cpu, started = cpu_seconds(pid), time.perf_counter()
    pages, rows = run()
    wall, used = time.perf_counter() - started, cpu_seconds(pid) - cpu
    print(
        f"{name}: {rows:,} rows in {pages:,} pages, {wall:.2f} s ({pages / wall:.0f} pages/s, "
        f"{rows / wall:,.0f} rows/s); simulator CPU {used / pages * 1000:.2f} ms per page"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--transactions", type=int, default=100_000)
    args = p.parse_args()
    total = args.transactions
    with tempfile.TemporaryDirectory(prefix="stripesim-balance-bench-") as tmp:
        path = Path(tmp) / "state.sqlite3"
        print(f"history: {total:,} balance transactions written in {build(path, total):.1f} s")
        proc, base, boot = start_sim(path)
        try:
            print(f"simulator started on it in {boot:.1f} s")
            stripe.api_key, stripe.api_base = KEY, base
            with httpx.Client(base_url=base, headers=AUTH, timeout=60) as client:
                balance = client.get("/v1/balance").json()
                print(
                    f"balance: {balance['available'][0]['amount']:,} available, "
                    f"{balance['pending'][0]['amount']:,} pending (usd)"
                )
                measure("raw, all", proc.pid, lambda: page_raw(client))
                since = {"created[gte]": START + total // 2}
                measure("raw, created[gte] half", proc.pid, lambda: page_raw(client, **since))
            measure("stripe SDK objects, all", proc.pid, page_sdk)
            sdk = stripe.StripeClient(KEY, base_addresses={"api": base})
            measure("stripe SDK raw_request, all", proc.pid, lambda: page_sdk_raw(sdk))
        finally:
            proc.terminate()
            proc.wait(30)
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
