"""The booking service's command line: `python -m booking {migrate,serve,asyncapi,seed-listings,
token,lifecycle-doc}`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from booking import catalog_seed
from booking.bootstrap import build_app, build_runtime
from booking.config import BookingSettings
from booking.domain.model import mermaid
from booking.entrypoints.auth import Role, issue_token
from booking.features.amendments.domain import amendment_mermaid
from booking.features.groups.domain import group_mermaid
from booking.features.invites.domain import invite_mermaid
from eventkit.cli import service_main

# docs/lifecycles.md, with the diagrams of the transition tables in its placeholders.
LIFECYCLE_DOC = Path(__file__).parents[1] / "templates" / "lifecycles.md"


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
    p.add_argument("--ttl", type=_lifetime, default=24 * 3600, help="seconds (more than 0)")


def _lifetime(text: str) -> int:
    seconds = int(text)
    if seconds <= 0:  # a token every service would refuse as expired
        raise argparse.ArgumentTypeError(f"a token's lifetime must be positive, not {text}")
    return seconds


def _token(args: argparse.Namespace) -> int:
    try:
        token = issue_token(BookingSettings().jwt_secret, args.sub, Role(args.role), args.ttl)
    except ValueError as exc:  # a token every service would refuse
        print(f"no token: {exc}", file=sys.stderr)
        return 2
    print(token)
    return 0


def _lifecycle_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--output", type=Path, help="write docs/lifecycles.md here")


def _lifecycle(args: argparse.Namespace) -> int:
    text = LIFECYCLE_DOC.read_text().format(
        diagram=mermaid(),
        invites=invite_mermaid(),
        groups=group_mermaid(),
        amendments=amendment_mermaid(),
    )
    if args.output:
        args.output.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


def main() -> int:
    return service_main(
        "booking",
        settings=BookingSettings,
        runtime=build_runtime,  # type: ignore[arg-type]
        app=build_app,
        migrations=Path(__file__).parents[1] / "migrations",
        extras=(
            ("seed-listings", "publish the seed listings to catalog.listings", _seed_args, _seed),
            ("token", "mint a development JWT for the gateway", _token_args, _token),
            ("lifecycle-doc", "print the lifecycle page (mermaid)", _lifecycle_args, _lifecycle),
        ),
    )
