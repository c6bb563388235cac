"""Finance's staff commands take an Idempotency-Key: the answer under each key is kept here
(eventkit.idempotency, docs/api-errors.md)."""

from eventkit.ddl import drop_idempotency_table, idempotency_table, statements_v1

revision, down_revision = "0053", "0052"

upgrade, downgrade = statements_v1(idempotency_table("finance"), drop_idempotency_table("finance"))
