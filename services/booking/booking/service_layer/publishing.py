"""Publishing what a transition declares: the event types come from the domain's table, the
events from one builder per type, so a use case cannot emit more, less or other than declared
(`eventkit.publishing`, which payments' lifecycle shares).
"""

from __future__ import annotations

from eventkit.publishing import Builders, Cause, publish

__all__ = ["Builders", "Cause", "publish"]
