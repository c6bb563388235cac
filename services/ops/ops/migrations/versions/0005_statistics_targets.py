"""Planner statistics sized for tables that grow with every checkout: none for documents and
payloads (json, jsonb, bytea), 25 for every other column and index expression, so that
autovacuum's ANALYZE of the busiest tables costs a fraction of what it did
(eventkit.ddl.statistics_targets_v1, docs/benchmarks.md)."""

from eventkit.ddl import statistics_targets_v1

revision, down_revision = "0005", "0004"

upgrade, downgrade = statistics_targets_v1("ops")
