"""Use cases of damage claims (`use_cases.py`) and the security deposit's release
(`deposits.py`)."""

# The package's API is `use_cases`' own (its `__all__`): one list to keep, not two.
from booking.features.claims.service import use_cases
from booking.features.claims.service.use_cases import *  # noqa: F403

__all__ = use_cases.__all__
