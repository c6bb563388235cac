"""The payments service's command line: `python -m payments {migrate,serve,asyncapi,retry-refund,
webhook-replay,transfers}`."""

from pathlib import Path

from eventkit.cli import service_main
from payments.bootstrap import build_app, build_runtime, ops_refunds
from payments.config import PaymentsSettings
from payments.entrypoints.admin import WEBHOOK_REPLAY, retry_refund_command
from payments.entrypoints.transfers_cli import TRANSFERS


def main(argv: list[str] | None = None) -> int:
    return service_main(
        "payments",
        settings=PaymentsSettings,
        runtime=build_runtime,  # type: ignore[arg-type]
        app=build_app,
        migrations=Path(__file__).parents[1] / "migrations",
        extras=(retry_refund_command(ops_refunds), WEBHOOK_REPLAY, TRANSFERS),
        argv=argv,
    )
