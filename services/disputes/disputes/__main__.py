"""python -m disputes {migrate,serve,asyncapi,lifecycle-doc} (`disputes.entrypoints.cli`)"""

import sys

from disputes.entrypoints.cli import main

if __name__ == "__main__":
    sys.exit(main())
