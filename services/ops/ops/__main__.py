"""python -m ops {migrate,serve,asyncapi,graphql-schema} (`ops.entrypoints.cli`)"""

import sys

from ops.entrypoints.cli import main

if __name__ == "__main__":
    sys.exit(main())
