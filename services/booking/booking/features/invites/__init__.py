"""Smart Invites: a host invites a guest to one listing's time at a price; accepting books it.

Routes: `POST /v1/invites` (host sends), `GET /v1/invites/{invite_id}`, and
`POST /v1/invites/{invite_id}/accept` (guest: an Instant Book checkout at the invited price),
`/decline` (guest), `/withdraw` (host). Consumes the `invite_expiry` timer. Emits
`booking.invite_sent` and `booking.invite_closed` (with its outcome); accepting emits the
checkout's events as any booking does.
"""
