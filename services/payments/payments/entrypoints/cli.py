"""The payments service's command line: `python -m payments {migrate,serve,asyncapi,retry-refund,
webhook-replay,transfers}`."""

from eventkit.cli import service_main
from payments.bootstrap import ops_refunds
from payments.config import PaymentsSettings
from payments.entrypoints.admin import WEBHOOK_REPLAY, retry_refund_command
from payments.entrypoints.transfers_cli import TRANSFERS


def main(argv: list[str] | None = None) -> int:
    extras = (retry_refund_command(ops_refunds), WEBHOOK_REPLAY, TRANSFERS)
    return service_main("payments", settings=PaymentsSettings, extras=extras, argv=argv)
