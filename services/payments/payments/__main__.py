"""python -m payments {migrate,serve,asyncapi,retry-refund,webhook-replay,transfers}
(`payments.entrypoints.cli`)"""

import sys

from payments.entrypoints.cli import main

if __name__ == "__main__":
    sys.exit(main())
