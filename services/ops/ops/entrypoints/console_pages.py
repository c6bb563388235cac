"""The console's pages for ops' own areas: search and saga timeline, stuck sagas, dead letters.
Each page is one route, one GraphQL operation and one template."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ops.entrypoints.console import PAGE, Refusal, new_token, pages, principal_of, render, run

router = APIRouter(prefix="/console", include_in_schema=False)

SERVICES = ("booking", "payments", "finance", "disputes")

TIMELINE = """query ($id: String!) {
  timeline(id: $id) {
    correlationId sagaType deadLetters
    entries { kind at service type eventId key topic hopMs replayedFrom errorType errorMessage
              attempts retries partition offset ids { field value } }
  }
}"""


@router.get("/timeline", response_class=HTMLResponse)
async def timeline(request: Request, id: str = "") -> HTMLResponse:
    principal = principal_of(request)
    sagas, errors = [], []
    if id.strip():
        data, errors = await run(request, principal, TIMELINE, id=id.strip())
        sagas = (data or {}).get("timeline", [])
    return render(request, principal, "timeline.html", id=id, sagas=sagas, errors=errors)


STUCK = """query ($type: String, $first: Int!, $offset: Int!) {
  stuckSagas(sagaType: $type, first: $first, offset: $offset) {
    hasMore items { correlationId sagaType step waitingSince waitedSeconds limitSeconds }
  }
}"""


@router.get("/stuck", response_class=HTMLResponse)
async def stuck(request: Request, saga_type: str = "", offset: int = 0) -> HTMLResponse:
    principal = principal_of(request)
    data, errors = await run(
        request, principal, STUCK, type=saga_type or None, first=PAGE, offset=max(offset, 0)
    )
    found = (data or {}).get("stuckSagas") or {"items": [], "hasMore": False}
    return render(
        request, principal, "stuck.html", saga_type=saga_type, offset=offset, found=found,
        errors=errors, prev=max(offset - PAGE, 0) if offset > 0 else None,
        next=offset + PAGE if found["hasMore"] else None,
    )  # fmt: skip


LETTERS = """query ($service: String!, $eventType: String, $errorType: String, $key: String,
                  $state: String, $first: Int!, $offset: Int!) {
  deadLetters(service: $service, eventType: $eventType, errorType: $errorType, key: $key,
              state: $state, first: $first, offset: $offset) {
    total items { service partition offset key eventType eventId correlationId originalTopic
                  errorType errorMessage attempts failedAt state note decidedBy }
  }
}"""


@router.get("/dead-letters", response_class=HTMLResponse)
async def dead_letters(
    request: Request,
    service: str = "payments",
    event_type: str = "",
    error_type: str = "",
    key: str = "",
    state: str = "",
    offset: int = 0,
    done: str = "",
) -> HTMLResponse:
    principal = principal_of(request)
    filters = {"event_type": event_type, "error_type": error_type, "key": key, "state": state}
    data, errors = await run(
        request, principal, LETTERS, service=service, eventType=event_type or None,
        errorType=error_type or None, key=key or None, state=state or None, first=PAGE,
        offset=max(offset, 0),
    )  # fmt: skip
    found = (data or {}).get("deadLetters") or {"items": [], "total": 0}
    query = urlencode({"service": service, **{k: v for k, v in filters.items() if v}})
    return render(
        request, principal, "dead_letters.html", service=service, services=SERVICES,
        filters=filters, found=found, errors=errors, pages=pages(found["total"], offset),
        query=query, done=done,
    )  # fmt: skip


PREVIEW = """query ($service: String!, $partition: Int!, $offset: Int!) {
  replayPreview(service: $service, partition: $partition, offset: $offset) {
    targetTopic wouldReplay reason
    deadLetter { service partition offset key eventType eventId correlationId originalTopic
                 errorType errorMessage attempts failedAt state note value }
  }
}"""


@router.get("/dead-letters/{service}/{partition}/{offset}", response_class=HTMLResponse)
async def dry_run(request: Request, service: str, partition: int, offset: int) -> HTMLResponse:
    """The dry run: what a replay would do, with the buttons that do it."""
    principal = principal_of(request)
    data, errors = await run(
        request, principal, PREVIEW, service=service, partition=partition, offset=offset
    )
    return render(
        request, principal, "dead_letter.html", plan=(data or {}).get("replayPreview"),
        errors=errors, service=service, partition=partition, offset=offset, token=new_token(),
    )  # fmt: skip


REPLAY = """mutation ($t: String!, $service: String!, $partition: Int!, $offset: Int!) {
  replayDeadLetter(idempotencyToken: $t, service: $service, partition: $partition,
                   offset: $offset) { target state topic }
}"""
SKIP = """mutation ($t: String!, $service: String!, $partition: Int!, $offset: Int!,
                   $note: String!) {
  skipDeadLetter(idempotencyToken: $t, service: $service, partition: $partition,
                 offset: $offset, note: $note) { target state note }
}"""


@router.post("/dead-letters/{service}/{partition}/{offset}/{action}")
async def act(
    request: Request,
    service: str,
    partition: int,
    offset: int,
    action: str,
    token: str = Form(...),
    note: str = Form(""),
) -> Response:
    principal = principal_of(request)
    where = {"service": service, "partition": partition, "offset": offset}
    if action == "replay":
        data, errors = await run(request, principal, REPLAY, t=token, **where)
    elif action == "skip":
        data, errors = await run(request, principal, SKIP, t=token, note=note, **where)
    else:
        data, errors = None, [Refusal(f"There is no action called {action!r}.", "not_found")]
    if errors:
        return render(
            request, principal, "dead_letter.html", plan=None, errors=errors, token=new_token(),
            **where,
        )  # fmt: skip
    result = next(iter((data or {}).values()))
    what = f"{result['target']} {result['state']}" + (
        f" to {result['topic']}" if result.get("topic") else ""
    )
    return RedirectResponse(
        f"/console/dead-letters?{urlencode({'service': service, 'done': what})}", status_code=303
    )
