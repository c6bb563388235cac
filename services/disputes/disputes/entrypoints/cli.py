"""The disputes service's command line: `python -m disputes {migrate,serve,asyncapi,lifecycle-doc}`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from disputes.config import DisputesSettings
from disputes.domain.case import mermaid
from eventkit.cli import service_main

BEGIN = "<!-- lifecycle:begin (python -m disputes lifecycle-doc --output docs/disputes.md) -->"
END = "<!-- lifecycle:end -->"


def lifecycle_block() -> str:
    return f"{BEGIN}\n```mermaid\n{mermaid()}```\n{END}"


def _lifecycle_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--output", type=Path, help="replace the diagram in this page (docs/disputes.md)"
    )


def _lifecycle(args: argparse.Namespace) -> int:
    """Print the diagram, or replace it between the markers of the page given."""
    if not args.output:
        sys.stdout.write(lifecycle_block() + "\n")
        return 0
    try:
        page = args.output.read_text()
    except OSError as exc:  # no such page, a directory, not readable
        print(f"{args.output}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    if BEGIN not in page or END not in page:
        print(f"{args.output}: no lifecycle markers", file=sys.stderr)
        return 2
    head, rest = page.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    args.output.write_text(head + lifecycle_block() + tail)
    return 0


def main(argv: list[str] | None = None) -> int:
    extras = (
        ("lifecycle-doc", "the case lifecycle diagram (mermaid)", _lifecycle_args, _lifecycle),
    )
    return service_main("disputes", settings=DisputesSettings, extras=extras, argv=argv)
