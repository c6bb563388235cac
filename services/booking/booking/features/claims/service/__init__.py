"""Use cases of damage claims (`use_cases.py`) and the security deposit's release
(`deposits.py`)."""

# The package's API is `use_cases`' own (its `__all__`), and the deposit's release timer.
from booking.features.claims.service import use_cases
from booking.features.claims.service.deposits import on_window_over
from booking.features.claims.service.use_cases import *  # noqa: F403

__all__ = [*use_cases.__all__, "on_window_over"]
