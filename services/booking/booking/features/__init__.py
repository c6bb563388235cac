"""Booking's features, one folder each, every folder with the same file names (domain, service,
messages, repository, endpoints, schemas, views, timers, templates/): CONVENTIONS.md, "Feature
folders (booking)". A feature imports the shared kernel (booking.domain, service_layer, adapters,
entrypoints) and other features only through their `service` (or their pure `domain`)."""
