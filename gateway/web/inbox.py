"""The escalation inbox behind the personnel login (issue 17; docs/web-pages.md "Escalation
inbox"). Every read and change goes through the Caller, i.e. the gateway's Enforcer with the
session's own token: the list (ListEscalations) carries no patient data and is neither
consent-checked nor audited; opening an escalation (GetEscalation) and acting on it
(acknowledge, decline, plan a reassessment, resolve) are reads of the patient's vital signs,
decided by consent and audited as the person's.

- `GET /ansatt/eskaleringer[?boks=sendt][&avsluttede=1][&side=<token>]`: cards, the most urgent
  first (level, then deadline), level by word and colour, the state, the organisation's role,
  "Frist kl. HH.MM" (a live countdown from the answer's `server_time` by `static/inbox.js`).
- `GET /ansatt/eskaleringer/<id>`: the escalation with its ISBAR view, measurements, targets and
  events, and the forms its state allows the caller's organisation. Refused by consent
  (CONSENT_DENIED: a restriction on vital signs or a block; the gateway does not say which), the
  page offers the emergency opening: a justification, then the one call with purpose ETREAT.
- `POST /ansatt/eskaleringer/<id>`, `handling` = kvitter | avvis | revurder | avslutt |
  nodapning. Each form carries a request id made when the form was drawn, so a double submit
  is the same request and changes nothing. After an emergency opening the forms carry the
  justification, and each action is its own emergency access. An emergency read happens only on
  the person's explicit `nodapning` (the dialog's button or "Åpne igjen"): a form problem or a
  refusal after an emergency opening is answered from what the page had (the forms carry the
  escalation's level, state and forms shown) without reading the patient's data again; after a
  normal opening the escalation is read again, normally."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from markupsafe import Markup
from starlette.responses import Response

from samhandling.summary.v1 import escalation_pb2 as esc
from samhandling.summary.v1 import summary_pb2
from services.platform.error_reasons import Reason
from services.platform.errors import ServiceError, invalid_argument
from services.platform.text import TextField, text_problem

from ..http.errors import http_status
from .context import Page, WebRoute, WebSession
from .i18n_loader import OSLO, Texts, texts

SERVICE = "/samhandling.summary.v1.EscalationService"
LIST_ESCALATIONS = f"{SERVICE}/ListEscalations"
GET_ESCALATION = f"{SERVICE}/GetEscalation"
ACKNOWLEDGE = f"{SERVICE}/AcknowledgeEscalation"
DECLINE = f"{SERVICE}/DeclineEscalation"
PLAN_REASSESSMENT = f"{SERVICE}/PlanReassessment"
RESOLVE = f"{SERVICE}/ResolveEscalation"
PAGE_PATH = "/ansatt/eskaleringer"
ESCALATION_PATH = PAGE_PATH + "/{escalation_id}"
PAGE_SIZE = 50  # cards a page; "Neste side" follows the answer's next_page_token
REASSESS_HOURS = (1, 2, 4, 8, 12, 24)  # the choices; the contract allows at most 24 h ahead
JUSTIFICATION_TEXT = TextField(500, required=True, multiline=True)  # the gateway's bound for a justification
REASON_TEXT = TextField(500, required=True, multiline=True)  # DeclineEscalation's reason
NOTE_TEXT = TextField(1000, multiline=True)  # ResolveEscalation's note
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # an escalation id and a form's request id
_PAGE_TOKEN = re.compile(r"[A-Za-z0-9_=-]{1,200}")

LEVELS = {
    summary_pb2.ESCALATION_LEVEL_REVIEW: "review",
    summary_pb2.ESCALATION_LEVEL_URGENT_REVIEW: "urgent_review",
    summary_pb2.ESCALATION_LEVEL_URGENT: "urgent",
    summary_pb2.ESCALATION_LEVEL_EMERGENCY: "emergency",
}
STATES = {
    esc.ESCALATION_STATE_OPEN: "open",
    esc.ESCALATION_STATE_ACKNOWLEDGED: "acknowledged",
    esc.ESCALATION_STATE_REASSESSMENT_PLANNED: "reassessment_planned",
    esc.ESCALATION_STATE_RESOLVED: "resolved",
}
ROLES = {
    esc.ESCALATION_ROLE_RESPONSIBLE: "responsible",
    esc.ESCALATION_ROLE_INFORMED: "informed",
    esc.ESCALATION_ROLE_SOURCE: "source",
}
TARGET_KINDS = {
    esc.ESCALATION_TARGET_KIND_FOLLOW_UP_TEAM: "follow_up_team",
    esc.ESCALATION_TARGET_KIND_HOME_NURSING: "home_nursing",
    esc.ESCALATION_TARGET_KIND_LEGEVAKT: "legevakt",
}
NOTICE_REASONS = {
    esc.ESCALATION_NOTICE_REASON_OPENED: "opened",
    esc.ESCALATION_NOTICE_REASON_UPGRADED: "upgraded",
    esc.ESCALATION_NOTICE_REASON_TIMEOUT: "timeout",
    esc.ESCALATION_NOTICE_REASON_PASSED_ON: "passed_on",
    esc.ESCALATION_NOTICE_REASON_CONCERN: "concern",
    esc.ESCALATION_NOTICE_REASON_REASSESSMENT_DUE: "reassessment_due",
}
EVENT_KINDS = {
    esc.ESCALATION_EVENT_KIND_OPENED: "opened",
    esc.ESCALATION_EVENT_KIND_UPGRADED: "upgraded",
    esc.ESCALATION_EVENT_KIND_CONCERN: "concern",
    esc.ESCALATION_EVENT_KIND_TIMEOUT: "timeout",
    esc.ESCALATION_EVENT_KIND_CHAIN_EXHAUSTED: "chain_exhausted",
    esc.ESCALATION_EVENT_KIND_ACKNOWLEDGED: "acknowledged",
    esc.ESCALATION_EVENT_KIND_DECLINED: "declined",
    esc.ESCALATION_EVENT_KIND_REASSESSMENT_PLANNED: "reassessment_planned",
    esc.ESCALATION_EVENT_KIND_REASSESSMENT_DUE: "reassessment_due",
    esc.ESCALATION_EVENT_KIND_RESOLVED: "resolved",
}
OUTCOMES = {
    esc.ESCALATION_OUTCOME_MANAGED_IN_PLACE: "managed_in_place",
    esc.ESCALATION_OUTCOME_SENT_TO_LEGEVAKT: "sent_to_legevakt",
    esc.ESCALATION_OUTCOME_ADMITTED_TO_HOSPITAL: "admitted_to_hospital",
    esc.ESCALATION_OUTCOME_AMBULANCE_CALLED: "ambulance_called",
    esc.ESCALATION_OUTCOME_NO_ACTION_NEEDED: "no_action_needed",
    esc.ESCALATION_OUTCOME_OTHER: "other",
    esc.ESCALATION_OUTCOME_AUTO_IMPROVED: "auto_improved",
    esc.ESCALATION_OUTCOME_AUTO_NO_WORSENING: "auto_no_worsening",
}
# What a person may choose when resolving (the automatic outcomes are the escalation's own).
CHOSEN_OUTCOMES = {name: number for number, name in OUTCOMES.items() if not name.startswith("auto_")}
CHANGE_RESPONSES = (
    esc.AcknowledgeEscalationResponse,
    esc.DeclineEscalationResponse,
    esc.PlanReassessmentResponse,
    esc.ResolveEscalationResponse,
)
ACTIONS = ("kvitter", "avvis", "revurder", "avslutt")
DONE = {"kvitter": "acknowledged", "avvis": "declined", "revurder": "planned", "avslutt": "resolved"}


def _time(stamp: Timestamp, present: bool = True) -> datetime | None:
    return stamp.ToDatetime(tzinfo=UTC) if present else None


def clock_text(catalog: Texts, moment: datetime, now: datetime) -> str:
    """ "kl. 14.05" on the same Oslo day as `now`, else the date as well."""
    local, today = moment.astimezone(OSLO), now.astimezone(OSLO)
    if local.date() == today.date():
        return catalog.t("inbox.at_clock", clock=f"{local:%H.%M}" if catalog.lang == "nb" else f"{local:%H:%M}")
    return catalog.format_time(moment)


@dataclass(frozen=True)
class Card:
    """One inbox item as the page shows it: no patient data (the item has none)."""

    escalation_id: str
    level: str  # a key of inbox.level
    state: str  # a key of inbox.state
    role: str  # a key of inbox.role
    open_time: datetime | None
    deadline: datetime | None
    overdue: bool
    last_notice: datetime | None
    last_notice_reason: str  # a key of inbox.notice_reason, or ""
    pushed: bool
    chain_exhausted: bool
    declined: bool
    reassess_time: datetime | None


_LEVEL_RANK = {name: rank for rank, name in enumerate(LEVELS.values(), start=1)}


def cards(items: list[esc.EscalationInboxItem], now: datetime) -> list[Card]:
    """The items as cards, by level (the most urgent first), then deadline (the earliest first;
    none last), then opening time."""
    made = [
        Card(
            escalation_id=item.escalation_id,
            level=LEVELS.get(item.level, "review"),
            state=STATES.get(item.state, "open"),
            role=ROLES.get(item.role, "responsible"),
            open_time=_time(item.open_time, item.HasField("open_time")),
            deadline=(deadline := _time(item.deadline_time, item.HasField("deadline_time"))),
            overdue=deadline is not None and deadline <= now,
            last_notice=_time(item.last_notice_time, item.HasField("last_notice_time")),
            last_notice_reason=NOTICE_REASONS.get(item.last_notice_reason, ""),
            pushed=item.pushed,
            chain_exhausted=item.chain_exhausted,
            declined=item.declined,
            reassess_time=_time(item.reassess_time, item.HasField("reassess_time")),
        )
        for item in items
    ]
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(made, key=lambda c: (-_LEVEL_RANK[c.level], c.deadline or far, c.open_time or far, c.escalation_id))


def _session(page: Page) -> WebSession:
    assert page.session is not None  # every route here has the inbox console guard
    return page.session


def _organisation(session: WebSession) -> str:
    """The organisation the session's token acts for: its point of care, else its legal entity."""
    return session.orgnr_child or session.orgnr_parent or ""


def _live_json(lang: str, server_time: datetime) -> Markup:
    """What inbox.js needs: the server's time and its texts in the page's language."""
    catalog = texts("en" if lang == "en" else "nb")
    prefix = "inbox.countdown."
    live = {
        "serverTime": server_time.isoformat().replace("+00:00", "Z"),
        "texts": {k[len(prefix) :]: v for k, v in catalog.table.items() if k.startswith(prefix)},
    }
    return Markup(json.dumps(live, ensure_ascii=False).replace("<", "\\u003c"))


async def inbox_page(page: Page) -> Response:
    session = _session(page)
    query = page.request.query_params
    sent = query.get("boks") == "sendt"
    include_resolved = query.get("avsluttede") == "1"
    token = query.get("side", "")
    if token and not _PAGE_TOKEN.fullmatch(token):
        raise invalid_argument({"side": "a page token from this page's own link"})
    request = esc.ListEscalationsRequest(
        box=esc.ESCALATION_BOX_SENT if sent else esc.ESCALATION_BOX_RECEIVED,
        include_resolved=include_resolved,
        page_size=PAGE_SIZE,
        page_token=token,
    )
    answer = await page.web.caller.call(session, LIST_ESCALATIONS, request)
    assert isinstance(answer, esc.ListEscalationsResponse)
    now = answer.server_time.ToDatetime(tzinfo=UTC) if answer.HasField("server_time") else datetime.now(UTC)
    catalog = texts(page.lang)
    next_query = {"boks": "sendt"} if sent else {}
    if include_resolved:
        next_query["avsluttede"] = "1"
    return page.render(
        "inbox/list.html",
        page_title=catalog.t("inbox.sent_title" if sent else "inbox.title"),
        nav="sent" if sent else "received",
        sent=sent,
        include_resolved=include_resolved,
        cards=cards(list(answer.escalations), now),
        now=now,
        clock=lambda moment: clock_text(catalog, moment, now),
        next_page=answer.next_page_token,
        next_query=next_query,
        live_json=_live_json(page.lang, now),
        person=session.person_name or session.subject,
    )


# --- one escalation ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Forms:
    """Which forms the escalation's state allows the caller's organisation, each with the
    request id it was drawn with (a double submit repeats it: the same request)."""

    acknowledge: str | None
    decline: str | None
    plan: str | None
    resolve: str | None
    reassess_choices: list[tuple[str, int, datetime]]  # (value, hours, when)

    @property
    def actions(self) -> list[str]:
        """The `handling` of each form shown, in ACTIONS' order."""
        ids = (self.acknowledge, self.decline, self.plan, self.resolve)
        return [action for action, form_id in zip(ACTIONS, ids, strict=True) if form_id]


def _forms(allowed: Mapping[str, bool], now: datetime) -> Forms:
    """The forms `allowed` names (handling -> shown), each with a new request id."""

    def new_id(action: str) -> str | None:
        return secrets.token_urlsafe(16) if allowed.get(action) else None

    choices = [
        ((now + timedelta(hours=h)).isoformat().replace("+00:00", "Z"), h, now + timedelta(hours=h))
        for h in REASSESS_HOURS
    ]
    return Forms(
        acknowledge=new_id("kvitter"),
        decline=new_id("avvis"),
        plan=new_id("revurder"),
        resolve=new_id("avslutt"),
        reassess_choices=choices if allowed.get("revurder") else [],
    )


def forms_for(escalation: esc.Escalation, orgnr: str, now: datetime) -> Forms:
    mine = [t for t in escalation.targets if t.orgnr == orgnr]
    responsible = any(t.role == esc.ESCALATION_ROLE_RESPONSIBLE and not t.declined for t in mine)
    source = escalation.source_orgnr == orgnr
    state = escalation.state
    taken = state in (esc.ESCALATION_STATE_ACKNOWLEDGED, esc.ESCALATION_STATE_REASSESSMENT_PLANNED)
    can_plan = responsible and taken and escalation.level != summary_pb2.ESCALATION_LEVEL_EMERGENCY
    allowed = {
        "kvitter": responsible and state == esc.ESCALATION_STATE_OPEN,
        "avvis": responsible and state == esc.ESCALATION_STATE_OPEN,
        "revurder": can_plan,
        "avslutt": (responsible or source) and state != esc.ESCALATION_STATE_RESOLVED,
    }
    return _forms(allowed, now)


@dataclass(frozen=True)
class Shown:
    """What the page showed of an escalation opened in an emergency, carried back by each of its
    forms (`niva`, `tilstand`, one `skjema` per form shown), so that the answer to an action can
    be drawn again without reading the patient's data (a second emergency access). Display
    only: the service decides every action again. None of it is patient data."""

    level: str  # a key of inbox.level, or "" (not carried)
    state: str  # a key of inbox.state, or ""
    actions: tuple[str, ...]  # the forms shown, in ACTIONS' order


def shown_from(form: Mapping[str, str], actions: list[str]) -> Shown:
    """The page's own fields as posted back; one that is there but not a value the page draws
    is refused (INVALID_ARGUMENT naming it), one left out is not shown."""
    level, state = form.get("niva", ""), form.get("tilstand", "")
    problems: dict[str, str] = {}
    if level and level not in LEVELS.values():
        problems["niva"] = f"one of: {', '.join(LEVELS.values())}"
    if state and state not in STATES.values():
        problems["tilstand"] = f"one of: {', '.join(STATES.values())}"
    if any(action not in ACTIONS for action in actions):
        problems["skjema"] = f"each one of: {', '.join(ACTIONS)}"
    if problems:
        raise invalid_argument(problems)
    return Shown(level, state, tuple(action for action in ACTIONS if action in actions))


def _performer(person: summary_pb2.Performer) -> str:
    return person.name or person.hpr_number


async def _render_escalation(
    page: Page,
    answer: esc.GetEscalationResponse | esc.Escalation,
    *,
    justification: str = "",
    done: str = "",
    problem: Problem | None = None,
) -> Response:
    session = _session(page)
    if isinstance(answer, esc.GetEscalationResponse):
        escalation = answer.escalation
        now = answer.server_time.ToDatetime(tzinfo=UTC) if answer.HasField("server_time") else datetime.now(UTC)
    else:
        escalation, now = answer, datetime.now(UTC)
    catalog = texts(page.lang)
    directory = page.web.directory
    deadline = _time(escalation.deadline_time, escalation.HasField("deadline_time"))
    return page.render(
        "inbox/escalation.html",
        problem.status if problem else 200,
        nav="",
        page_title=catalog.t(
            "inbox.escalation.title", level=catalog.t(f"inbox.level.{LEVELS.get(escalation.level, 'review')}")
        ),
        e=escalation,
        level=LEVELS.get(escalation.level, "review"),
        state=STATES.get(escalation.state, "open"),
        outcome=OUTCOMES.get(escalation.outcome, ""),
        deadline=deadline,
        overdue=deadline is not None and deadline <= now,
        reassess_time=_time(escalation.reassess_time, escalation.HasField("reassess_time")),
        open_time=_time(escalation.open_time),
        source=directory.organisation_name(escalation.source_orgnr),
        targets=[
            {
                "name": t.name or directory.organisation_name(t.orgnr),
                "kind": TARGET_KINDS.get(t.kind, ""),
                "role": ROLES.get(t.role, "responsible"),
                "added_because": NOTICE_REASONS.get(t.added_because, ""),
                "added": _time(t.add_time, t.HasField("add_time")),
                "declined": t.declined,
            }
            for t in escalation.targets
        ],
        events=[
            {
                "kind": EVENT_KINDS.get(ev.kind, "opened"),
                "time": _time(ev.event_time),
                "level": LEVELS.get(ev.level, ""),
                "organisation": directory.organisation_name(ev.orgnr) if ev.orgnr else "",
                "person": _performer(ev.person) if ev.HasField("person") else "",
                "text": ev.text,
                "outcome": OUTCOMES.get(ev.outcome, ""),
            }
            for ev in escalation.events
        ],
        measurements=list(escalation.measurements),
        notices=[
            n.text.text_en if page.lang == "en" and n.text.text_en else n.text.text_nb
            for n in escalation.recorder_notices
        ],
        done=done if done in DONE.values() else "",
        now=now,
        **_actions_context(page, escalation.escalation_id, forms_for(escalation, _organisation(session), now), now),
        **_answer_context(catalog, justification, problem),
    )


def _actions_context(page: Page, escalation_id: str, forms: Forms, now: datetime) -> dict[str, object]:
    """What `inbox/_actions.html` and the layout need beside the answer's own fields."""
    session = _session(page)
    catalog = texts(page.lang)
    return {
        "action": f"{PAGE_PATH}/{escalation_id}",
        "forms": forms,
        "outcomes": list(CHOSEN_OUTCOMES),
        "clock": lambda moment: clock_text(catalog, moment, now),
        "live_json": _live_json(page.lang, now),
        "person": session.person_name or session.subject,
    }


@dataclass(frozen=True)
class Problem:
    """A post that changed nothing: the service's refusal or the fields' problems (field -> text
    key), what the person had typed in the form they sent (kept in it), the HTTP status."""

    status: int
    refusal: ServiceError | None = None
    errors: Mapping[str, str] = field(default_factory=dict)
    typed: Mapping[str, str] = field(default_factory=dict)


def _answer_context(catalog: Texts, justification: str, problem: Problem | None) -> dict[str, object]:
    """The answer to a post: the justification the forms carry on, and its problem, if any."""
    refusal = problem.refusal if problem else None
    return {
        "justification": justification,
        "refusal": _refusal_text(catalog, refusal) if refusal is not None else "",
        "refusal_reason": refusal.reason if refusal is not None else "",
        "refusal_fields": sorted(refusal.field_violations.items()) if refusal is not None else [],
        "errors": dict(problem.errors) if problem else {},
        "typed": dict(problem.typed) if problem else {},
    }


def _unread(page: Page, escalation_id: str, shown: Shown, justification: str, problem: Problem) -> Response:
    """The answer to a form problem or a refusal after an emergency opening, without reading the
    patient's data again (that would be a second emergency access nobody asked for): the
    problem, the escalation's id, level and state as the page showed them, its forms again
    (carrying the justification), and "Åpne igjen" for an explicit new emergency opening."""
    catalog = texts(page.lang)
    now = datetime.now(UTC)
    allowed = {action: action in shown.actions for action in ACTIONS}
    if shown.level:
        title = catalog.t("inbox.escalation.title", level=catalog.t(f"inbox.level.{shown.level}"))
    else:
        title = catalog.t("inbox.unread.title")
    return page.render(
        "inbox/unread.html",
        problem.status,
        nav="",
        page_title=title,
        escalation_id=escalation_id,
        level=shown.level,
        state=shown.state,
        **_actions_context(page, escalation_id, _forms(allowed, now), now),
        **_answer_context(catalog, justification, problem),
    )


def _refusal_text(catalog: Texts, err: ServiceError) -> str:
    """The refusal in words: the inbox's own text for the reason, else the status code's."""
    key = f"inbox.refusal.{err.reason}"
    return catalog.t(key) if catalog.has(key) else catalog.t(f"error.code.{err.code.name}")


def _escalation_id(page: Page) -> str:
    escalation_id = str(page.request.path_params.get("escalation_id", ""))
    if not _ID.fullmatch(escalation_id):
        raise Reason.ESCALATION_NOT_FOUND.error("no escalation with this id")
    return escalation_id


async def _open(page: Page, escalation_id: str, justification: str = "") -> esc.GetEscalationResponse:
    answer = await page.web.caller.call(
        _session(page),
        GET_ESCALATION,
        esc.GetEscalationRequest(escalation_id=escalation_id),
        justification=justification,
    )
    assert isinstance(answer, esc.GetEscalationResponse)
    return answer


def _restricted(
    page: Page, escalation_id: str, errors: Mapping[str, str] | None = None, justification: str = ""
) -> Response:
    """Consent refused the read: the emergency opening's dialog (403, as the refusal)."""
    catalog = texts(page.lang)
    return page.render(
        "inbox/restricted.html",
        400 if errors else 403,
        nav="",
        live_json=_live_json(page.lang, datetime.now(UTC)),
        page_title=catalog.t("inbox.restricted.title"),
        escalation_id=escalation_id,
        errors=dict(errors or {}),
        justification=justification,
        action=f"{PAGE_PATH}/{escalation_id}",
        person=_session(page).person_name or _session(page).subject,
    )


async def escalation_page(page: Page) -> Response:
    escalation_id = _escalation_id(page)
    try:
        answer = await _open(page, escalation_id)
    except ServiceError as err:
        if err.reason == Reason.CONSENT_DENIED:
            return _restricted(page, escalation_id)
        raise
    return await _render_escalation(page, answer, done=page.request.query_params.get("utfort", ""))


def _text_field(form: Mapping[str, str], name: str, spec: TextField, errors: dict[str, str], key: str) -> str:
    value = form.get(name, "").replace("\r\n", "\n").strip()
    if text_problem(value, spec) is not None:
        errors[name] = key
    return value


def typed_in(action: str, form: Mapping[str, str], now: datetime) -> dict[str, str]:
    """What the person typed or chose in the form of `action`, to show in it again (a text cut to
    its field's bound, escaped by the template; the reassessment as the hours ahead of `now` it
    was chosen as, since the choices are drawn again)."""
    if action == "avvis":
        return {"grunn": form.get("grunn", "")[: REASON_TEXT.max_chars]}
    if action == "revurder":
        try:
            when = datetime.fromisoformat(form.get("tidspunkt", "").replace("Z", "+00:00"))
            return {"timer": str(round((when - now).total_seconds() / 3600))}
        except (ValueError, TypeError):  # not a time, or one without an offset
            return {}
    if action == "avslutt":
        return {"utfall": form.get("utfall", "")[:40], "notat": form.get("notat", "")[: NOTE_TEXT.max_chars]}
    return {}


def _change_request(
    action: str, escalation_id: str, request_id: str, form: Mapping[str, str], errors: dict[str, str]
) -> tuple[str, Message]:
    """The RPC and request of a form's action; its field problems in `errors` (field -> text key)."""
    if action == "kvitter":
        return ACKNOWLEDGE, esc.AcknowledgeEscalationRequest(escalation_id=escalation_id, request_id=request_id)
    if action == "avvis":
        reason = _text_field(form, "grunn", REASON_TEXT, errors, "inbox.form.reason_required")
        return DECLINE, esc.DeclineEscalationRequest(escalation_id=escalation_id, request_id=request_id, reason=reason)
    if action == "revurder":
        request = esc.PlanReassessmentRequest(escalation_id=escalation_id, request_id=request_id)
        try:
            when = datetime.fromisoformat(form.get("tidspunkt", "").replace("Z", "+00:00"))
            if when.tzinfo is None:
                raise ValueError("no offset")
            request.reassess_time.FromDatetime(when.astimezone(UTC))
        except ValueError:
            errors["tidspunkt"] = "inbox.form.time_required"
        return PLAN_REASSESSMENT, request
    outcome = CHOSEN_OUTCOMES.get(form.get("utfall", ""))
    if outcome is None:
        errors["utfall"] = "inbox.form.outcome_required"
    note = _text_field(form, "notat", NOTE_TEXT, errors, "inbox.form.note_too_long")
    if outcome == esc.ESCALATION_OUTCOME_OTHER and not note and "notat" not in errors:
        errors["notat"] = "inbox.form.note_required"
    return RESOLVE, esc.ResolveEscalationRequest(
        escalation_id=escalation_id,
        request_id=request_id,
        outcome=outcome or esc.ESCALATION_OUTCOME_UNSPECIFIED,
        note=note,
    )


# The field of each action's request naming who acts.
_ACTING_FIELD = {
    ACKNOWLEDGE: "acknowledged_by",
    DECLINE: "declined_by",
    PLAN_REASSESSMENT: "planned_by",
    RESOLVE: "resolved_by",
}


def _named(rpc: str, request: Message, person_name: str) -> None:
    """Gives the acting health person's name (from the login), which their access token does not
    carry; their HPR number is the token's own, so it is left out."""
    if person_name:
        getattr(request, _ACTING_FIELD[rpc]).CopyFrom(summary_pb2.Performer(name=person_name))


async def _reread(page: Page, escalation_id: str, problem: Problem) -> Response:
    """The answer to a form problem or a refusal after a normal opening: the escalation read
    again, normally (no emergency access; consent decides and it is audited as any opening)."""
    try:
        current = await _open(page, escalation_id)
    except ServiceError as err:
        if err.reason == Reason.CONSENT_DENIED:
            return _restricted(page, escalation_id)
        if problem.refusal is not None:
            raise problem.refusal from None  # the refusal is the answer, the read's failure is not
        raise
    return await _render_escalation(page, current, problem=problem)


async def escalation_post(page: Page) -> Response:
    """An action, or the emergency opening. The patient's data is read in an emergency only by
    `nodapning`, the person's explicit choice: every other answer after an emergency opening is
    the change's own (one emergency access, the action's) or `_unread`."""
    escalation_id = _escalation_id(page)
    form = page.form
    assert form is not None  # a POST: the wrapper parsed and checked it
    action = form.get("handling", "")
    justification = form.get("begrunnelse", "").replace("\r\n", "\n").strip()
    if action == "nodapning" or justification:
        if text_problem(justification, JUSTIFICATION_TEXT) is not None:
            missing = {"begrunnelse": "inbox.restricted.justification_required"}
            return _restricted(page, escalation_id, missing, justification)
    if action == "nodapning":
        return await _render_escalation(
            page, await _open(page, escalation_id, justification), justification=justification
        )
    if action not in ACTIONS:
        raise invalid_argument({"handling": f"one of: {', '.join(ACTIONS)}"})
    request_id = form.get("foresporsel", "")
    if not _ID.fullmatch(request_id):
        raise invalid_argument({"foresporsel": "the request id of this page's own form"})
    shown = shown_from(form, form.getlist("skjema")) if justification else None
    errors: dict[str, str] = {}
    rpc, request = _change_request(action, escalation_id, request_id, form, errors)
    _named(rpc, request, _session(page).person_name)
    typed = typed_in(action, form, datetime.now(UTC))
    if errors:
        problem = Problem(400, errors=errors, typed=typed)
        if shown is not None:
            return _unread(page, escalation_id, shown, justification, problem)
        return await _reread(page, escalation_id, problem)
    try:
        changed = await page.web.caller.call(_session(page), rpc, request, justification=justification)
    except ServiceError as err:
        if http_status(err) == 401:
            raise  # the session has ended (WEB_SESSION_ENDED): the error page, and log in again
        problem = Problem(http_status(err), refusal=err, typed=typed)
        if shown is not None:
            return _unread(page, escalation_id, shown, justification, problem)
        if err.reason == Reason.CONSENT_DENIED:
            return _restricted(page, escalation_id)
        return await _reread(page, escalation_id, problem)
    if justification:
        # A GET would need the emergency opening again: the answer (the escalation after the
        # change) is shown as it is. A repeated post is the same request: it changes nothing.
        assert isinstance(changed, CHANGE_RESPONSES)
        return await _render_escalation(page, changed.escalation, justification=justification, done=DONE[action])
    return page.redirect(f"{PAGE_PATH}/{escalation_id}?utfort={DONE[action]}")


def routes() -> list[WebRoute]:
    return [
        WebRoute(PAGE_PATH, {"GET": inbox_page}, "inbox"),
        WebRoute(ESCALATION_PATH, {"GET": escalation_page, "POST": escalation_post}, "inbox"),
    ]
