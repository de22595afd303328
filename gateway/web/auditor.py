"""The auditor console (part 5 of issue 13): search the organisation's events (SearchEvents,
newest first, paged), an event's detail from its inclusion proof verified with the pinned
verifier key, the proof as a download `samhandling audit check-proof` verifies offline,
signals with a chart of events and denials per day, exports (FHIR, CSV) and log health.

No person number reaches a URL: a search is POSTed, kept in the session (`data["searches"]`,
at most MAX_SEARCHES, each with its page tokens) and named by a random key (`?sok=`); events
are named by their sequence; exports are POSTs. Every call goes through the caller, so the
Enforcer decides and the audit service scopes every answer to the auditor's organisation."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Awaitable, Collection, Mapping
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from starlette.responses import Response

from samhandling.audit.v1 import audit_pb2
from samhandling.common.v1 import common_pb2
from samhandling.summary.v1 import escalation_pb2, summary_pb2
from services.platform.error_reasons import Reason
from services.platform.errors import ServiceError, invalid_argument
from services.platform.paging import sequence_violations

from . import charts, logcheck
from .context import Page, WebRoute, WebSession
from .i18n_loader import Texts, texts

_AUDIT = "/samhandling.audit.v1.AuditService/"
SEARCH_EVENTS = _AUDIT + "SearchEvents"
GET_EVENT_PROOF = _AUDIT + "GetEventProof"
LIST_SIGNALS = _AUDIT + "ListSignals"
EXPORT_EVENTS = _AUDIT + "ExportEvents"
GET_CHECKPOINT = _AUDIT + "GetCheckpoint"
GET_CONSISTENCY_PROOF = _AUDIT + "GetConsistencyProof"
# The summary service's escalation signals (late acknowledgements, exhausted chains; no patient data).
LIST_ESCALATION_SIGNALS = "/samhandling.summary.v1.EscalationService/ListEscalationSignals"

OSLO = ZoneInfo("Europe/Oslo")
PAGE_SIZE = 50
MAX_SEARCHES = 5  # searches kept per session; the oldest is dropped
MAX_PAGES = 50  # page tokens kept per search (pages reachable by "next")
SEARCHES_BYTES = 12 * 1024  # of the session's 16 KiB of page state; the oldest searches go first
SIGNAL_PAGES = 5  # ListSignals pages read per view (20 signals each)
ESCALATION_SIGNAL_PAGES = 2  # ListEscalationSignals pages read per view (100 signals each)
ESCALATION_SIGNAL_PAGE_SIZE = 100
CHART_PAGE_SIZE = 500
CHART_MAX_PAGES = 10  # events counted for the chart: at most 5 000, else "at least"
MAX_PERIOD_DAYS = 31  # the longest period of ListSignals and ListEscalationSignals, in days of 24 h
MAX_PERIOD = timedelta(days=MAX_PERIOD_DAYS)
# A service that cannot answer now (down, or past the call's deadline): the page shows what the
# others answered, with a notice for the part it lacks.
_SERVICE_DOWN = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})
T = TypeVar("T")
DEFAULT_PERIOD_DAYS = 7

PURPOSES = ("TREAT", "ETREAT", "COC", "BTG")
DECISIONS = ("PERMIT", "DENY")
BASES = (
    "CARE_RELATIONSHIP",
    "EXPLICIT_PERMIT",
    "EMERGENCY",
    "OWN_DATA",
    "AUDIT",
    "NONE",
    "CONSENT_AT_MOMENT",
    "RESERVATION",
    "RESTRICTION",
    "BLOCK",
    "REPRESENTATIVE",
)
SIGNAL_KINDS = ("EMERGENCY_OVERRIDE", "RESTRICTED_ACCESS", "REPEATED_DENIALS", "UNUSUAL_VOLUME")
FORMATS = {"fhir": (audit_pb2.EXPORT_FORMAT_FHIR_JSON, "json"), "csv": (audit_pb2.EXPORT_FORMAT_CSV, "csv")}
FILTER_FIELDS = (
    "patient_id",
    "actor_hpr_number",
    "actor_pid",
    "actor_orgnr_child",
    "fra",
    "til",
    "purpose_of_use",
    "decision",
    "access_basis",
    "flagged_only",
)


def _session(page: Page) -> WebSession:
    assert page.session is not None  # the route's console guard
    return page.session


def _vkey(page: Page) -> str:
    if page.web.audit_vkey is None:  # compose pins one; a page without it proves nothing
        raise Reason.WEB_AUDIT_VKEY_MISSING.error("no pinned verifier key for the audit log")
    return page.web.audit_vkey


# ---- filters ---------------------------------------------------------------------------------


def _day(text: str, name: str, problems: dict[str, str]) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        problems[name] = "a date as YYYY-MM-DD"
        return None


def _start_of(day: date) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(datetime.combine(day, dtime(), OSLO).astimezone(UTC))
    return stamp


def points_of_care(page: Page) -> list[tuple[str, str]]:
    """The points of care (orgnr, name) of the legal entity the auditor's token acts for, from
    the directory: the organisation choices of a search or an export."""
    parent = _session(page).orgnr_parent
    return [(o.orgnr, o.name) for o in page.web.directory.points_of_care(parent)] if parent else []


def filter_from_form(form: Mapping[str, str], points: Collection[str] = ()) -> tuple[dict[str, str], dict[str, str]]:
    """The search's fields as posted (kept in the session) and their problems, by field name;
    `points`: the point of care numbers that may be chosen."""
    fields = {name: (form.get(name) or "").strip() for name in FILTER_FIELDS}
    fields["flagged_only"] = "1" if fields["flagged_only"] else ""
    problems: dict[str, str] = {}
    if fields["actor_orgnr_child"] and fields["actor_orgnr_child"] not in points:
        problems["actor_orgnr_child"] = "not a choice"
    for name, allowed in (("purpose_of_use", PURPOSES), ("decision", DECISIONS), ("access_basis", BASES)):
        if fields[name] and fields[name] not in allowed:
            problems[name] = "not a choice"
    start, end = _day(fields["fra"], "fra", problems), _day(fields["til"], "til", problems)
    if start and end and end < start:
        problems["til"] = "after the start"
    return fields, problems


def event_filter(fields: Mapping[str, str]) -> audit_pb2.EventFilter:
    """The proto filter of stored fields; `til` includes its whole day (Oslo)."""
    found = audit_pb2.EventFilter(
        patient_id=fields.get("patient_id", ""),
        actor_hpr_number=fields.get("actor_hpr_number", ""),
        actor_pid=fields.get("actor_pid", ""),
        actor_orgnr_child=fields.get("actor_orgnr_child", ""),
        flagged_only=bool(fields.get("flagged_only")),
    )
    if fields.get("fra"):
        found.start_time.CopyFrom(_start_of(date.fromisoformat(fields["fra"])))
    if fields.get("til"):
        found.end_time.CopyFrom(_start_of(date.fromisoformat(fields["til"]) + timedelta(days=1)))
    if fields.get("purpose_of_use"):
        found.purpose_of_use = cast(
            common_pb2.PurposeOfUse, common_pb2.PurposeOfUse.Value("PURPOSE_OF_USE_" + fields["purpose_of_use"])
        )
    if fields.get("decision"):
        found.decision = cast(common_pb2.Decision, common_pb2.Decision.Value("DECISION_" + fields["decision"]))
    if fields.get("access_basis"):
        found.access_basis = cast(
            common_pb2.AccessBasis, common_pb2.AccessBasis.Value("ACCESS_BASIS_" + fields["access_basis"])
        )
    return found


# Field names of the proto filter -> the form's (a server violation shows next to its field).
_PROTO_FIELD = {"filter.start_time": "fra", "filter.end_time": "til", "start_time": "fra", "end_time": "til"}


def _form_field(name: str) -> str:
    """The form field a server violation belongs to; `filters` when it is none of them."""
    name = _PROTO_FIELD.get(name, name).removeprefix("filter.")
    return name if name in FILTER_FIELDS else "filters"


def _searches(session: WebSession) -> dict[str, Any]:
    kept = session.data.get("searches")
    return dict(kept) if isinstance(kept, Mapping) else {}


def bounded(searches: Mapping[str, Any], keep: str) -> dict[str, Any]:
    """At most MAX_SEARCHES searches in at most SEARCHES_BYTES of JSON, dropping the oldest
    first; the search `keep` stays."""
    newest_first = sorted(searches.items(), key=lambda kv: (kv[0] == keep, kv[1].get("at", 0)), reverse=True)
    kept: dict[str, Any] = {}
    for key, value in newest_first[:MAX_SEARCHES]:
        if key != keep and len(json.dumps({**kept, key: value})) > SEARCHES_BYTES:
            break
        kept[key] = value
    return kept


# ---- pages -----------------------------------------------------------------------------------


def _event_row(page: Page, event: audit_pb2.AuditEvent) -> dict[str, Any]:
    catalog = texts(page.lang)
    actor = event.actor
    person = page.web.directory.person(actor.hpr_number) if actor.hpr_number else None
    who = actor.name or (person.name if person else "") or actor.hpr_number or actor.client_name or actor.client_id
    return {
        "sequence": event.sequence,
        "time": catalog.format_time(event.occur_time.ToDatetime(UTC)) if event.HasField("occur_time") else "",
        "who": who,
        "org": page.web.directory.organisation_name(actor.orgnr_child or actor.orgnr_parent),
        "patient": event.patient_id,
        "category": _enum(common_pb2.DataCategory, "DATA_CATEGORY_", event.data_category),
        "purpose": _enum(common_pb2.PurposeOfUse, "PURPOSE_OF_USE_", event.purpose_of_use),
        "basis": _enum(common_pb2.AccessBasis, "ACCESS_BASIS_", event.access_basis),
        "decision": _enum(common_pb2.Decision, "DECISION_", event.decision),
        "flagged": event.flagged,
    }


def _enum(enum: Any, prefix: str, value: int) -> str:
    name = enum.Name(value) if value in enum.values() else ""
    return name.removeprefix(prefix) if not name.endswith("UNSPECIFIED") else ""


async def home(page: Page) -> Response:
    session = _session(page)
    end = datetime.now(UTC)
    # Each part is shown when the audit service answers; when it does not, a notice stands in
    # its place and the rest of the console (its links) still works.
    signals = await _unless_down(_signals(page, session, end - timedelta(days=DEFAULT_PERIOD_DAYS), end, ""))
    health = await _unless_down(_checkpoint(page, session))
    return page.render(
        "auditor/home.html",
        page_title=texts(page.lang).t("auditor.home.title"),
        signals=signals[:5] if signals is not None else None,
        signal_count=len(signals) if signals is not None else 0,
        health=health,
        nav="home",
    )


async def search(page: Page) -> Response:
    session = _session(page)
    if page.request.method == "POST":
        assert page.form is not None
        fields, problems = filter_from_form(page.form, {orgnr for orgnr, _ in points_of_care(page)})
        if problems:
            return _search_page(page, fields, problems, None, status=400)
        key = secrets.token_urlsafe(12)
        searches = _searches(session)
        searches[key] = {"fields": fields, "tokens": [""], "at": time.time()}
        await page.web.sessions.update(session, data={**session.data, "searches": bounded(searches, key)})
        return page.redirect(f"/revisor/hendelser?sok={key}")
    key = page.request.query_params.get("sok", "")
    if not key:
        return _search_page(page, {}, {}, None)
    stored = _searches(session).get(key)
    if not isinstance(stored, Mapping):
        raise Reason.WEB_SEARCH_NOT_FOUND.error("this search is no longer kept; search again")
    fields = dict(stored["fields"])
    tokens = list(stored["tokens"])
    try:
        number = int(page.request.query_params.get("side", "1"))
    except ValueError:
        number = 1
    if not 1 <= number <= len(tokens):
        number = 1
    try:
        answer = await page.web.caller.call(
            session,
            SEARCH_EVENTS,
            audit_pb2.SearchEventsRequest(
                filter=event_filter(fields), page_size=PAGE_SIZE, page_token=tokens[number - 1]
            ),
        )
    except ServiceError as err:
        if err.field_violations:
            problems = {_form_field(k): v for k, v in err.field_violations.items()}
            return _search_page(page, fields, problems, None, status=400)
        raise
    assert isinstance(answer, audit_pb2.SearchEventsResponse)
    if answer.next_page_token and len(tokens) == number and number < MAX_PAGES:
        tokens.append(answer.next_page_token)
        searches = _searches(session)
        searches[key] = {**stored, "tokens": tokens}
        await page.web.sessions.update(session, data={**session.data, "searches": bounded(searches, key)})
    result = {
        "key": key,
        "page": number,
        "rows": [_event_row(page, e) for e in answer.events],
        "previous": number - 1 if number > 1 else None,
        "next": number + 1 if answer.next_page_token and number < MAX_PAGES else None,
    }
    return _search_page(page, fields, {}, result)


def _search_page(
    page: Page, fields: Mapping[str, str], problems: Mapping[str, str], result: Any, status: int = 200
) -> Response:
    fields = {name: fields.get(name, "") for name in FILTER_FIELDS}
    return _filter_page(page, "search", status, fields, problems, result=result)


def _filter_page(
    page: Page, name: str, status: int, fields: Mapping[str, str], problems: Mapping[str, str], **more: Any
) -> Response:
    """The search or export page ("search", "export"): the event filter's form with its choices."""
    return page.render(
        f"auditor/{name}.html",
        status=status,
        page_title=texts(page.lang).t(f"auditor.{name}.title"),
        fields=fields,
        problems=problems,
        **more,
        purposes=PURPOSES,
        decisions=DECISIONS,
        bases=BASES,
        points=points_of_care(page),
        nav=name,
    )


def _sequence(page: Page) -> int:
    text = page.request.path_params.get("sequence", "")
    if problems := sequence_violations(text):
        raise invalid_argument(problems)
    return int(text)


async def _proof(page: Page, sequence: int) -> str:
    answer = await page.web.caller.call(
        _session(page), GET_EVENT_PROOF, audit_pb2.GetEventProofRequest(sequence=sequence)
    )
    assert isinstance(answer, audit_pb2.GetEventProofResponse)
    return answer.proof


async def event(page: Page) -> Response:
    sequence = _sequence(page)
    catalog = texts(page.lang)
    title = catalog.t("auditor.event.title", sequence=sequence)
    try:
        proof = await _proof(page, sequence)
    except ServiceError as err:
        if err.reason == Reason.EVENT_NOT_FOUND:  # not covered by a checkpoint yet (signed within a second)
            return page.render(
                "auditor/event.html",
                status=404,
                page_title=title,
                sequence=sequence,
                pending=True,
                failed=None,
                event=None,
                nav="search",
            )
        raise
    try:
        proven = logcheck.read_event_proof(proof, _vkey(page))
    except logcheck.LogCheckFailed as exc:
        return page.render(
            "auditor/event.html",
            status=502,
            page_title=title,
            sequence=sequence,
            pending=False,
            failed=str(exc),
            event=None,
            nav="search",
        )
    m = proven.members
    moment = proven.occurred_at
    hpr = str(m.get("actor_hpr_number") or "")
    person = page.web.directory.person(hpr) if hpr else None
    shown = {
        "time": catalog.format_time(moment) if moment else "",
        "actor_name": str(m.get("actor_name") or (person.name if person else "") or ""),
        "actor_kind": str(m.get("actor_kind") or ""),
        "actor_hpr": hpr,
        "actor_pid": str(m.get("actor_pid") or ""),
        "actor_client": str(m.get("actor_client_name") or m.get("actor_client_id") or ""),
        "actor_org": page.web.directory.organisation_name(
            str(m.get("actor_orgnr_child") or m.get("actor_orgnr_parent") or "")
        ),
        "patient": str(m.get("patient_id") or ""),
        "action": _label(catalog, "auditor.action.", m.get("action")),
        "category": _label(catalog, "auditor.category.", m.get("data_category")),
        "purpose": str(m.get("purpose_of_use") or ""),
        "basis": str(m.get("access_basis") or ""),
        "decision": str(m.get("decision") or ""),
        "decided_by": str(m.get("decided_by") or ""),
        # The decision's duties (a version-2 leaf's member; None: a version-1 leaf did not record them).
        "obligations": [
            _label(catalog, "auditor.obligation.", name) for name in str(m["obligations"]).split(",") if name
        ]
        if isinstance(m.get("obligations"), str)
        else None,
        "flagged": bool(m.get("flagged")),
        "justification": str(m.get("justification") or ""),
        "method": str(m.get("method") or ""),
        "trace_id": str(m.get("trace_id") or ""),
        "tree_size": proven.tree_size,
        # A version-2 leaf holds these two as commitments: the auditor's proof opened them, checked.
        "opened": bool(proven.opened),
    }
    return page.render(
        "auditor/event.html",
        page_title=title,
        sequence=sequence,
        pending=False,
        failed=None,
        event=shown,
        vkey=_vkey(page),
        nav="search",
    )


def _label(catalog: Texts, prefix: str, value: object) -> str:
    """A leaf's enum member in words; a member without a text (a newer leaf) as it is."""
    name = str(value or "")
    return catalog.t(prefix + name) if name and catalog.has(prefix + name) else name


async def proof_download(page: Page) -> Response:
    sequence = _sequence(page)
    proof = await _proof(page, sequence)
    return page.download(proof.encode("utf-8"), "text/plain; charset=utf-8", f"hendelse-{sequence}.proof")


# ---- signals and chart -----------------------------------------------------------------------


async def _signals(page: Page, session: WebSession, start: datetime, end: datetime, kind: str) -> list[dict[str, Any]]:
    catalog = texts(page.lang)
    request = audit_pb2.ListSignalsRequest(
        kind=cast(audit_pb2.SignalKind, audit_pb2.SignalKind.Value("SIGNAL_KIND_" + kind))
        if kind
        else audit_pb2.SIGNAL_KIND_UNSPECIFIED
    )
    request.start_time.FromDatetime(start)
    request.end_time.FromDatetime(end)
    found: list[dict[str, Any]] = []
    for _ in range(SIGNAL_PAGES):
        answer = await page.web.caller.call(session, LIST_SIGNALS, request)
        assert isinstance(answer, audit_pb2.ListSignalsResponse)
        for signal in answer.signals:
            actor = signal.actor
            person = page.web.directory.person(actor.hpr_number) if actor.hpr_number else None
            found.append(
                {
                    "kind": audit_pb2.SignalKind.Name(signal.kind).removeprefix("SIGNAL_KIND_"),
                    "who": actor.name or (person.name if person else "") or actor.hpr_number or actor.client_name,
                    "day": catalog.format_time(
                        datetime(signal.day.year, signal.day.month, signal.day.day, 12), date_only=True
                    )
                    if signal.day.year
                    else "",
                    "count": len(signal.events),
                    "sequences": [e.sequence for e in signal.events[:5]],
                }
            )
        if not answer.next_page_token:
            break
        request.page_token = answer.next_page_token
    return found


async def _escalation_signals(
    page: Page, session: WebSession, start: datetime, end: datetime
) -> tuple[list[dict[str, Any]], bool]:
    """The escalation signals of the auditor's organisation in [start, end), newest first, as rows
    of the page (at most ESCALATION_SIGNAL_PAGES pages), and whether more were left out."""
    catalog = texts(page.lang)
    request = escalation_pb2.ListEscalationSignalsRequest(page_size=ESCALATION_SIGNAL_PAGE_SIZE)
    request.start_time.FromDatetime(start)
    request.end_time.FromDatetime(end)
    found: list[dict[str, Any]] = []
    more = False
    for _ in range(ESCALATION_SIGNAL_PAGES):
        answer = await page.web.caller.call(session, LIST_ESCALATION_SIGNALS, request)
        assert isinstance(answer, escalation_pb2.ListEscalationSignalsResponse)
        found += [_escalation_signal_row(catalog, page, s) for s in answer.signals]
        more = answer.truncated or bool(answer.next_page_token)
        if not answer.next_page_token:
            break
        request.page_token = answer.next_page_token
    return found, more


def _escalation_signal_row(catalog: Texts, page: Page, s: escalation_pb2.EscalationSignal) -> dict[str, Any]:
    organisation = page.web.directory.organisation(s.orgnr)
    late = s.late_by.ToTimedelta() if s.HasField("late_by") else None
    hours, minutes = divmod(int(late.total_seconds()) // 60, 60) if late is not None else (0, 0)
    return {
        "kind": escalation_pb2.EscalationSignalKind.Name(s.kind).removeprefix("ESCALATION_SIGNAL_KIND_"),
        "escalation_id": s.escalation_id,
        "level": summary_pb2.EscalationLevel.Name(s.level).removeprefix("ESCALATION_LEVEL_").lower(),
        "opened": catalog.format_time(s.open_time.ToDatetime(UTC)),
        "deadline": catalog.format_time(s.deadline_time.ToDatetime(UTC)) if s.HasField("deadline_time") else "",
        "at": catalog.format_time(s.event_time.ToDatetime(UTC)),
        "late_by": catalog.t("auditor.escalation_signals.late_by", hours=hours, minutes=minutes) if late else "",
        "unit": f"{organisation.name} ({s.orgnr})" if organisation else s.orgnr,
        "role": escalation_pb2.EscalationRole.Name(s.role).removeprefix("ESCALATION_ROLE_"),
        "person": f"{s.person.name} (HPR {s.person.hpr_number})" if s.person.hpr_number else "",
    }


def _period(page: Page) -> tuple[date, date, dict[str, str], bool]:
    """The Oslo days asked for (fra, til), the problems with them, and whether the start was moved
    a day later: MAX_PERIOD_DAYS Oslo days spanning the autumn clock change last an hour longer
    than the services' MAX_PERIOD, so such a period is shortened by its first day (whole days, so
    the chart, both lists and the period shown stay the same)."""
    today = datetime.now(OSLO).date()
    problems: dict[str, str] = {}
    start = _day(page.request.query_params.get("fra", ""), "fra", problems) or today - timedelta(
        days=DEFAULT_PERIOD_DAYS - 1
    )
    end = _day(page.request.query_params.get("til", ""), "til", problems) or today
    if end < start:
        problems["til"] = "after the start"
    elif (end - start).days + 1 > MAX_PERIOD_DAYS:
        problems["til"] = f"at most {MAX_PERIOD_DAYS} days"
    if problems:
        start, end = today - timedelta(days=DEFAULT_PERIOD_DAYS - 1), today
    shortened = False
    while _instant(end + timedelta(days=1)) - _instant(start) > MAX_PERIOD:
        start, shortened = start + timedelta(days=1), True
    return start, end, problems, shortened


def _instant(day: date) -> datetime:
    """The start of an Oslo day, in UTC."""
    return datetime.combine(day, dtime(), OSLO).astimezone(UTC)


async def _unless_down(call: Awaitable[T]) -> T | None:
    """The call's answer, or None when its service cannot answer now (`_SERVICE_DOWN`); any other
    refusal is raised as before."""
    try:
        return await call
    except ServiceError as err:
        if err.code in _SERVICE_DOWN:
            return None
        raise


async def day_counts(page: Page, session: WebSession, start: date, end: date) -> tuple[list[charts.DayCount], bool]:
    """Events and denials per Oslo day over SearchEvents pages; capped (True) past CHART_MAX_PAGES."""
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    events = dict.fromkeys(days, 0)
    denials = dict.fromkeys(days, 0)
    request = audit_pb2.SearchEventsRequest(
        filter=event_filter({"fra": start.isoformat(), "til": end.isoformat()}), page_size=CHART_PAGE_SIZE
    )
    capped = False
    for number in range(CHART_MAX_PAGES):
        answer = await page.web.caller.call(session, SEARCH_EVENTS, request)
        assert isinstance(answer, audit_pb2.SearchEventsResponse)
        for e in answer.events:
            day = e.occur_time.ToDatetime(UTC).astimezone(OSLO).date()
            if day in events:
                events[day] += 1
                denials[day] += e.decision == common_pb2.DECISION_DENY
        if not answer.next_page_token:
            break
        if number == CHART_MAX_PAGES - 1:
            capped = True
        request.page_token = answer.next_page_token
    return [charts.DayCount(d, events[d], denials[d]) for d in days], capped


async def signals(page: Page) -> Response:
    session = _session(page)
    catalog = texts(page.lang)
    start, end, problems, shortened = _period(page)
    kind = page.request.query_params.get("type", "")
    if kind and kind not in SIGNAL_KINDS:
        problems["type"] = "not a choice"
        kind = ""
    # Each service's part is shown when it answers; one that is down leaves a notice in its place.
    since, until = _instant(start), _instant(end + timedelta(days=1))
    found = await _unless_down(_signals(page, session, since, until, kind))
    escalations = await _unless_down(_escalation_signals(page, session, since, until))
    charted = await _unless_down(day_counts(page, session, start, end)) if found is not None else None
    counts, capped = charted if charted is not None else ([], False)
    period = catalog.t(
        "auditor.signals.period",
        start=catalog.format_time(datetime.combine(start, dtime(12)), date_only=True),
        end=catalog.format_time(datetime.combine(end, dtime(12)), date_only=True),
    )
    chart = (
        charts.bar_chart(
            counts,
            title=catalog.t("auditor.chart.title", period=period),
            description=catalog.t(
                "auditor.chart.description",
                events=sum(c.events for c in counts),
                denials=sum(c.denials for c in counts),
            ),
            events_label=catalog.t("auditor.chart.events"),
            denials_label=catalog.t("auditor.chart.denials"),
            day_label=lambda d: catalog.format_time(datetime.combine(d, dtime(12)), date_only=True),
        )
        if charted is not None
        else None
    )
    rows = [
        {
            "day": catalog.format_time(datetime.combine(c.day, dtime(12)), date_only=True),
            "events": c.events,
            "denials": c.denials,
        }
        for c in counts
    ]
    return page.render(
        "auditor/signals.html",
        status=400 if problems else 200,
        page_title=catalog.t("auditor.signals.title"),
        signals=found or [],
        signals_down=found is None,
        escalation_signals=escalations[0] if escalations else [],
        escalation_more=escalations[1] if escalations else False,
        escalation_signals_down=escalations is None,
        chart=chart,
        shortened=shortened,
        rows=rows,
        capped=capped,
        problems=problems,
        fra=start.isoformat(),
        til=end.isoformat(),
        kind=kind,
        kinds=SIGNAL_KINDS,
        nav="signals",
    )


# ---- export ----------------------------------------------------------------------------------


async def export(page: Page) -> Response:
    session = _session(page)
    if page.request.method == "GET":
        return _export_page(page, {name: "" for name in FILTER_FIELDS}, {}, "csv")
    assert page.form is not None
    fields, problems = filter_from_form(page.form, {orgnr for orgnr, _ in points_of_care(page)})
    chosen = page.form.get("format", "")
    if chosen not in FORMATS:
        problems["format"] = "not a choice"
    if problems:
        return _export_page(page, fields, problems, chosen, status=400)
    proto_format, suffix = FORMATS[chosen]
    try:
        answer = await page.web.caller.call(
            session, EXPORT_EVENTS, audit_pb2.ExportEventsRequest(filter=event_filter(fields), format=proto_format)
        )
    except ServiceError as err:
        if not err.field_violations:
            raise
        problems = {_form_field(k): v for k, v in err.field_violations.items()}
        return _export_page(page, fields, problems, chosen, status=400)
    assert isinstance(answer, audit_pb2.ExportEventsResponse)
    stamp = datetime.now(OSLO).strftime("%Y%m%d-%H%M")
    return page.download(
        answer.content, answer.content_type or "application/octet-stream", f"hendelser-{stamp}.{suffix}"
    )


def _export_page(
    page: Page, fields: Mapping[str, str], problems: Mapping[str, str], chosen: str, status: int = 200
) -> Response:
    return _filter_page(page, "export", status, fields, problems, format=chosen)


# ---- log health ------------------------------------------------------------------------------


async def _checkpoint(page: Page, session: WebSession) -> dict[str, Any]:
    """The latest checkpoint verified with the pinned key: {"ok", "size", "problem"}."""
    try:
        answer = await page.web.caller.call(session, GET_CHECKPOINT, audit_pb2.GetCheckpointRequest())
    except ServiceError as err:
        if err.reason == Reason.NO_CHECKPOINT:
            return {"ok": None, "size": 0, "problem": "", "checkpoint": None}
        raise
    assert isinstance(answer, audit_pb2.GetCheckpointResponse)
    try:
        checkpoint = logcheck.open_pinned(answer.checkpoint, _vkey(page))
    except logcheck.LogCheckFailed as exc:
        return {"ok": False, "size": 0, "problem": str(exc), "checkpoint": None}
    return {"ok": True, "size": checkpoint.size, "problem": "", "checkpoint": checkpoint}


async def health(page: Page) -> Response:
    session = _session(page)
    catalog = texts(page.lang)
    current = await _checkpoint(page, session)
    chain = logcheck.parse_chain(await page.web.sessions.mark(session, logcheck.CHAIN_MARK))
    links: list[dict[str, Any]] = []
    checkpoint = current["checkpoint"]
    if checkpoint is not None:
        all_ok = True
        for seen in chain:
            hashes: list[bytes] = []
            if 0 < seen.size < checkpoint.size:
                answer = await page.web.caller.call(
                    session,
                    GET_CONSISTENCY_PROOF,
                    audit_pb2.GetConsistencyProofRequest(first_size=seen.size, second_size=checkpoint.size),
                )
                assert isinstance(answer, audit_pb2.GetConsistencyProofResponse)
                hashes = list(answer.hashes)
            try:
                logcheck.check_link(seen, checkpoint, hashes)
                problem = ""
            except logcheck.LogCheckFailed as exc:
                problem, all_ok = str(exc), False
            links.append(
                {
                    "size": seen.size,
                    "seen": catalog.format_time(datetime.fromtimestamp(seen.seen_at, UTC)),
                    "ok": not problem,
                    "problem": problem,
                }
            )
        if all_ok:  # a broken chain is kept as it is, to be shown again
            now = int(time.time())
            await page.web.sessions.set_mark(
                session, logcheck.CHAIN_MARK, logcheck.format_chain(logcheck.extend(chain, checkpoint, now))
            )
    return page.render(
        "auditor/health.html",
        page_title=catalog.t("auditor.health.title"),
        current=current,
        links=links,
        vkey=_vkey(page),
        nav="health",
    )


def routes() -> list[WebRoute]:
    return [
        WebRoute("/revisor", {"GET": home}, "auditor"),
        WebRoute("/revisor/hendelser", {"GET": search, "POST": search}, "auditor"),
        WebRoute("/revisor/hendelser/{sequence}", {"GET": event}, "auditor"),
        WebRoute("/revisor/hendelser/{sequence}/bevis", {"GET": proof_download}, "auditor"),
        WebRoute("/revisor/signaler", {"GET": signals}, "auditor"),
        WebRoute("/revisor/eksport", {"GET": export, "POST": export}, "auditor"),
        WebRoute("/revisor/logghelse", {"GET": health}, "auditor"),
    ]
