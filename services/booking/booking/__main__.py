"""python -m booking {migrate,serve,asyncapi,seed-listings,token,lifecycle-doc} (`booking.entrypoints.cli`)"""

import sys

from booking.entrypoints.cli import main

if __name__ == "__main__":
    sys.exit(main())
