"""The whole system, fresh, for issue 12's outside check: a private broker, a database created
and migrated for this package only (so the books hold nothing but this scenario's money), its
own simulator, and finance and disputes following the simulator's clock (a dispute's deadline
is days away: the test moves time rather than waiting)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import TEST_DB
from tests.e2e.conftest import System
from tests.e2e_finance.conftest import FINANCE_TIMINGS, fresh_system

# db.sh --fresh drops only databases named *_test.
FRESH_DB = f"{TEST_DB}_dsp_test"

TIMINGS = {
    **FINANCE_TIMINGS,
    # the deadline timers are claimed often, by a clock re-read often
    "DISPUTES_SCHEDULER_POLL_SECONDS": "0.2",
    "DISPUTES_CLOCK_REFRESH_SECONDS": "0.2",
}


@pytest.fixture(scope="package")
def dispute_system(pg_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    logs = tmp_path_factory.mktemp("e2e-dsp-logs")
    with fresh_system("ek-e2e-dsp", FRESH_DB, logs, TIMINGS) as system:
        yield system
