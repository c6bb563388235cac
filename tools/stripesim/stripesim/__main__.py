"""``python -m stripesim --port 12111``: serve the simulator on 127.0.0.1."""

from __future__ import annotations

import argparse

import uvicorn

from stripesim import config
from stripesim.app import create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="stripesim", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    config.add_arguments(parser)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    app = create_app(
        args.webhook_url,
        args.webhook_secret,
        state_file=args.state_file,
        ach_settlement_seconds=args.ach_settlement_seconds,
        available_delay_seconds=args.available_delay_seconds,
        automatic_payouts=args.automatic_payouts,
        payout_time=args.payout_time,
        payout_arrival_seconds=args.payout_arrival_seconds,
        webhook_workers=args.webhook_workers,
        webhook_events=args.webhook_events,
        webhook_backoff=args.webhook_retry_base,
        webhook_backoff_cap=args.webhook_retry_cap,
        webhook_retry_horizon=args.webhook_retry_horizon,
        snapshot_seconds=args.snapshot_seconds,
        events_in_memory=args.events_in_memory,
        objects_in_memory=args.objects_in_memory,
        idempotency_in_memory=args.idempotency_in_memory,
    )
    # One access-log line per request costs the simulator about a tenth of its CPU under load:
    # written only at --log-level debug.
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=args.log_level == "debug",
    )


if __name__ == "__main__":
    main()
