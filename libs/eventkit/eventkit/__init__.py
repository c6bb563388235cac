"""Eventing platform: outbox, relay, inbox, consumer runner with retry and dead letters."""
