"""Stateful local fake of the Dropbox Sign API v3 (dev/test only). See ``create_app``."""

from fake_dropbox_sign.app import DEFAULT_API_KEY, create_app
from fake_dropbox_sign.callbacks import ACK
from fake_dropbox_sign.state import event_hash

__all__ = ["ACK", "DEFAULT_API_KEY", "create_app", "event_hash"]
