"""A command piped into a reader that stops early (`| head`) ends quietly, as any program the
closed pipe stops does, instead of printing a BrokenPipeError traceback."""

from __future__ import annotations

import subprocess
import sys

# A command's handler (eventkit.cli runs every service's commands through it) printing far
# more than a pipe holds, read by `head`, which closes the pipe after its first bytes.
COMMAND = """
import sys
from eventkit.cli import _stopped_reading_is_fine

def handler(args):
    for _ in range(200):
        print("x" * 100_000)
    return 0

sys.exit(_stopped_reading_is_fine(handler, None))
"""


def test_a_reader_that_stops_early_ends_the_command_quietly() -> None:
    done = subprocess.run(
        ["bash", "-c", '"$0" -c "$1" | head -c 10 >/dev/null; echo "${PIPESTATUS[0]}"',
         sys.executable, COMMAND],
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr, done.stderr
    assert done.stdout.strip() == "141"
