"""Event payload models, one class per event type and version."""
