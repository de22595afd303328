"""The capacity page behind the personnel login (part 6 of issue 13).

`GET /ansatt/kapasitet?region=` is rendered on the server from GetCapacityOverview and
ListAlerts, read through the Caller (so the gateway's Enforcer decides, as for any gRPC
client): sums per resource type, one `<meter>` per unit and resource, the status by colour
and by text, times in Oslo. `static/capacity.js` then follows two NDJSON relays of the
watches, `GET /ansatt/kapasitet/strom?region=&resume_after=` (WatchCapacity) and
`GET /ansatt/varsler/strom?resume_after=` (WatchAlerts), which run through the caller's
`stream` (a token that expires under a watch is refreshed and the watch reopened from the
last position). At every message (the watches send a heartbeat at least every 15 s) the
relay re-checks, at most every RECHECK_SECONDS, that the session still exists; when it has
ended the last line is `{"error": {"reason": "WEB_SESSION_ENDED", ...}}`. A refusal before
the first message is the JSON error body with its HTTP status, never a redirect (the page's
script reads it)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message
from markupsafe import Markup
from starlette.responses import JSONResponse, Response, StreamingResponse

from samhandling.capacity.v1 import capacity_pb2
from services.platform.error_reasons import Reason
from services.platform.errors import ServiceError, invalid_argument

from ..http.errors import error_body, http_status
from .context import SESSION_COOKIE, Page, WebRoute, WebSession
from .i18n_loader import texts
from .sessions import session_ended

SERVICE = "/samhandling.capacity.v1.CapacityService"
GET_OVERVIEW = f"{SERVICE}/GetCapacityOverview"
LIST_ALERTS = f"{SERVICE}/ListAlerts"
WATCH_CAPACITY = f"{SERVICE}/WatchCapacity"
WATCH_ALERTS = f"{SERVICE}/WatchAlerts"
PAGE_PATH = "/ansatt/kapasitet"
CAPACITY_STREAM_PATH = "/ansatt/kapasitet/strom"
ALERTS_STREAM_PATH = "/ansatt/varsler/strom"
MAX_ALERT_PAGES = 4  # 50 alerts a page: the page lists at most 200 open alerts (the watch's snapshot limit)
MAX_REGION_CHARS = 100
RECHECK_SECONDS = 15.0  # the watches' heartbeat: a session's end is seen within about this long
NDJSON = "application/x-ndjson"
STATUS_NAMES = {
    capacity_pb2.CAPACITY_STATUS_NORMAL: "normal",
    capacity_pb2.CAPACITY_STATUS_STRAINED: "strained",
    capacity_pb2.CAPACITY_STATUS_FULL: "full",
}
SEVERITY_NAMES = {
    capacity_pb2.ALERT_SEVERITY_INFO: "info",
    capacity_pb2.ALERT_SEVERITY_WARNING: "warning",
    capacity_pb2.ALERT_SEVERITY_CRITICAL: "critical",
}
UNIT_TYPE_NAMES = {
    capacity_pb2.UNIT_TYPE_LEGEVAKT: "legevakt",
    capacity_pb2.UNIT_TYPE_KAD: "kad",
    capacity_pb2.UNIT_TYPE_NURSING_HOME_SHORT_TERM: "nursing_home_short_term",
    capacity_pb2.UNIT_TYPE_EMERGENCY_DEPARTMENT: "emergency_department",
    capacity_pb2.UNIT_TYPE_HOSPITAL_WARD: "hospital_ward",
    capacity_pb2.UNIT_TYPE_AMBULANCE: "ambulance",
}


def resource_label(lang: str, resource_type: str) -> str:
    """The catalog's name of a resource type; an unknown one in words ("x_ray" -> "x ray")."""
    catalog = texts("en" if lang == "en" else "nb")
    key = f"capacity.resource.{resource_type}"
    return catalog.t(key) if catalog.has(key) else resource_type.replace("_", " ")


@dataclass(frozen=True)
class ResourceRow:
    unit_id: str
    unit_name: str
    unit_type: str  # a key of capacity.unit_type, or "" when not given
    municipality: str
    resource_type: str
    total: int
    available: int
    occupied: int
    status: str  # normal | strained | full | unknown
    note: str
    reported: datetime | None


def _rows(overview: capacity_pb2.GetCapacityOverviewResponse) -> list[ResourceRow]:
    rows = []
    for unit in overview.units:
        for resource in sorted(unit.resources, key=lambda r: r.resource_type):
            rows.append(
                ResourceRow(
                    unit_id=unit.unit_id,
                    unit_name=unit.name or unit.unit_id,
                    unit_type=UNIT_TYPE_NAMES.get(unit.unit_type, ""),
                    municipality=unit.municipality_number,
                    resource_type=resource.resource_type,
                    total=resource.total,
                    available=resource.available,
                    occupied=resource.occupied,
                    status=STATUS_NAMES.get(resource.status, "unknown"),
                    note=resource.note,
                    reported=resource.report_time.ToDatetime(tzinfo=None) if resource.HasField("report_time") else None,
                )
            )
    return rows


@dataclass(frozen=True)
class AlertView:
    alert_id: str
    severity: str  # info | warning | critical
    message: str
    sender: str
    raised: datetime
    expires: datetime
    acknowledged: str  # the names (else numbers) of who has acknowledged, comma-separated
    pending: str


def _alert_views(alerts: list[capacity_pb2.Alert], org_name: Callable[[str], str]) -> list[AlertView]:
    return [
        AlertView(
            alert_id=a.alert_id,
            severity=SEVERITY_NAMES.get(a.severity, "info"),
            message=a.message,
            sender=org_name(a.sender_orgnr),
            raised=a.raise_time.ToDatetime(),
            expires=a.expire_time.ToDatetime(),
            acknowledged=", ".join(org_name(ack.orgnr) for ack in a.acknowledgements),
            pending=", ".join(org_name(orgnr) for orgnr in a.pending_orgnrs),
        )
        for a in alerts
    ]


def _region(page: Page) -> str:
    """The region asked for; else the region of the organisation the session's token acts
    for (its point of care, else its legal entity, in the register); else every region ("")."""
    asked = page.request.query_params.get("region")
    if asked is not None:
        if len(asked) > MAX_REGION_CHARS:
            raise invalid_argument({"region": f"at most {MAX_REGION_CHARS} characters"})
        return asked.strip()
    session = page.session
    if session is None:
        return ""
    directory = page.web.directory
    for orgnr in (session.orgnr_child, session.orgnr_parent):
        if orgnr and (region := directory.region_of(orgnr)):
            return region
    return ""


async def _open_alerts(page: Page, session: WebSession) -> list[capacity_pb2.Alert]:
    alerts: list[capacity_pb2.Alert] = []
    token = ""
    for _ in range(MAX_ALERT_PAGES):
        answer = await page.web.caller.call(session, LIST_ALERTS, capacity_pb2.ListAlertsRequest(page_token=token))
        assert isinstance(answer, capacity_pb2.ListAlertsResponse)
        alerts += answer.alerts
        token = answer.next_page_token
        if not token:
            break
    return alerts


def _client_texts(lang: str) -> dict[str, Any]:
    """What capacity.js shows, in the page's language (the script has no texts of its own)."""
    catalog = texts("en" if lang == "en" else "nb")
    flat = catalog.table
    prefix = "capacity."
    return {key[len(prefix) :]: value for key, value in flat.items() if key.startswith(prefix)} | {
        f"month.{m}": catalog.t(f"common.month.{m}") for m in range(1, 13)
    }


async def overview_page(page: Page) -> Response:
    session = page.session
    assert session is not None  # the route's console guard
    region = _region(page)
    answer = await page.web.caller.call(session, GET_OVERVIEW, capacity_pb2.GetCapacityOverviewRequest(region=region))
    assert isinstance(answer, capacity_pb2.GetCapacityOverviewResponse)
    alerts = await _open_alerts(page, session)
    directory = page.web.directory
    regions = sorted({o.region for o in directory.organisations.values() if o.region} | ({region} - {""}))
    org_names = {orgnr: o.name for orgnr, o in directory.organisations.items()}
    live = {
        "region": region,
        "position": str(answer.position),
        "lang": page.lang,
        "capacityStream": CAPACITY_STREAM_PATH,
        "alertsStream": ALERTS_STREAM_PATH,
        "texts": _client_texts(page.lang),
        "organisations": org_names,
    }
    catalog = texts(page.lang)
    return page.render(
        "capacity/overview.html",
        page_title=catalog.t("capacity.title"),
        region=region,
        regions=regions,
        rows=_rows(answer),
        totals=list(answer.totals),
        alerts=_alert_views(alerts, directory.organisation_name),
        resource_label=lambda r: resource_label(page.lang, r),
        now=datetime.now().astimezone(),
        live_json=Markup(json.dumps(live, ensure_ascii=False).replace("<", "\\u003c")),
        person=session.person_name or session.subject,
    )


def _position(page: Page) -> int:
    raw = page.request.query_params.get("resume_after", "0") or "0"
    if not raw.isdigit() or len(raw) > 18:
        raise invalid_argument({"resume_after": "a position: 0 or a whole number received from this stream"})
    return int(raw)


def _relay(page: Page, rpc: str, request_at: Callable[[int], Message]) -> Response:
    """The NDJSON answer of one watch, or the JSON error that refused it."""
    session = page.session
    if session is None:
        return _json_error(session_ended())
    if session.console != "capacity":
        return _json_error(Reason.WEB_WRONG_CONSOLE.error("this session is for another part of the site"))
    cookie = page.request.cookies.get(SESSION_COOKIE, "")
    sessions = page.web.sessions
    last = [0]

    def request_after(_seen: int) -> Message:
        return request_at(last[0])

    async def lines() -> AsyncIterator[bytes]:
        messages = page.web.caller.stream(session, rpc, request_after)
        checked = time.monotonic()
        try:
            async for message in messages:
                last[0] = getattr(message, "position", last[0]) or last[0]
                content = json_format.MessageToDict(message, always_print_fields_with_no_presence=True)
                yield (json.dumps(content, ensure_ascii=False) + "\n").encode()
                if time.monotonic() - checked >= RECHECK_SECONDS:
                    checked = time.monotonic()
                    if await sessions.peek(cookie) is None:  # not activity: an open page is not a person
                        raise session_ended()
        except ServiceError as err:
            yield (json.dumps(error_body(err), ensure_ascii=False) + "\n").encode()
        finally:
            close = getattr(messages, "aclose", None)
            if close is not None:
                await close()

    return StreamingResponse(lines(), media_type=NDJSON)


def _json_error(err: ServiceError) -> Response:
    return JSONResponse(error_body(err), status_code=http_status(err))


async def capacity_stream(page: Page) -> Response:
    region = page.request.query_params.get("region", "")
    if len(region) > MAX_REGION_CHARS:
        return _json_error(invalid_argument({"region": f"at most {MAX_REGION_CHARS} characters"}))
    try:
        start = _position(page)
    except ServiceError as err:
        return _json_error(err)
    return _relay(
        page,
        WATCH_CAPACITY,
        lambda after: capacity_pb2.WatchCapacityRequest(region=region, resume_after=after or start),
    )


async def alerts_stream(page: Page) -> Response:
    try:
        start = _position(page)
    except ServiceError as err:
        return _json_error(err)
    return _relay(page, WATCH_ALERTS, lambda after: capacity_pb2.WatchAlertsRequest(resume_after=after or start))


def routes() -> list[WebRoute]:
    return [
        WebRoute(PAGE_PATH, {"GET": overview_page}, "capacity"),
        # Public to the wrapper (it would redirect to the login); the relay answers an ended or
        # missing session with WEB_SESSION_ENDED itself, as the script expects.
        WebRoute(CAPACITY_STREAM_PATH, {"GET": capacity_stream}, None),
        WebRoute(ALERTS_STREAM_PATH, {"GET": alerts_stream}, None),
    ]
