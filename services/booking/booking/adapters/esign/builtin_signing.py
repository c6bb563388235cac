"""The built-in provider's signing page use cases: what the signer is shown (`SigningView`) and
their decision (`SigningDesk.decide`), which records the evidence in one transaction and then
hands the outcome to `OutcomeDelivery`. The page itself is `booking.features.documents.endpoints`."""

from __future__ import annotations

import hmac
import logging

import asyncpg

from booking.adapters.esign.base import Clock, sha256_hex
from booking.adapters.esign.builtin_outcomes import (
    OutcomeDelivery,
    effective,
    lock_envelope,
    occurred,
    outcome_event,
)
from booking.adapters.esign.builtin_tables import BuiltinTables
from booking.domain.signing import (
    Decision,
    DecisionOutcome,
    EnvelopeStatus,
    ESignError,
    ESignErrorCode,
    SigningDocument,
    SigningView,
    envelope_digest,
)

log = logging.getLogger("booking.esign.builtin")


class SigningDesk:
    """Reads an envelope for its page and records the signer's decision."""

    def __init__(
        self, pool: asyncpg.Pool, tables: BuiltinTables, delivery: OutcomeDelivery, clock: Clock
    ) -> None:
        self._pool = pool
        self._tables = tables
        self._delivery = delivery
        self._clock = clock

    async def load_signing_view(self, envelope_id: str) -> SigningView | None:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT envelope_id, signer_name, signer_email, status, expires_at, decided_at "
                f"FROM {self._tables.envelopes} WHERE envelope_id = $1",
                envelope_id,
            )
            if row is None:
                return None
            docs = await conn.fetch(
                "SELECT document_id, title, content_type, content, sha256 "
                f"FROM {self._tables.documents} WHERE envelope_id = $1 ORDER BY position",
                envelope_id,
            )
        return SigningView(
            row["envelope_id"],
            row["signer_name"],
            row["signer_email"],
            effective(row["status"], row["expires_at"], self._clock()),
            row["expires_at"],
            row["decided_at"],
            tuple(
                SigningDocument(
                    d["document_id"],
                    d["title"],
                    d["content_type"],
                    bytes(d["content"]),
                    d["sha256"],
                )
                for d in docs
            ),
        )

    async def decide(
        self,
        envelope_id: str,
        decision: Decision,
        *,
        client_ip: str | None,
        user_agent: str | None,
        digest: str | None = None,
    ) -> DecisionOutcome:
        """The signer signs or declines, in one transaction; then the outcome is delivered. `digest`
        (from the page, optional) must match the documents' `envelope_digest`: the signer signs
        exactly what was shown. An envelope no longer SENT is left alone (applied=False)."""
        now = self._clock()
        user_agent = user_agent[:1024] if user_agent else None
        async with self._pool.acquire() as conn, conn.transaction():
            row = await lock_envelope(conn, self._tables, envelope_id)
            status = EnvelopeStatus(row["status"])
            if status is not EnvelopeStatus.SENT:
                return DecisionOutcome(status, applied=False)
            if now >= row["expires_at"]:
                status, applied = EnvelopeStatus.EXPIRED, False
            else:
                status, applied = (
                    EnvelopeStatus.SIGNED if decision is Decision.SIGN else EnvelopeStatus.DECLINED,
                    True,
                )
                hashes = await self._shown_hashes(conn, envelope_id, digest)
                if status is EnvelopeStatus.SIGNED:
                    await conn.executemany(
                        f"INSERT INTO {self._tables.signatures} (envelope_id, document_id, signer_id, "
                        "signed_at, signer_ip, user_agent, sha256) "
                        "VALUES ($1, $2, $3, $4, $5, $6, $7)",
                        [
                            (envelope_id, doc_id, row["signer_id"], now, client_ip, user_agent, h)
                            for doc_id, h in hashes
                        ],
                    )
            await conn.execute(
                f"UPDATE {self._tables.envelopes} SET status = $2, decided_at = $3, decided_ip = $4, "
                "decided_user_agent = $5 WHERE envelope_id = $1",
                envelope_id,
                status,
                now,
                client_ip,
                user_agent,
            )
            event = outcome_event(row, status, occurred(status, row, now))
        log.info("envelope %s %s", envelope_id, status)
        await self._delivery.notify(event)
        return DecisionOutcome(status, applied)

    async def _shown_hashes(
        self, conn: asyncpg.Connection, envelope_id: str, digest: str | None
    ) -> list[tuple[str, str]]:
        """(document_id, sha256) of the bytes to sign, checked against what was stored and,
        with `digest`, against what the signer was shown (INTEGRITY otherwise)."""
        docs = await conn.fetch(
            f"SELECT document_id, content, sha256 FROM {self._tables.documents} "
            "WHERE envelope_id = $1 ORDER BY position",
            envelope_id,
        )
        hashes = [(d["document_id"], sha256_hex(bytes(d["content"]))) for d in docs]
        if any(h != d["sha256"] for (_, h), d in zip(hashes, docs, strict=True)):
            raise ESignError(ESignErrorCode.INTEGRITY, f"documents of {envelope_id} were altered")
        if digest is not None and not hmac.compare_digest(
            digest.encode(), envelope_digest(hashes).encode()
        ):
            raise ESignError(
                ESignErrorCode.INTEGRITY,
                "the documents differ from the ones shown to the signer",
            )
        return hashes
