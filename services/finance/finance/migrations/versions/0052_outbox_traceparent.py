"""The outbox keeps each row's W3C traceparent, so one checkout is one trace across the services
(eventkit.tracing, docs/observability-traces.md)."""

from eventkit.ddl import outbox_traceparent_v1

revision, down_revision = "0052", "0051"

upgrade, downgrade = outbox_traceparent_v1("finance")
