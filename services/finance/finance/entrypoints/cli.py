"""The finance service's command line: `python -m finance {migrate,serve,asyncapi,release-payout,
payouts,reserves,reconcile,recon-exceptions,recon-resolve,close-day,close-ack,close-report}`."""

from eventkit.cli import service_main
from finance.config import FinanceSettings
from finance.entrypoints.books_cli import BOOKS_COMMANDS
from finance.entrypoints.payouts_cli import RELEASE_PAYOUT
from finance.entrypoints.queue_cli import PAYOUTS, RESERVES


def main(argv: list[str] | None = None) -> int:
    extras = (RELEASE_PAYOUT, PAYOUTS, RESERVES, *BOOKS_COMMANDS)
    return service_main("finance", settings=FinanceSettings, extras=extras, argv=argv)
