"""Versioned integration-event contracts shared by every service."""

from marketplace_contracts.envelope import Envelope, EventModel, make_envelope
from marketplace_contracts.registry import REGISTRY, UnknownEventError, decode_data, model_for
from marketplace_contracts.topics import (
    CATALOGUE,
    Topic,
    dead_letter_notes_topic,
    dead_letter_topic,
    retry_topic,
)

__all__ = [
    "CATALOGUE",
    "REGISTRY",
    "Envelope",
    "EventModel",
    "Topic",
    "UnknownEventError",
    "dead_letter_notes_topic",
    "dead_letter_topic",
    "decode_data",
    "make_envelope",
    "model_for",
    "retry_topic",
]
