"""The ops service's command line: `python -m ops {migrate,serve,asyncapi,graphql-schema}`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from eventkit.cli import service_main
from ops.bootstrap import build_app, build_runtime
from ops.config import OpsSettings


def _schema_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--output", type=Path, help="write the SDL here (contracts/graphql/admin.graphql)"
    )


def _schema(args: argparse.Namespace) -> int:
    """The staff GraphQL schema (SDL), from the code alone: no database, no broker."""
    from ops.entrypoints.graphql_schema import sdl

    text = sdl()
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


def main(argv: list[str] | None = None) -> int:
    return service_main(
        "ops",
        settings=OpsSettings,
        runtime=build_runtime,  # type: ignore[arg-type]
        app=build_app,
        migrations=Path(__file__).parents[1] / "migrations",
        extras=(("graphql-schema", "print the staff GraphQL schema (SDL)", _schema_args, _schema),),
        argv=argv,
    )
