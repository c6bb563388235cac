"""The console's behaviour over plain HTTP: sign-in, what each role sees, refusals as sentences
(never a 500), empty states."""

from __future__ import annotations

import uuid
from html import unescape

import httpx
import pytest

from tests.e2e_ops.conftest import Ops
from tests.e2e_ops.test_dead_letters import _letters, open_poison_letter

pytestmark = pytest.mark.e2e


def signed_in(ops: Ops, role: str) -> httpx.Client:
    client = httpx.Client(base_url=ops.url, timeout=30)
    answer = client.post("/console/sign-in", data={"token": ops.token(role, sub="sam")})
    assert answer.status_code == 303 and answer.headers["location"] == "/console"
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    return client


def test_a_visitor_without_a_token_is_sent_to_sign_in(ops: Ops) -> None:
    for path in ("/console", "/console/timeline", "/console/dead-letters"):
        answer = httpx.get(f"{ops.url}{path}")
        assert (answer.status_code, answer.headers["location"]) == (303, "/console/sign-in")


@pytest.mark.parametrize(
    ("form", "status", "sentence"),
    [
        ({"token": "not-a-token"}, 401, "That token is not valid here"),
        ({"sub": "x", "role": "guest"}, 422, "Choose admin, finance or trust."),
        ({}, 422, "Paste a token, or give your name and a role."),
        ({"sub": "two\nlines", "role": "admin"}, 422, "Give your name on one line."),
        ({"sub": "a\x00b", "role": "admin"}, 422, "Give your name on one line."),
        ({"sub": "a" * 101, "role": "admin"}, 422, "Give a name of at most 100 characters."),
    ],
)
def test_a_failed_sign_in_says_why(
    ops: Ops, form: dict[str, str], status: int, sentence: str
) -> None:
    answer = httpx.post(f"{ops.url}/console/sign-in", data=form)
    assert answer.status_code == status and sentence in answer.text
    assert answer.headers["content-type"].startswith("text/html")


def test_a_guest_token_cannot_use_the_console(ops: Ops) -> None:
    answer = httpx.post(f"{ops.url}/console/sign-in", data={"token": ops.token("guest")})
    assert answer.status_code == 403
    assert "A guest token cannot use the console." in answer.text


def test_trust_sees_timelines_but_not_dead_letters(ops: Ops) -> None:
    trust = signed_in(ops, "trust")
    home = trust.get("/console", follow_redirects=True)
    assert home.url.path == "/console/timeline"
    assert "Stuck sagas" in home.text and "Dead letters" not in home.text
    refused = trust.get("/console/dead-letters")
    assert refused.status_code == 200
    assert "Your role (trust) may not do this; it needs admin or finance." in refused.text


def test_finance_may_dry_run_but_not_replay(ops: Ops) -> None:
    finance = signed_in(ops, "finance")
    page = finance.get("/console/dead-letters/payments/0/999999")
    assert page.status_code == 200 and "has no dead letter 0:999999" in page.text
    refused = finance.post("/console/dead-letters/payments/0/0/replay", data={"token": "t-1"})
    assert refused.status_code == 403  # the page says why, with the refusal's status
    assert "Your role (finance) may not do this; it needs admin." in refused.text


def test_bad_input_is_a_sentence_not_a_server_error(ops: Ops) -> None:
    admin = signed_in(ops, "admin")
    unknown = admin.get("/console/dead-letters", params={"service": "nobody"})
    assert unknown.status_code == 200 and "Unknown service 'nobody'" in unescape(unknown.text)
    odd = admin.post("/console/dead-letters/payments/0/0/explode", data={"token": "t"})
    assert odd.status_code == 404 and "There is no action called 'explode'." in unescape(odd.text)
    empty = admin.get("/console/timeline", params={"id": "nothing-has-this-id"})
    assert "Nothing on any timeline has the id nothing-has-this-id." in empty.text
    none_stuck = admin.get("/console/stuck", params={"saga_type": "no-such-saga"})
    assert "No saga is waiting longer than its limit among no-such-saga sagas." in none_stuck.text
    bad_number = admin.get("/console/dead-letters/payments/x/0")
    # A console page's error is a page too (eventkit.http_errors), with its code.
    assert bad_number.status_code == 422 and "validation_failed" in bad_number.text


@pytest.mark.parametrize(
    "came_from",
    [
        {"Origin": "http://127.0.0.1:9977"},  # another port of the same host: the same site
        {"Origin": "null"},  # a sandboxed frame or a data: page
        {"Sec-Fetch-Site": "same-site"},
        {"Referer": "http://127.0.0.1:9977/prize.html"},
    ],
)
def test_a_form_sent_from_another_page_is_refused(ops: Ops, came_from: dict[str, str]) -> None:
    admin = signed_in(ops, "admin")
    key, where = open_poison_letter(ops)
    skip = f"/console/dead-letters/disputes/{where['p']}/{where['o']}/skip"
    form = {"token": str(uuid.uuid4()), "note": "sent by another page"}
    as_page = {"Accept": "text/html"}
    refused = admin.post(skip, data=form, headers={**came_from, **as_page})
    assert refused.status_code == 403 and "cross_site_form" in refused.text
    assert refused.headers["content-type"].startswith("text/html")
    as_json = admin.post(skip, data=form, headers=came_from)
    assert as_json.json()["error"]["code"] == "cross_site_form"
    assert _letters(ops, key)[0]["state"] == "open"

    # The console's own page (the browser says so), or a client that says nothing: taken.
    own = {"Origin": ops.url, "Sec-Fetch-Site": "same-origin", "Referer": f"{ops.url}/console"}
    done = admin.post(skip, data=form, headers={**own, **as_page})
    assert done.status_code == 303
    assert _letters(ops, key)[0]["state"] == "skipped"


def test_no_page_is_kept_by_the_browser_or_framed_by_another_site(ops: Ops) -> None:
    admin = signed_in(ops, "admin")
    for answer in (
        httpx.get(f"{ops.url}/console/sign-in"),
        admin.get("/console/dead-letters"),
        admin.post("/console/sign-out"),
    ):
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    assert "x-frame-options" not in httpx.get(f"{ops.url}/healthz").headers


def test_an_undecodable_dead_letter_shows_no_none(ops: Ops) -> None:
    admin = signed_in(ops, "admin")
    _, where = open_poison_letter(ops)
    page = admin.get(f"/console/dead-letters/disputes/{where['p']}/{where['o']}")
    assert page.status_code == 200 and "undecodable" in page.text
    assert "None" not in page.text
