"""The web routes of the patient pages (part 4 of issue 13). So far one page, `/pasient`,
which proves the login end to end: who is logged in, and how many sharing rules are in force,
read through the Caller (the gateway's Enforcer, so the read is audited as the patient's)."""
from __future__ import annotations

from starlette.responses import Response

from samhandling.consent.v1 import consent_pb2

from .context import Page, WebRoute

LIST_RULES = "/samhandling.consent.v1.ConsentService/ListRules"
MAX_PAGES = 10  # 50 rules in force at most; a page holds 50


async def home(page: Page) -> Response:
    session = page.session
    assert session is not None  # the route's console guard
    patient_id = session.acting_for or session.person_pid
    count, token = 0, ""
    for _ in range(MAX_PAGES):
        answer = await page.web.caller.call(
            session, LIST_RULES, consent_pb2.ListRulesRequest(patient_id=patient_id, page_token=token)
        )
        assert isinstance(answer, consent_pb2.ListRulesResponse)
        count += len(answer.rules)
        token = answer.next_page_token
        if not token:
            break
    name = session.person_name or session.person_pid
    return page.render("login/patient.html", page_title=name, name=name, rules=count)


def routes() -> list[WebRoute]:
    return [WebRoute("/pasient", {"GET": home}, "patient")]
