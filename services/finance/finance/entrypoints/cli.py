"""The finance service's command line: `python -m finance {migrate,serve,asyncapi,release-payout,
payouts,reserves,reconcile,recon-exceptions,recon-resolve,close-day,close-ack,close-report}`."""

from pathlib import Path

from eventkit.cli import service_main
from finance.bootstrap import build_app, build_runtime
from finance.config import FinanceSettings
from finance.entrypoints.books_cli import BOOKS_COMMANDS
from finance.entrypoints.payouts_cli import RELEASE_PAYOUT
from finance.entrypoints.queue_cli import PAYOUTS, RESERVES


def main(argv: list[str] | None = None) -> int:
    return service_main(
        "finance",
        settings=FinanceSettings,
        runtime=build_runtime,  # type: ignore[arg-type]
        app=build_app,
        migrations=Path(__file__).parents[1] / "migrations",
        extras=(RELEASE_PAYOUT, PAYOUTS, RESERVES, *BOOKS_COMMANDS),
        argv=argv,
    )
