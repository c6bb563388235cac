"""The ops service's command line: `python -m ops {migrate,serve,asyncapi,graphql-schema}`."""

from __future__ import annotations

import argparse
from pathlib import Path

from eventkit.cli import service_main, write_output
from ops.config import OpsSettings


def _schema_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--output", type=Path, help="write the SDL here (contracts/graphql/admin.graphql)"
    )


def _schema(args: argparse.Namespace) -> int:
    """The staff GraphQL schema (SDL), from the code alone: no database, no broker."""
    from ops.entrypoints.graphql_schema import sdl

    return write_output(sdl(), args.output)


def main(argv: list[str] | None = None) -> int:
    extras = (("graphql-schema", "print the staff GraphQL schema (SDL)", _schema_args, _schema),)
    return service_main("ops", settings=OpsSettings, extras=extras, argv=argv)
