"""python -m booking {migrate,serve,asyncapi,seed-listings,token}"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from booking import catalog_seed
from booking.bootstrap import build_app, build_runtime
from booking.config import BookingSettings
from booking.entrypoints.auth import Role, issue_token
from eventkit.cli import service_main


def _seed_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--file", type=Path, default=catalog_seed.DEFAULT_LISTINGS)


def _seed(args: argparse.Namespace) -> int:
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092")
    for listing_id in catalog_seed.run(bootstrap, args.file):
        print(f"published listing {listing_id} to catalog.listings")
    return 0


def _token_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sub", required=True)
    p.add_argument("--role", choices=[r.value for r in Role], required=True)
    p.add_argument("--ttl", type=int, default=24 * 3600, help="seconds")


def _token(args: argparse.Namespace) -> int:
    print(issue_token(BookingSettings().jwt_secret, args.sub, Role(args.role), args.ttl))
    return 0


def main() -> int:
    return service_main(
        "booking",
        settings=BookingSettings,
        runtime=build_runtime,  # type: ignore[arg-type]
        app=build_app,
        migrations=Path(__file__).with_name("migrations"),
        extras=(
            ("seed-listings", "publish the seed listings to catalog.listings", _seed_args, _seed),
            ("token", "mint a development JWT for the gateway", _token_args, _token),
        ),
    )


if __name__ == "__main__":
    sys.exit(main())
