"""Use cases of amendments and overtime: the commands (`use_cases.py`), what a transition
writes and publishes (`outcomes.py`), and payments' answers to an amendment's extra charge
(`payments.py`). The expiry's timer is `features/amendments/timers.py`."""

# The package's API is `use_cases`' own (its `__all__`): one list to keep, not two.
from booking.features.amendments.service import use_cases
from booking.features.amendments.service.use_cases import *  # noqa: F403

__all__ = use_cases.__all__
