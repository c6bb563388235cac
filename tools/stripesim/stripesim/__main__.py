"""``python -m stripesim --port 12111``: serve the simulator on 127.0.0.1."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import uvicorn

from stripesim.app import DEFAULT_WEBHOOK_SECRET, ach_settlement_seconds_from_env, create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="stripesim", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--webhook-url", default=os.environ.get("STRIPESIM_WEBHOOK_URL") or None)
    parser.add_argument(
        "--webhook-secret",
        default=os.environ.get("STRIPESIM_WEBHOOK_SECRET") or DEFAULT_WEBHOOK_SECRET,
    )
    parser.add_argument(
        "--state-file",
        type=Path,
        default=os.environ.get("STRIPESIM_STATE_FILE") or None,
        help="keep state across restarts in this JSON file (default: in memory only)",
    )
    parser.add_argument(
        "--ach-settlement-seconds",
        type=int,
        default=ach_settlement_seconds_from_env(),
        help="sim seconds an ACH debit stays processing (env STRIPESIM_ACH_SETTLEMENT_SECONDS, "
        "default 4 days)",
    )
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    app = create_app(
        args.webhook_url,
        args.webhook_secret,
        state_file=args.state_file,
        ach_settlement_seconds=args.ach_settlement_seconds,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)


if __name__ == "__main__":
    main()
