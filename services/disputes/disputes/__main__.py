"""python -m disputes {migrate,serve,asyncapi}"""

import sys
from pathlib import Path

from disputes.bootstrap import build_app, build_runtime
from disputes.config import DisputesSettings
from eventkit.cli import service_main

if __name__ == "__main__":
    sys.exit(
        service_main(
            "disputes",
            settings=DisputesSettings,
            runtime=build_runtime,  # type: ignore[arg-type]
            app=build_app,
            migrations=Path(__file__).with_name("migrations"),
        )
    )
