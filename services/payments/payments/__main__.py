"""python -m payments {migrate,serve,asyncapi,retry-refund,webhook-replay,transfers}"""

import sys
from pathlib import Path

from eventkit.cli import service_main
from payments.bootstrap import build_app, build_runtime
from payments.config import PaymentsSettings
from payments.entrypoints.admin import RETRY_REFUND, WEBHOOK_REPLAY
from payments.entrypoints.transfers_cli import TRANSFERS

if __name__ == "__main__":
    sys.exit(
        service_main(
            "payments",
            settings=PaymentsSettings,
            runtime=build_runtime,  # type: ignore[arg-type]
            app=build_app,
            migrations=Path(__file__).with_name("migrations"),
            extras=(RETRY_REFUND, WEBHOOK_REPLAY, TRANSFERS),
        )
    )
