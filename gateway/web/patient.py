"""The patient pages (part 4 of issue 13): Oversikt, Delingsregler (list, create with a
confirmation, revoke, history with verified receipts), Logg over bruk, Varsler and (issue 17)
Varsler om forverring, the patient's own escalations. Every read and
change goes through the Caller, i.e. the gateway's Enforcer with the session's own token, so
consent decides and the audit log records each one as the patient's (or, acting for a child,
as the guardian's on the child's behalf). No person number appears in a URL: the patient
acted for lives in the session, rule drafts in `session.data`."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from grpc import StatusCode
from starlette.responses import Response

from samhandling.audit.v1 import audit_pb2
from samhandling.common.v1 import common_pb2
from samhandling.consent.v1 import consent_pb2
from samhandling.summary.v1 import escalation_pb2 as esc
from samhandling.summary.v1 import summary_pb2
from services.platform.error_reasons import Reason
from services.platform.errors import ServiceError, invalid_argument

from . import logcheck
from . import plain_language as pl
from .context import Page, WebRoute, WebSession
from .i18n_loader import OSLO, Texts, texts

_CONSENT = "/samhandling.consent.v1.ConsentService/"
LIST_RULES = _CONSENT + "ListRules"
CREATE_RULE = _CONSENT + "CreateRule"
REVOKE_RULE = _CONSENT + "RevokeRule"
LIST_RULE_HISTORY = _CONSENT + "ListRuleHistory"
LIST_REPRESENTATIONS = _CONSENT + "ListRepresentations"
LIST_NOTIFICATIONS = _CONSENT + "ListNotifications"
GET_SUMMARY = "/samhandling.summary.v1.PatientSummaryService/GetPatientSummary"
LIST_EVENTS = "/samhandling.audit.v1.AuditService/ListEvents"
GET_PATIENT_EVENT_PROOF = "/samhandling.audit.v1.AuditService/GetPatientEventProof"
LIST_PATIENT_ESCALATIONS = "/samhandling.summary.v1.EscalationService/ListPatientEscalations"

MAX_PAGES = 10  # a listing reads at most this many pages (rules: 50 in force at most, 50 a page)
HISTORY_PAGE_SIZE = 500
EVENTS_PAGE_SIZE = 25
MAX_REASON_CHARS = 500
DRAFT = "rule_draft"
_RULE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_ORGNR = re.compile(r"\d{9}")
_PAGE_TOKEN = re.compile(r"[A-Za-z0-9_=-]{1,200}")


def _patient(session: WebSession) -> str:
    return session.acting_for or session.person_pid


def _session(page: Page) -> WebSession:
    assert page.session is not None  # every route here has the patient console guard
    return page.session


def _texts(page: Page) -> Texts:
    return texts(page.lang)


async def _call(page: Page, rpc: str, request: Message) -> Any:
    return await page.web.caller.call(_session(page), rpc, request)


def _time(stamp: Timestamp) -> datetime | None:
    return stamp.ToDatetime(tzinfo=UTC) if stamp.seconds or stamp.nanos else None


def _common(page: Page, nav: str, title_key: str, **context: Any) -> dict[str, Any]:
    session = _session(page)
    return {
        "page_title": _texts(page).t(title_key),
        "nav_current": nav,
        "acting_for_name": session.data.get("acting_for_name", "") if session.acting_for else "",
        "name": session.person_name or session.person_pid,
        **context,
    }


# ----- Oversikt -----


async def overview(page: Page) -> Response:
    session, t = _session(page), _texts(page)
    summary = await _call(page, GET_SUMMARY, summary_pb2.GetPatientSummaryRequest(patient_id=_patient(session)))
    representations = await _call(page, LIST_REPRESENTATIONS, consent_pb2.ListRepresentationsRequest())
    rules_in_force = len(await _rules(page))
    unread = await _unread(page, await _notifications(page))
    services = [
        {
            "name": s.iplos_display or s.iplos_code,
            "level": s.service_level,
            "extent": s.weekly_extent,
            "start": _date_text(t, s.start_date),
            "provider": page.web.directory.organisation_name(s.provider_orgnr) if s.provider_orgnr else "",
            "paused": s.temporarily_ceased,
        }
        for s in summary.municipal_services
        if s.active
    ]
    withheld = [pl.label(t, "category", c) for c in summary.withheld_categories]
    in_force = [
        r
        for r in representations.representations  # "also": not the one acted for now
        if r.status == consent_pb2.REPRESENTATION_STATUS_IN_FORCE and r.patient_id != session.acting_for
    ]
    acting = next((r for r in representations.representations if r.patient_id == session.acting_for), None)
    return page.render(
        "patient/overview.html",
        **_common(
            page,
            "/pasient",
            "patient.overview.title",
            services=services,
            withheld=withheld,
            truncated=summary.municipal_services_truncated,
            news2=pl.news2_text(t, summary),
            represents=[r.patient_name for r in in_force],
            rules_in_force=rules_in_force,
            unread=unread,
            acting_name=(acting.patient_name if acting else "") if session.acting_for else "",
        ),
    )


def _date_text(t: Texts, value: Any) -> str:
    if not value.year:
        return ""
    return t.format_time(datetime(value.year, value.month, value.day, 12, tzinfo=OSLO), date_only=True)


# ----- Delingsregler -----


async def _all(page: Page, rpc: str, make: Any, field: str) -> list[Any]:
    found: list[Any] = []
    token = ""
    for _ in range(MAX_PAGES):
        answer = await _call(page, rpc, make(token))
        found.extend(getattr(answer, field))
        token = answer.next_page_token
        if not token:
            break
    return found


async def _rules(page: Page) -> list[consent_pb2.Rule]:
    patient = _patient(_session(page))
    return await _all(
        page, LIST_RULES, lambda token: consent_pb2.ListRulesRequest(patient_id=patient, page_token=token), "rules"
    )


async def _history(page: Page) -> list[consent_pb2.Rule]:
    patient = _patient(_session(page))
    return await _all(
        page,
        LIST_RULE_HISTORY,
        lambda token: consent_pb2.ListRuleHistoryRequest(
            patient_id=patient, page_size=HISTORY_PAGE_SIZE, page_token=token
        ),
        "versions",
    )


def _rule_view(page: Page, rule: consent_pb2.Rule) -> dict[str, Any]:
    t, directory = _texts(page), page.web.directory
    actor = rule.actor if rule.HasField("actor") else None
    start, end = _time(rule.valid_from), _time(rule.valid_until)
    return {
        "id": rule.rule_id,
        "version": rule.version,
        "kind": pl.label(t, "rule_type", rule.rule_type),
        "state": pl.label(t, "state", rule.state),
        "active": rule.state == consent_pb2.RULE_STATE_ACTIVE,
        "who": pl.selector_text(t, directory, actor) if actor is not None else t.t("patient.rule.everyone"),
        "what": pl.labels(t, "category", rule.data_categories, none_key="patient.rule.all_categories"),
        "why": pl.labels(t, "purpose", rule.purposes, none_key="patient.rule.all_purposes"),
        "created": t.format_time(c) if (c := _time(rule.create_time)) else "",
        "valid_from": t.format_time(start, date_only=True) if start else "",
        "valid_until": t.format_time(end, date_only=True) if end else "",
        "reason": rule.reason,
        "effect": pl.rule_effect(
            t, directory, rule.rule_type, list(rule.data_categories), list(rule.purposes), actor, start, end
        ),
    }


async def rules(page: Page) -> Response:
    found = await _rules(page)
    return page.render(
        "patient/rules.html",
        **_common(
            page,
            "/pasient/regler",
            "patient.rules.title",
            rules=[_rule_view(page, r) for r in found],
            kinds=list(pl.RULE_TYPES),
        ),
    )


def _kind(page: Page) -> str:
    kind = page.request.query_params.get("type", "")
    if kind not in pl.RULE_TYPES:
        raise Reason.RULE_KIND_NOT_FOUND.error("no such kind of rule")
    return kind


def _fields(kind: str) -> dict[str, bool]:
    """Which parts of the form a kind has (the consent service refuses the others)."""
    return {
        "person": kind in ("sperre", "tillatelse"),
        "categories": kind in ("begrensning", "tillatelse"),
        "purposes": kind == "tillatelse",
    }


async def new_rule(page: Page) -> Response:
    kind = _kind(page)
    draft = page.session.data.get(DRAFT) if page.session else None
    values: dict[str, Any] = dict(draft) if isinstance(draft, Mapping) and draft.get("kind") == kind else {}
    query = page.request.query_params.get("sok", "")
    return _form_page(page, kind, values, {}, query)


def _form_page(
    page: Page, kind: str, values: Mapping[str, Any], errors: Mapping[str, str], query: str, status: int = 200
) -> Response:
    t = _texts(page)
    fields = _fields(kind)
    results = (
        [
            {"hpr": p.hpr_number, "text": pl.person_text(t, page.web.directory, p.hpr_number)}
            for p in page.web.directory.search(query)
        ]
        if fields["person"] and query.strip()
        else []
    )
    chosen = values.get("hpr", "")
    if chosen and all(r["hpr"] != chosen for r in results):
        results.insert(0, {"hpr": chosen, "text": pl.person_text(t, page.web.directory, chosen)})
    return page.render(
        "patient/rule_form.html",
        status,
        **_common(
            page,
            "/pasient/regler",
            f"patient.new.title.{kind}",
            kind=kind,
            fields=fields,
            query=query,
            searched=bool(query.strip()),
            results=results,
            values=values,
            errors=errors,
            categories=[(c, pl.label(t, "category", c)) for c in pl.CATEGORIES],
            purposes=[(p, pl.label(t, "purpose", p)) for p in pl.PURPOSES],
        ),
    )


def _parse_date(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


def _read_draft(page: Page, kind: str) -> tuple[dict[str, Any], dict[str, str]]:
    form = page.form
    assert form is not None
    fields = _fields(kind)
    errors: dict[str, str] = {}
    draft: dict[str, Any] = {
        "kind": kind,
        "hpr": "",
        "categories": [],
        "purposes": [],
        "fra": form.get("fra", "").strip(),
        "til": form.get("til", "").strip(),
        "reason": form.get("reason", "").strip(),
    }
    if fields["person"]:
        draft["hpr"] = form.get("hpr", "")
        if page.web.directory.person(draft["hpr"]) is None:
            errors["hpr"] = "patient.error.person"
    if fields["categories"]:
        draft["categories"] = _enum_values(form.getlist("kategori"), pl.CATEGORIES, errors, "kategori")
    if fields["purposes"]:
        draft["purposes"] = _enum_values(form.getlist("formal"), pl.PURPOSES, errors, "formal")
    dates: dict[str, date | None] = {}
    for name in ("fra", "til"):
        try:
            dates[name] = _parse_date(draft[name])
        except ValueError:
            errors[name] = "patient.error.date"
    if dates.get("fra") and dates.get("til") and dates["til"] <= dates["fra"]:  # type: ignore[operator]
        errors["til"] = "patient.error.date_order"
    if len(draft["reason"]) > MAX_REASON_CHARS:
        errors["reason"] = "patient.error.reason"
    return draft, errors


def _enum_values(raw: list[str], allowed: tuple[int, ...], errors: dict[str, str], name: str) -> list[int]:
    values = []
    for text in raw:
        if not text.isdigit() or int(text) not in allowed:
            errors[name] = "patient.error.choice"
            return []
        values.append(int(text))
    return sorted(set(values))


async def submit_rule(page: Page) -> Response:
    kind = _kind(page)
    draft, errors = _read_draft(page, kind)
    if errors:
        return _form_page(page, kind, draft, errors, page.form.get("sok", "") if page.form else "", status=400)
    session = _session(page)
    await page.web.sessions.update(session, data={**session.data, DRAFT: draft})
    return page.redirect("/pasient/regler/bekreft")


def _draft(page: Page) -> dict[str, Any]:
    draft = _session(page).data.get(DRAFT)
    if not isinstance(draft, Mapping) or draft.get("kind") not in pl.RULE_TYPES:
        raise Reason.RULE_DRAFT_NOT_FOUND.error("there is no rule waiting to be confirmed")
    return dict(draft)


def _oslo_midnight(text: str) -> datetime | None:
    day = _parse_date(text)
    return datetime.combine(day, time(0), tzinfo=OSLO) if day else None


def _create_request(page: Page, draft: Mapping[str, Any]) -> consent_pb2.CreateRuleRequest:
    request = consent_pb2.CreateRuleRequest(
        patient_id=_patient(_session(page)),
        rule_type=pl.RULE_TYPES[draft["kind"]],
        data_categories=draft["categories"],
        purposes=draft["purposes"],
        reason=draft["reason"],
    )
    if draft["hpr"]:
        request.actor.hpr_number = draft["hpr"]
    for name, field in (("fra", request.valid_from), ("til", request.valid_until)):
        moment = _oslo_midnight(draft[name])
        if moment is not None:
            field.FromDatetime(moment.astimezone(UTC))
    return request


def _confirm_page(
    page: Page, draft: Mapping[str, Any], errors: Mapping[str, str], status: int = 200, problem: str = ""
) -> Response:
    t = _texts(page)
    request = _create_request(page, draft)
    effect = pl.rule_effect(
        t,
        page.web.directory,
        request.rule_type,
        list(request.data_categories),
        list(request.purposes),
        request.actor if draft["hpr"] else None,
        _oslo_midnight(draft["fra"]),
        _oslo_midnight(draft["til"]),
    )
    return page.render(
        "patient/rule_confirm.html",
        status,
        **_common(
            page,
            "/pasient/regler",
            "patient.confirm.title",
            kind=draft["kind"],
            effect=effect,
            reservation=draft["kind"] == "reservasjon",
            errors=errors,
            problem=problem,
        ),
    )


async def confirm_form(page: Page) -> Response:
    return _confirm_page(page, _draft(page), {})


async def confirm(page: Page) -> Response:
    draft = _draft(page)
    form = page.form
    assert form is not None
    if form.get("avbryt"):
        session = _session(page)
        await page.web.sessions.update(session, data={k: v for k, v in session.data.items() if k != DRAFT})
        return page.redirect("/pasient/regler")
    if draft["kind"] == "reservasjon" and form.get("forstar") != "ja":
        return _confirm_page(page, draft, {"forstar": "patient.error.understand"}, status=400)
    # The draft is spent before the call, so a second click on "Bekreft" finds none and
    # makes no second rule; a refusal the patient can correct puts it back.
    # Taking it is one compare-and-set in the database, so of two simultaneous posts one
    # gets the draft and the other a RULE_DRAFT_NOT_FOUND.
    session = _session(page)
    if await page.web.sessions.take(session, DRAFT) is None:
        raise Reason.RULE_DRAFT_NOT_FOUND.error("there is no rule waiting to be confirmed")
    spent = dataclasses.replace(session, data={k: v for k, v in session.data.items() if k != DRAFT})
    try:
        answer = await _call(page, CREATE_RULE, _create_request(page, draft))
    except ServiceError as err:
        not_about_the_rule = err.code not in (StatusCode.INVALID_ARGUMENT, StatusCode.FAILED_PRECONDITION)
        if err.reason == Reason.CONSENT_DENIED or not_about_the_rule:
            raise
        await page.web.sessions.update(spent, data={**spent.data, DRAFT: draft})
        return _confirm_page(page, draft, {}, status=400, problem=_problem_text(page, err))
    return page.redirect(f"/pasient/regler/{answer.rule.rule_id}?ny=1")


def _problem_text(page: Page, err: ServiceError) -> str:
    t = _texts(page)
    key = f"error.reason_text.{err.reason}"
    return t.t(key) if t.has(key) else t.t(f"error.code.{err.code.name}")


def _rule_id(page: Page) -> str:
    rule_id = str(page.request.path_params["rule_id"])
    if not _RULE_ID.fullmatch(rule_id):
        raise Reason.RULE_NOT_FOUND.error("no such rule")
    return rule_id


async def _versions(page: Page, rule_id: str) -> list[consent_pb2.Rule]:
    versions = [v for v in await _history(page) if v.rule_id == rule_id]
    if not versions:
        raise Reason.RULE_NOT_FOUND.error("no such rule")
    return versions


async def rule_page(page: Page) -> Response:
    from .receipts import check_receipt

    rule_id = _rule_id(page)
    versions = await _versions(page, rule_id)
    jwks = await page.web.receipt_keys.jwks()
    shown = []
    for version in reversed(versions):
        view = _rule_view(page, version)
        view["receipt"] = check_receipt(version, jwks)
        shown.append(view)
    return page.render(
        "patient/rule.html",
        **_common(
            page,
            "/pasient/regler",
            "patient.rule.title",
            versions=shown,
            current=shown[0],
            created=page.request.query_params.get("ny") == "1",
        ),
    )


async def receipt_download(page: Page) -> Response:
    rule_id = _rule_id(page)
    version = int(page.request.path_params["version"])
    for rule in await _versions(page, rule_id):
        if rule.version == version and rule.receipt:
            return page.download(
                rule.receipt.encode("ascii"), "application/jose", f"kvittering-{rule_id}-v{version}.jws"
            )
    raise Reason.RECEIPT_NOT_FOUND.error("no such receipt")


async def revoke_form(page: Page) -> Response:
    rule_id = _rule_id(page)
    current = (await _versions(page, rule_id))[-1]
    return page.render(
        "patient/rule_revoke.html",
        **_common(page, "/pasient/regler", "patient.revoke.title", rule=_rule_view(page, current)),
    )


async def revoke(page: Page) -> Response:
    rule_id = _rule_id(page)
    form = page.form
    assert form is not None
    reason = form.get("reason", "").strip()
    if len(reason) > MAX_REASON_CHARS:
        raise invalid_argument({"reason": f"at most {MAX_REASON_CHARS} characters"})
    await _call(
        page,
        REVOKE_RULE,
        consent_pb2.RevokeRuleRequest(patient_id=_patient(_session(page)), rule_id=rule_id, reason=reason),
    )
    return page.redirect(f"/pasient/regler/{rule_id}")


async def history(page: Page) -> Response:
    versions = [_rule_view(page, v) for v in reversed(await _history(page))]
    return page.render(
        "patient/history.html", **_common(page, "/pasient/regler", "patient.history.title", versions=versions)
    )


# ----- Logg over bruk -----


def _log_filters(page: Page) -> tuple[dict[str, str], dict[str, str]]:
    query = page.request.query_params
    chosen = {name: query.get(name, "").strip() for name in ("fra", "til", "org", "nod", "meg", "side")}
    errors: dict[str, str] = {}
    for name in ("fra", "til"):
        try:
            _parse_date(chosen[name])
        except ValueError:
            errors[name] = "patient.error.date"
            chosen[name] = ""
    if chosen["org"] and not _ORGNR.fullmatch(chosen["org"]):
        errors["org"] = "patient.error.choice"
        chosen["org"] = ""
    if chosen["side"] and not _PAGE_TOKEN.fullmatch(chosen["side"]):
        chosen["side"] = ""
    return chosen, errors


def _actor_view(page: Page, actor: Any, basis: int = 0) -> dict[str, str]:
    t, directory = _texts(page), page.web.directory
    session = _session(page)
    if actor.kind == pl.C.ACTOR_KIND_PATIENT:
        # A patient reader's log shows no person numbers: a person acting for the patient is
        # known by the basis REPRESENTATIVE, any other person is the patient.
        if basis == pl.C.ACCESS_BASIS_REPRESENTATIVE:
            return {
                "name": actor.name or t.t("patient.log.representative"),
                "role": t.t("patient.log.guardian"),
                "org": "",
            }
        return {
            "name": t.t("patient.log.patient_self" if session.acting_for else "patient.log.you"),
            "role": "",
            "org": "",
        }
    if actor.kind == pl.C.ACTOR_KIND_SYSTEM:
        return {
            "name": actor.client_name or actor.client_id,
            "role": t.t("patient.kind.SYSTEM"),
            "org": directory.organisation_name(actor.orgnr_child or actor.orgnr_parent)
            if (actor.orgnr_child or actor.orgnr_parent)
            else "",
        }
    person = directory.person(actor.hpr_number) if actor.hpr_number else None
    name = (
        actor.name
        or (person.name if person else "")
        or (
            t.t("patient.person.unknown", hpr=actor.hpr_number) if actor.hpr_number else pl.label(t, "kind", actor.kind)
        )
    )
    role = (
        pl.authorization_label(t, actor.authorization or (person.authorization if person else ""))
        if (actor.authorization or person)
        else pl.label(t, "kind", actor.kind)
    )
    org = actor.orgnr_child or actor.orgnr_parent
    return {"name": name, "role": role, "org": directory.organisation_name(org) if org else ""}


def _event_view(page: Page, event: audit_pb2.AuditEvent) -> dict[str, Any]:
    """A log entry as the patient reads it (in the log's table and on its proof page)."""
    t = _texts(page)
    moment = _time(event.occur_time)
    # A patient's (or guardian's) own reading states no purpose of use: its basis says what it was.
    own_reading = event.actor.kind == pl.C.ACTOR_KIND_PATIENT and not event.purpose_of_use
    return {
        "when": t.format_time(moment) if moment else "",
        "actor": _actor_view(page, event.actor, event.access_basis),
        "what": pl.label(t, "category", event.data_category),
        "action": pl.label(t, "action", event.action),
        "purpose": "" if own_reading else pl.label(t, "purpose", event.purpose_of_use),
        "basis": pl.label(t, "basis", event.access_basis),
        "permitted": event.decision == pl.C.DECISION_PERMIT,
        "emergency": pl.is_emergency(event),
        "sequence": event.sequence,
    }


async def log(page: Page) -> Response:
    chosen, errors = _log_filters(page)
    request = audit_pb2.ListEventsRequest(
        patient_id=_patient(_session(page)),
        page_size=EVENTS_PAGE_SIZE,
        page_token=chosen["side"],
        actor_orgnr=chosen["org"],
        flagged_only=chosen["nod"] == "1",
        exclude_patient_actors=chosen["meg"] != "1",
    )
    start, end = _oslo_midnight(chosen["fra"]), _oslo_midnight(chosen["til"])
    if start:
        request.start_time.FromDatetime(start.astimezone(UTC))
    if end:
        request.end_time.FromDatetime((end + timedelta(days=1)).astimezone(UTC))
    answer = await _call(page, LIST_EVENTS, request)
    events = [_event_view(page, event) for event in answer.events]
    filters = {k: v for k, v in chosen.items() if k != "side" and v}
    from urllib.parse import urlencode

    next_url = (
        f"/pasient/logg?{urlencode(filters | {'side': answer.next_page_token})}" if answer.next_page_token else ""
    )
    first_url = f"/pasient/logg?{urlencode(filters)}" if chosen["side"] else ""
    organisations = sorted(page.web.directory.organisations.values(), key=lambda o: o.name)
    return page.render(
        "patient/log.html",
        **_common(
            page,
            "/pasient/logg",
            "patient.log.title",
            events=events,
            chosen=chosen,
            errors=errors,
            organisations=organisations,
            next_url=next_url,
            first_url=first_url,
        ),
    )


# ----- A log entry's proof -----


def _log_sequence(page: Page) -> int:
    sequence = int(page.request.path_params["sequence"])
    if not 1 <= sequence < 2**63:
        raise Reason.EVENT_NOT_FOUND.error("no such log entry")
    return sequence


async def _entry_proof(page: Page, sequence: int) -> str:
    answer = await _call(
        page,
        GET_PATIENT_EVENT_PROOF,
        audit_pb2.GetPatientEventProofRequest(patient_id=_patient(_session(page)), sequence=sequence),
    )
    assert isinstance(answer, audit_pb2.GetPatientEventProofResponse)
    return answer.proof


async def log_entry(page: Page) -> Response:
    """One log entry read from its proof, verified with the pinned verifier key exactly as
    `samhandling audit check-proof` verifies the downloaded file; the actor's person number and
    the justification are in it only as commitments, and shown as such."""
    sequence = _log_sequence(page)
    context = _common(
        page,
        "/pasient/logg",
        "patient.proof.title",
        sequence=sequence,
        vkey=page.web.audit_vkey,
        state="verified",
        event=None,
        failure="",
    )
    try:
        proof = await _entry_proof(page, sequence)
    except ServiceError as err:
        # Not yet signed into a checkpoint (about a second), or not in this patient's log.
        if err.reason == Reason.EVENT_NOT_FOUND:
            return page.render("patient/log_entry.html", status=404, **context | {"state": "pending"})
        if err.reason == Reason.EVENT_PROOF_NOT_PRIVATE:
            return page.render("patient/log_entry.html", status=409, **context | {"state": "not_private"})
        raise
    if page.web.audit_vkey is None:  # compose pins one; a page without it proves nothing
        raise Reason.WEB_AUDIT_VKEY_MISSING.error("no pinned verifier key for the audit log")
    try:
        proven = logcheck.read_event_proof(proof, page.web.audit_vkey)
    except logcheck.LogCheckFailed as exc:
        return page.render("patient/log_entry.html", status=502, **context | {"state": "failed", "failure": str(exc)})
    return page.render(
        "patient/log_entry.html",
        **context
        | {
            "event": _event_view(page, _proven_event(proven)),
            "tree_size": proven.tree_size,
            "committed": [name for name in proven.committed if name not in proven.opened],
        },
    )


def _proven_event(proven: logcheck.ProvenEvent) -> audit_pb2.AuditEvent:
    """The leaf's members as the AuditEvent ListEvents gives a patient (enums by their names)."""
    m = proven.members

    def number(enum: Any, prefix: str, name: object) -> Any:
        return enum.Value(prefix + name) if isinstance(name, str) and prefix + name in enum.keys() else 0

    event = audit_pb2.AuditEvent(
        sequence=proven.sequence,
        patient_id=str(m.get("patient_id") or ""),
        flagged=m.get("flagged") is True,
        action=number(audit_pb2.Action, "ACTION_", m.get("action")),
        data_category=number(common_pb2.DataCategory, "DATA_CATEGORY_", m.get("data_category")),
        purpose_of_use=number(common_pb2.PurposeOfUse, "PURPOSE_OF_USE_", m.get("purpose_of_use")),
        access_basis=number(common_pb2.AccessBasis, "ACCESS_BASIS_", m.get("access_basis")),
        decision=number(common_pb2.Decision, "DECISION_", m.get("decision")),
        actor=common_pb2.Actor(
            kind=number(common_pb2.ActorKind, "ACTOR_KIND_", m.get("actor_kind")),
            **{
                name: str(m.get("actor_" + name) or "")
                for name in (
                    "client_id",
                    "client_name",
                    "name",
                    "hpr_number",
                    "authorization",
                    "orgnr_parent",
                    "orgnr_child",
                )
            },
        ),
    )
    if proven.occurred_at is not None:
        event.occur_time.FromDatetime(proven.occurred_at.astimezone(UTC))
    return event


async def log_entry_download(page: Page) -> Response:
    sequence = _log_sequence(page)
    proof = await _entry_proof(page, sequence)
    return page.download(proof.encode("utf-8"), "text/plain; charset=utf-8", f"hendelse-{sequence}.proof")


# ----- Varsler -----

NOTIFICATIONS_PAGE_SIZE = 50


def _read_mark(session: WebSession) -> str:
    """The web mark holding until when this patient's notifications are read (per patient acted
    for, by the representation's id, so no person number is a mark's name)."""
    return "notifications_read:" + (session.representation_id or "self")


def _stamp(stamp: Timestamp) -> str:
    return stamp.ToDatetime(tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def _notifications(page: Page, token: str = "") -> consent_pb2.ListNotificationsResponse:
    return await _call(
        page,
        LIST_NOTIFICATIONS,
        consent_pb2.ListNotificationsRequest(
            patient_id=_patient(_session(page)), page_size=NOTIFICATIONS_PAGE_SIZE, page_token=token
        ),
    )


async def _unread(page: Page, answer: consent_pb2.ListNotificationsResponse) -> int:
    read_until = await page.web.sessions.mark(_session(page), _read_mark(_session(page))) or ""
    return sum(1 for n in answer.notifications if _stamp(n.create_time) > read_until)


async def notifications(page: Page) -> Response:
    t = _texts(page)
    token = page.request.query_params.get("side", "")
    if token and not _PAGE_TOKEN.fullmatch(token):
        token = ""
    answer = await _notifications(page, token)
    read_until = await page.web.sessions.mark(_session(page), _read_mark(_session(page))) or ""
    shown = []
    for n in answer.notifications:
        moment = _time(n.create_time)
        kind = pl.enum_word("notification", n.kind)
        if n.actor.kind == pl.C.ACTOR_KIND_PATIENT:  # the patient or a representative changed a rule
            actor = {"name": "", "role": "", "org": ""}
            mine = n.actor.pid == _session(page).person_pid
            text = t.t(
                "patient.notifications.by_you" if mine else "patient.notifications.by_representative",
                what=t.t(f"patient.notifications.what.{kind}"),
            )
        else:
            actor = _actor_view(page, n.actor) if n.HasField("actor") else {"name": "", "role": "", "org": ""}
            text = t.t(f"patient.notifications.text.{kind}", who=actor["name"] or t.t("patient.notifications.someone"))
        shown.append(
            {
                "kind": pl.label(t, "notification", n.kind),
                "when": t.format_time(moment) if moment else "",
                "text": text,
                "actor": actor,
                "unread": _stamp(n.create_time) > read_until,
                "emergency": n.kind == consent_pb2.NOTIFICATION_KIND_EMERGENCY_ACCESS,
            }
        )
    next_url = f"/pasient/varsler?side={answer.next_page_token}" if answer.next_page_token else ""
    return page.render(
        "patient/notifications.html",
        **_common(
            page,
            "/pasient/varsler",
            "patient.notifications.title",
            notifications=shown,
            unread=sum(1 for n in shown if n["unread"]),
            next_url=next_url,
            first_url="/pasient/varsler" if token else "",
        ),
    )


async def mark_read(page: Page) -> Response:
    answer = await _notifications(page)
    if answer.notifications:
        newest = max(_stamp(n.create_time) for n in answer.notifications)
        await page.web.sessions.set_mark(_session(page), _read_mark(_session(page)), newest)
    return page.redirect("/pasient/varsler")


# ----- Varsler om forverring (issue 17: the patient's own escalations) -----

ESCALATIONS_PAGE_SIZE = 20  # the contract allows 1-50 a page; each card lists up to 8 targets


def _when(t: Texts, stamp: Timestamp) -> str:
    moment = _time(stamp)
    return t.format_time(moment) if moment else ""


def _escalation_view(page: Page, e: esc.Escalation) -> dict[str, Any]:
    """One escalation as the patient reads it: the level and state in words, who was told and
    when, who took charge (name and organisation) and how it ended. No measurements (the answer
    has none); who opened the patient's data is the access log's, with the basis."""
    t, directory = _texts(page), page.web.directory
    told = [
        {
            "text": t.t(
                "patient.escalations.told_item",
                name=target.name or directory.organisation_name(target.orgnr),
                kind=pl.label(t, "escalation_target", target.kind),
                role=pl.label(t, "escalation_role", target.role),
                when=_when(t, target.add_time),
            ),
            "again": t.t("patient.escalations.told_again", when=_when(t, target.last_notice_time))
            if target.last_notice_time != target.add_time and _time(target.last_notice_time)
            else "",
            "declined": target.declined,
        }
        for target in e.targets
    ]
    acknowledged = [
        t.t(
            "patient.escalations.acknowledged_by",
            name=event.person.name or t.t("patient.escalations.someone"),
            org=directory.organisation_name(event.orgnr) if event.orgnr else "",
            when=_when(t, event.event_time),
        )
        for event in e.events
        if event.kind == esc.ESCALATION_EVENT_KIND_ACKNOWLEDGED
    ]
    resolved = next((ev for ev in reversed(e.events) if ev.kind == esc.ESCALATION_EVENT_KIND_RESOLVED), None)
    ended = ""
    if e.state == esc.ESCALATION_STATE_RESOLVED:
        outcome = pl.label(t, "escalation_outcome", e.outcome)
        ended = (
            t.t("patient.escalations.ended_at", outcome=outcome, when=_when(t, resolved.event_time))
            if resolved
            else outcome
        )
    return {
        "id": e.escalation_id,
        "level": pl.label(t, "escalation_level", e.level),
        "state": pl.label(t, "escalation_state", e.state),
        "opened": t.t("patient.escalations.opened", when=_when(t, e.open_time)),
        "told": told,
        "acknowledged": acknowledged,
        "ended": ended,
        "undeliverable": e.undeliverable,
        "exhausted": e.chain_exhausted,
    }


async def escalations(page: Page) -> Response:
    token = page.request.query_params.get("side", "")
    if token and not _PAGE_TOKEN.fullmatch(token):
        token = ""
    answer = await _call(
        page,
        LIST_PATIENT_ESCALATIONS,
        esc.ListPatientEscalationsRequest(
            patient_id=_patient(_session(page)), page_size=ESCALATIONS_PAGE_SIZE, page_token=token
        ),
    )
    return page.render(
        "patient/escalations.html",
        **_common(
            page,
            "/pasient/forverring",
            "patient.escalations.title",
            escalations=[_escalation_view(page, e) for e in answer.escalations],
            next_url=f"/pasient/forverring?side={answer.next_page_token}" if answer.next_page_token else "",
            first_url="/pasient/forverring" if token else "",
        ),
    )


# ----- Representasjon -----


async def representation(page: Page) -> Response:
    return await _representation_page(page, "", 200)


async def _representation_page(page: Page, refusal: str, status: int) -> Response:
    t, session = _texts(page), _session(page)
    answer = await _call(page, LIST_REPRESENTATIONS, consent_pb2.ListRepresentationsRequest())
    shown = []
    for r in answer.representations:
        start, end = _time(r.valid_from), _time(r.valid_until)
        status_word = pl.enum_word("representation", r.status)
        shown.append(
            {
                "id": r.representation_id,
                "name": r.patient_name or t.t("patient.representation.unnamed"),
                "status": pl.label(t, "representation", r.status),
                "status_word": status_word.lower(),
                "explain": t.t(f"patient.representation.explain.{status_word}", name=r.patient_name),
                "may_switch": r.status == consent_pb2.REPRESENTATION_STATUS_IN_FORCE,
                "current": r.representation_id == session.representation_id,
                "valid": t.t(
                    "patient.representation.valid",
                    start=t.format_time(start, date_only=True) if start else "–",
                    end=t.format_time(end, date_only=True) if end else "–",
                ),
            }
        )
    return page.render(
        "patient/representation.html",
        status,
        **_common(
            page,
            "/pasient/representasjon",
            "patient.representation.title",
            representations=shown,
            refusal=refusal,
            acting=bool(session.acting_for),
        ),
    )


async def switch(page: Page) -> Response:
    """Acts for the chosen child (or for oneself again, `meg`). Consent decides: a probe read
    of the child's rules, as the guardian on the child's behalf, must be permitted first; if
    it is refused, the session stays as it was and the page says why."""
    form, session, t = page.form, _session(page), _texts(page)
    assert form is not None
    chosen = form.get("representasjon", "")
    data = {k: v for k, v in session.data.items() if k != "acting_for_name"}
    if chosen == "meg":
        await page.web.sessions.update(session, acting_for=None, representation_id=None, data=data)
        return page.redirect("/pasient")
    answer = await _call(page, LIST_REPRESENTATIONS, consent_pb2.ListRepresentationsRequest())
    found = next((r for r in answer.representations if r.representation_id == chosen), None)
    if found is None:
        return await _representation_page(page, t.t("patient.representation.refused_unknown"), 403)
    probe = dataclasses.replace(session, acting_for=found.patient_id, representation_id=found.representation_id)
    try:
        await page.web.caller.call(
            probe, LIST_RULES, consent_pb2.ListRulesRequest(patient_id=found.patient_id, page_size=1)
        )
    except ServiceError as err:
        if err.code.name != "PERMISSION_DENIED":
            raise
        word = pl.enum_word("representation", found.status)
        return await _representation_page(
            page, t.t(f"patient.representation.refused.{word}", name=found.patient_name), 403
        )
    await page.web.sessions.update(
        session,
        acting_for=found.patient_id,
        representation_id=found.representation_id,
        data=data | {"acting_for_name": found.patient_name},
    )
    return page.redirect("/pasient")


def routes() -> list[WebRoute]:
    return [
        WebRoute("/pasient", {"GET": overview}, "patient"),
        WebRoute("/pasient/regler", {"GET": rules}, "patient"),
        WebRoute("/pasient/regler/ny", {"GET": new_rule, "POST": submit_rule}, "patient"),
        WebRoute("/pasient/regler/bekreft", {"GET": confirm_form, "POST": confirm}, "patient"),
        WebRoute("/pasient/regler/historikk", {"GET": history}, "patient"),
        WebRoute("/pasient/regler/{rule_id}", {"GET": rule_page}, "patient"),
        WebRoute("/pasient/regler/{rule_id}/v{version:int}/kvittering.jws", {"GET": receipt_download}, "patient"),
        WebRoute("/pasient/regler/{rule_id}/trekk-tilbake", {"GET": revoke_form, "POST": revoke}, "patient"),
        WebRoute("/pasient/logg", {"GET": log}, "patient"),
        WebRoute("/pasient/logg/{sequence:int}", {"GET": log_entry}, "patient"),
        WebRoute("/pasient/logg/{sequence:int}/bevis", {"GET": log_entry_download}, "patient"),
        WebRoute("/pasient/varsler", {"GET": notifications}, "patient"),
        WebRoute("/pasient/varsler/lest", {"POST": mark_read}, "patient"),
        WebRoute("/pasient/forverring", {"GET": escalations}, "patient"),
        WebRoute("/pasient/representasjon", {"GET": representation, "POST": switch}, "patient"),
    ]
