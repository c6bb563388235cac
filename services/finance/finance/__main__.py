"""python -m finance {migrate,serve,asyncapi,release-payout,payouts,reserves,reconcile,
recon-exceptions,recon-resolve,close-day,close-ack,close-report} (`finance.entrypoints.cli`)"""

import sys

from finance.entrypoints.cli import main

if __name__ == "__main__":
    sys.exit(main())
