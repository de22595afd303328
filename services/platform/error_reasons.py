"""The catalogue of error reasons: every UPPER_SNAKE reason a process of the suite raises, once,
with its gRPC status code, what it means, and the HTTP status of the gateway's JSON API where
that is more precise than the code's.

A reason is raised only through its entry (`Reason.TOKEN_EXPIRED.error("...")`), so it always
travels with its catalogued code; `tests/unit/test_error_catalogue.py` keeps string literals
out of the raise sites, checks every entry is raised somewhere, and that `docs/errors.md` is
what this module renders:

    .venv/bin/python -m services.platform.error_docs > docs/errors.md

A reason received from another service (`errors.RelayedError`) is passed on as it came and
need not be one of these.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TYPE_CHECKING

import grpc

if TYPE_CHECKING:
    from services.platform.errors import ServiceError

S = grpc.StatusCode

# google/rpc/code.proto names the HTTP status of every code; the JSON API answers with it.
HTTP_STATUS: Mapping[grpc.StatusCode, int] = {
    S.OK: 200,
    S.CANCELLED: 499,
    S.UNKNOWN: 500,
    S.INVALID_ARGUMENT: 400,
    S.DEADLINE_EXCEEDED: 504,
    S.NOT_FOUND: 404,
    S.ALREADY_EXISTS: 409,
    S.PERMISSION_DENIED: 403,
    S.RESOURCE_EXHAUSTED: 429,
    S.FAILED_PRECONDITION: 400,
    S.ABORTED: 409,
    S.OUT_OF_RANGE: 400,
    S.UNIMPLEMENTED: 501,
    S.INTERNAL: 500,
    S.UNAVAILABLE: 503,
    S.DATA_LOSS: 500,
    S.UNAUTHENTICATED: 401,
}


def _entry(
    code: grpc.StatusCode, *, reason: str, meaning: str, http_status: int | None = None
) -> tuple[str, grpc.StatusCode, str, int | None]:
    return reason, code, meaning, http_status


class Reason(StrEnum):
    """An error reason; its value is the reason on the wire (ErrorInfo.reason)."""

    _value_: str
    code: grpc.StatusCode
    meaning: str
    special_http_status: int | None

    def __new__(cls, reason: str, code: grpc.StatusCode, meaning: str, http_status: int | None) -> Reason:
        member = str.__new__(cls, reason)
        member._value_ = reason
        member.code = code
        member.meaning = meaning
        member.special_http_status = http_status
        return member

    @property
    def http_status(self) -> int:
        """The JSON API's HTTP status for this reason."""
        return self.special_http_status or HTTP_STATUS[self.code]

    def error(
        self, message: str, field_violations: dict[str, str] | None = None, metadata: dict[str, str] | None = None
    ) -> ServiceError:
        """The error to raise: this reason with its catalogued code."""
        from services.platform.errors import ServiceError  # errors.py imports this module

        return ServiceError(self.code, self.value, message, field_violations or {}, metadata or {})

    # UNAUTHENTICATED: the access token
    TOKEN_MISSING = _entry(S.UNAUTHENTICATED, reason="TOKEN_MISSING", meaning="no access token was sent")
    TOKEN_MALFORMED = _entry(
        S.UNAUTHENTICATED,
        reason="TOKEN_MALFORMED",
        meaning="the authorization value or the token is not a well-formed compact JWT with the claims required",
    )
    TOKEN_TOO_LARGE = _entry(
        S.UNAUTHENTICATED, reason="TOKEN_TOO_LARGE", meaning="the access token exceeds its size bound"
    )
    TOKEN_ALGORITHM_NOT_ALLOWED = _entry(
        S.UNAUTHENTICATED,
        reason="TOKEN_ALGORITHM_NOT_ALLOWED",
        meaning="the token's signature algorithm is not allowed or does not fit the issuer's key",
    )
    TOKEN_TYPE_INVALID = _entry(
        S.UNAUTHENTICATED, reason="TOKEN_TYPE_INVALID", meaning="the token's typ is not at+jwt or JWT"
    )
    TOKEN_KEY_UNKNOWN = _entry(
        S.UNAUTHENTICATED,
        reason="TOKEN_KEY_UNKNOWN",
        meaning="the token is signed with a key the issuer does not publish",
    )
    TOKEN_SIGNATURE_INVALID = _entry(
        S.UNAUTHENTICATED, reason="TOKEN_SIGNATURE_INVALID", meaning="the token's signature does not verify"
    )
    ISSUER_MISMATCH = _entry(
        S.UNAUTHENTICATED, reason="ISSUER_MISMATCH", meaning="the token was issued by another issuer"
    )
    AUDIENCE_MISMATCH = _entry(
        S.UNAUTHENTICATED, reason="AUDIENCE_MISMATCH", meaning="the token's audience is not exactly this API"
    )
    TOKEN_EXPIRED = _entry(
        S.UNAUTHENTICATED,
        reason="TOKEN_EXPIRED",
        meaning="the access token has expired (a stream open past it ends with this too; resume with a fresh token)",
    )
    TOKEN_NOT_YET_VALID = _entry(
        S.UNAUTHENTICATED, reason="TOKEN_NOT_YET_VALID", meaning="the access token is not valid yet"
    )
    TOKEN_LIFETIME_TOO_LONG = _entry(
        S.UNAUTHENTICATED, reason="TOKEN_LIFETIME_TOO_LONG", meaning="the access token lives longer than allowed"
    )
    TOKEN_CLAIM_INVALID = _entry(
        S.UNAUTHENTICATED, reason="TOKEN_CLAIM_INVALID", meaning="one of the token's claims is malformed"
    )
    PID_MISSING = _entry(
        S.UNAUTHENTICATED, reason="PID_MISSING", meaning="a token for a person carries no person number (pid)"
    )
    SECURITY_LEVEL_INSUFFICIENT = _entry(
        S.UNAUTHENTICATED,
        reason="SECURITY_LEVEL_INSUFFICIENT",
        meaning="the person was not authenticated at the required security level",
    )
    # UNAUTHENTICATED: DPoP (RFC 9449)
    DPOP_REQUIRED = _entry(S.UNAUTHENTICATED, reason="DPOP_REQUIRED", meaning="this client must use DPoP-bound tokens")
    DPOP_BOUND_TOKEN_AS_BEARER = _entry(
        S.UNAUTHENTICATED,
        reason="DPOP_BOUND_TOKEN_AS_BEARER",
        meaning="a DPoP-bound token was sent with the Bearer scheme",
    )
    DPOP_TOKEN_NOT_BOUND = _entry(
        S.UNAUTHENTICATED,
        reason="DPOP_TOKEN_NOT_BOUND",
        meaning="the DPoP scheme was used with a token not bound to a key (no cnf.jkt)",
    )
    DPOP_PROOF_MISSING = _entry(
        S.UNAUTHENTICATED, reason="DPOP_PROOF_MISSING", meaning="a DPoP-bound token came without a proof"
    )
    DPOP_PROOF_INVALID = _entry(
        S.UNAUTHENTICATED,
        reason="DPOP_PROOF_INVALID",
        meaning="the DPoP proof is not one well-formed dpop+jwt with an allowed algorithm, a public key and a jti",
    )
    DPOP_KEY_PRIVATE = _entry(
        S.UNAUTHENTICATED, reason="DPOP_KEY_PRIVATE", meaning="the DPoP proof's jwk carries private key material"
    )
    DPOP_SIGNATURE_INVALID = _entry(
        S.UNAUTHENTICATED, reason="DPOP_SIGNATURE_INVALID", meaning="the DPoP proof's signature does not verify"
    )
    DPOP_KEY_MISMATCH = _entry(
        S.UNAUTHENTICATED,
        reason="DPOP_KEY_MISMATCH",
        meaning="the DPoP proof is signed by another key than the token is bound to",
    )
    DPOP_HTM_MISMATCH = _entry(
        S.UNAUTHENTICATED, reason="DPOP_HTM_MISMATCH", meaning="the DPoP proof's htm is not this request's method"
    )
    DPOP_HTU_MISMATCH = _entry(
        S.UNAUTHENTICATED, reason="DPOP_HTU_MISMATCH", meaning="the DPoP proof's htu does not name this target"
    )
    DPOP_IAT_OUT_OF_WINDOW = _entry(
        S.UNAUTHENTICATED, reason="DPOP_IAT_OUT_OF_WINDOW", meaning="the DPoP proof is too old or from the future"
    )
    DPOP_ATH_MISMATCH = _entry(
        S.UNAUTHENTICATED, reason="DPOP_ATH_MISMATCH", meaning="the DPoP proof is not for this access token (ath)"
    )
    DPOP_REPLAYED = _entry(S.UNAUTHENTICATED, reason="DPOP_REPLAYED", meaning="the DPoP proof was already used")
    DPOP_NONCE_REQUIRED = _entry(
        S.UNAUTHENTICATED,
        reason="DPOP_NONCE_REQUIRED",
        meaning="the DPoP proof lacks the server's current nonce (only the STS's token endpoint, which sets DPoP "
        "nonces; it answers the OAuth error use_dpop_nonce)",
    )
    # UNAUTHENTICATED: the gateway's internal assertion, checked by every backend
    ASSERTION_MISSING = _entry(
        S.UNAUTHENTICATED, reason="ASSERTION_MISSING", meaning="a backend was called other than through the gateway"
    )
    ASSERTION_INVALID = _entry(
        S.UNAUTHENTICATED, reason="ASSERTION_INVALID", meaning="the gateway's internal assertion does not verify"
    )
    ASSERTION_RETARGETED = _entry(
        S.UNAUTHENTICATED, reason="ASSERTION_RETARGETED", meaning="the internal assertion was issued for another method"
    )
    ASSERTION_REQUEST_MISMATCH = _entry(
        S.UNAUTHENTICATED,
        reason="ASSERTION_REQUEST_MISMATCH",
        meaning="the internal assertion was issued for another request",
    )
    ASSERTION_REPLAYED = _entry(
        S.UNAUTHENTICATED, reason="ASSERTION_REPLAYED", meaning="the internal assertion was already used"
    )
    # UNAUTHENTICATED: the web pages
    WEB_LOGIN_FAILED = _entry(
        S.UNAUTHENTICATED, reason="WEB_LOGIN_FAILED", meaning="a web login failed (any failure of its redemption)"
    )
    WEB_SESSION_ENDED = _entry(
        S.UNAUTHENTICATED, reason="WEB_SESSION_ENDED", meaning="the web session has ended or is missing; log in again"
    )

    # PERMISSION_DENIED
    NOT_PATIENT_OR_REPRESENTATIVE = _entry(
        S.PERMISSION_DENIED,
        reason="NOT_PATIENT_OR_REPRESENTATIVE",
        meaning="only the patient or a valid representative manages the patient's rules",
    )
    WATCH_NOT_ALLOWED = _entry(
        S.PERMISSION_DENIED,
        reason="WATCH_NOT_ALLOWED",
        meaning="only the gateway's decision caches watch policy changes",
    )
    METHOD_NOT_ALLOWED = _entry(
        S.PERMISSION_DENIED,
        reason="METHOD_NOT_ALLOWED",
        meaning="the method is not available through the gateway (or not as a stream)",
    )
    PRINCIPAL_NOT_ALLOWED = _entry(
        S.PERMISSION_DENIED, reason="PRINCIPAL_NOT_ALLOWED", meaning="callers of this kind may not call this method"
    )
    SCOPE_MISSING = _entry(
        S.PERMISSION_DENIED, reason="SCOPE_MISSING", meaning="the token lacks the scope this method needs"
    )
    PERSONNEL_HPR_MISSING = _entry(
        S.PERMISSION_DENIED, reason="PERSONNEL_HPR_MISSING", meaning="health personnel must carry an HPR number"
    )
    ORGANISATION_MISSING = _entry(
        S.PERMISSION_DENIED, reason="ORGANISATION_MISSING", meaning="the token names no legal entity (orgnr_parent)"
    )
    PURPOSE_OF_USE_UNSUPPORTED = _entry(
        S.PERMISSION_DENIED,
        reason="PURPOSE_OF_USE_UNSUPPORTED",
        meaning="the purpose of use is not TREAT, ETREAT, COC or BTG",
    )
    PRACTITIONER_MISMATCH = _entry(
        S.PERMISSION_DENIED,
        reason="PRACTITIONER_MISMATCH",
        meaning="the trust-framework attestation names another practitioner than the token",
    )
    JUSTIFICATION_REQUIRED = _entry(
        S.PERMISSION_DENIED, reason="JUSTIFICATION_REQUIRED", meaning="emergency access needs a valid justification"
    )
    CONSENT_DENIED = _entry(
        S.PERMISSION_DENIED,
        reason="CONSENT_DENIED",
        meaning="access to this patient's data is not permitted (also what a caller without a basis gets for an "
        "unknown patient)",
    )
    CATEGORY_NOT_PERMITTED = _entry(
        S.PERMISSION_DENIED, reason="CATEGORY_NOT_PERMITTED", meaning="no data category of the call was permitted"
    )
    ASSERTION_PATIENT_MISMATCH = _entry(
        S.PERMISSION_DENIED,
        reason="ASSERTION_PATIENT_MISMATCH",
        meaning="the request concerns another patient than the gateway authorised",
    )
    AUDIT_SCOPE_MISSING = _entry(
        S.PERMISSION_DENIED,
        reason="AUDIT_SCOPE_MISSING",
        meaning="the caller may not read this part of the access log (the patient, their organisation's auditors)",
    )
    APPEND_NOT_ALLOWED = _entry(
        S.PERMISSION_DENIED, reason="APPEND_NOT_ALLOWED", meaning="only the gateway appends audit events"
    )
    UNIT_NOT_OWNED = _entry(
        S.PERMISSION_DENIED, reason="UNIT_NOT_OWNED", meaning="only the organisation owning a unit reports its capacity"
    )
    ORGANISATION_REQUIRED = _entry(
        S.PERMISSION_DENIED,
        reason="ORGANISATION_REQUIRED",
        meaning="alerts and escalations are sent, received and acted on by organisations",
    )
    ALERT_NOT_TARGETED = _entry(
        S.PERMISSION_DENIED,
        reason="ALERT_NOT_TARGETED",
        meaning="only an organisation the alert targets acknowledges it",
    )
    CLINICIAN_REQUIRED = _entry(
        S.PERMISSION_DENIED,
        reason="CLINICIAN_REQUIRED",
        meaning="only a health person with an HPR number sets the SpO2 scale",
    )
    WEB_CSRF_REFUSED = _entry(
        S.PERMISSION_DENIED, reason="WEB_CSRF_REFUSED", meaning="a form post that did not come from the site's own page"
    )
    WEB_WRONG_CONSOLE = _entry(
        S.PERMISSION_DENIED, reason="WEB_WRONG_CONSOLE", meaning="a page of another console than the session's"
    )

    # INVALID_ARGUMENT
    INVALID_ARGUMENT = _entry(
        S.INVALID_ARGUMENT, reason="INVALID_ARGUMENT", meaning="bad input, with a field violation per bad field"
    )
    MALFORMED_REQUEST = _entry(
        S.INVALID_ARGUMENT,
        reason="MALFORMED_REQUEST",
        meaning="the request's bytes do not decode as the method's request message (a backend says so only once "
        "the call's assertion is verified)",
    )
    UNSUPPORTED_MEDIA_TYPE = _entry(
        S.INVALID_ARGUMENT,
        reason="UNSUPPORTED_MEDIA_TYPE",
        meaning="a JSON API request body is not application/json",
        http_status=415,
    )
    BODY_TOO_LARGE = _entry(
        S.INVALID_ARGUMENT, reason="BODY_TOO_LARGE", meaning="a JSON API request body exceeds 64 KiB", http_status=413
    )

    # NOT_FOUND
    PATIENT_NOT_FOUND = _entry(
        S.NOT_FOUND,
        reason="PATIENT_NOT_FOUND",
        meaning="no such patient; told only to the patient, anyone else gets CONSENT_DENIED",
    )
    RULE_NOT_FOUND = _entry(S.NOT_FOUND, reason="RULE_NOT_FOUND", meaning="the patient has no rule with this id")
    RULE_KIND_NOT_FOUND = _entry(
        S.NOT_FOUND, reason="RULE_KIND_NOT_FOUND", meaning="the patient pages have no such kind of rule"
    )
    RULE_DRAFT_NOT_FOUND = _entry(
        S.NOT_FOUND, reason="RULE_DRAFT_NOT_FOUND", meaning="the patient pages have no rule waiting to be confirmed"
    )
    RECEIPT_NOT_FOUND = _entry(
        S.NOT_FOUND, reason="RECEIPT_NOT_FOUND", meaning="the patient pages have no such receipt"
    )
    UNIT_NOT_FOUND = _entry(S.NOT_FOUND, reason="UNIT_NOT_FOUND", meaning="no such unit")
    EVENT_NOT_FOUND = _entry(
        S.NOT_FOUND,
        reason="EVENT_NOT_FOUND",
        meaning="no (visible) event with this sequence is covered by a checkpoint yet",
    )
    NO_CHECKPOINT = _entry(
        S.NOT_FOUND, reason="NO_CHECKPOINT", meaning="the audit log holds no events yet, so no checkpoint is signed"
    )
    ALERT_NOT_FOUND = _entry(S.NOT_FOUND, reason="ALERT_NOT_FOUND", meaning="no such alert")
    SERVICE_NOT_FOUND = _entry(
        S.NOT_FOUND,
        reason="SERVICE_NOT_FOUND",
        meaning="no municipal service with this source_record_id from this system for this patient",
    )
    WEB_SEARCH_NOT_FOUND = _entry(
        S.NOT_FOUND, reason="WEB_SEARCH_NOT_FOUND", meaning="an auditor console search no longer kept in the session"
    )
    ESCALATION_NOT_FOUND = _entry(
        S.NOT_FOUND,
        reason="ESCALATION_NOT_FOUND",
        meaning="no such escalation; also to an organisation neither target nor source of it (docs/escalation.md)",
    )
    ENROLMENT_NOT_FOUND = _entry(
        S.NOT_FOUND,
        reason="ENROLMENT_NOT_FOUND",
        meaning="no such follow-up enrolment; also to an organisation other than the enrolled team's "
        "(docs/escalation.md)",
    )
    ROUTE_NOT_FOUND = _entry(
        S.NOT_FOUND,
        reason="ROUTE_NOT_FOUND",
        meaning="the JSON API has no such route (a trailing slash too)",
        http_status=404,
    )

    # ALREADY_EXISTS
    REQUEST_ID_REUSED = _entry(
        S.ALREADY_EXISTS,
        reason="REQUEST_ID_REUSED",
        meaning="the request_id was used before for something else (another alert raised, another change of an "
        "escalation, a follow-up enrolment and an end of one)",
    )
    SOURCE_RECORD_CONFLICT = _entry(
        S.ALREADY_EXISTS, reason="SOURCE_RECORD_CONFLICT", meaning="a used source_record_id with other content"
    )

    # FAILED_PRECONDITION
    ALERT_EXPIRED = _entry(S.FAILED_PRECONDITION, reason="ALERT_EXPIRED", meaning="the alert has expired")
    EVENT_PROOF_NOT_PRIVATE = _entry(
        S.FAILED_PRECONDITION,
        reason="EVENT_PROOF_NOT_PRIVATE",
        meaning="a patient's proof of an event logged before leaf version 2, whose leaf holds the actor's person "
        "number and justification (docs/audit-leaf-v2.md)",
    )
    OPEN_SERVICES_LIMIT = _entry(
        S.FAILED_PRECONDITION,
        reason="OPEN_SERVICES_LIMIT",
        meaning="the patient has the most open municipal services allowed; end one first",
    )
    ENROLMENTS_LIMIT = _entry(
        S.FAILED_PRECONDITION,
        reason="ENROLMENTS_LIMIT",
        meaning="the patient has the most follow-up enrolments not ended allowed; end one first",
    )
    ENROLMENT_NOT_STARTED = _entry(
        S.FAILED_PRECONDITION,
        reason="ENROLMENT_NOT_STARTED",
        meaning="a follow-up enrolment would end before it started (refused, not moved)",
    )
    OPEN_ALERTS_LIMIT = _entry(
        S.FAILED_PRECONDITION, reason="OPEN_ALERTS_LIMIT", meaning="the organisation has the most open alerts allowed"
    )
    RULES_LIMIT = _entry(
        S.FAILED_PRECONDITION,
        reason="RULES_LIMIT",
        meaning="the patient has the most rules in force allowed; revoke one first",
    )

    ESCALATION_RESOLVED = _entry(
        S.FAILED_PRECONDITION, reason="ESCALATION_RESOLVED", meaning="the escalation is resolved"
    )
    ESCALATION_ALREADY_ACKNOWLEDGED = _entry(
        S.FAILED_PRECONDITION,
        reason="ESCALATION_ALREADY_ACKNOWLEDGED",
        meaning="the escalation is already acknowledged (acknowledge or decline)",
    )
    ESCALATION_NOT_ACKNOWLEDGED = _entry(
        S.FAILED_PRECONDITION,
        reason="ESCALATION_NOT_ACKNOWLEDGED",
        meaning="a reassessment is planned only after an acknowledgement",
    )
    ESCALATION_NOT_RESPONSIBLE = _entry(
        S.FAILED_PRECONDITION,
        reason="ESCALATION_NOT_RESPONSIBLE",
        meaning="only a responsible target that has not declined may do this (not an informed one, not the source)",
    )
    ESCALATION_EMERGENCY_NO_PLAN = _entry(
        S.FAILED_PRECONDITION,
        reason="ESCALATION_EMERGENCY_NO_PLAN",
        meaning="an EMERGENCY is never left to a planned reassessment",
    )
    ESCALATION_EVENTS_LIMIT = _entry(
        S.FAILED_PRECONDITION,
        reason="ESCALATION_EVENTS_LIMIT",
        meaning="the escalation holds the most events allowed for people's actions; resolve it",
    )

    # ABORTED
    SPO2_SCALE_CHANGED = _entry(
        S.ABORTED, reason="SPO2_SCALE_CHANGED", meaning="the patient's SpO2 scale changed while recording; send again"
    )

    # UNAVAILABLE
    AUDIT_UNAVAILABLE = _entry(
        S.UNAVAILABLE,
        reason="AUDIT_UNAVAILABLE",
        meaning="the access could not be recorded in the audit log; nothing was served",
    )
    AUDIT_BUSY = _entry(
        S.UNAVAILABLE,
        reason="AUDIT_BUSY",
        meaning="the audit service queues at most 20 000 events for a commit; the gateway then answers "
        "AUDIT_UNAVAILABLE",
    )
    CONSENT_UNAVAILABLE = _entry(
        S.UNAVAILABLE, reason="CONSENT_UNAVAILABLE", meaning="the consent service cannot answer now; nothing was served"
    )
    BACKEND_UNAVAILABLE = _entry(
        S.UNAVAILABLE,
        reason="BACKEND_UNAVAILABLE",
        meaning="a backend cannot answer now, or answered an error without a readable ErrorInfo",
    )
    ISSUER_KEYS_UNAVAILABLE = _entry(
        S.UNAVAILABLE, reason="ISSUER_KEYS_UNAVAILABLE", meaning="the token issuer's keys cannot be fetched"
    )
    ESCALATION_NOT_APPLIED = _entry(
        S.UNAVAILABLE,
        reason="ESCALATION_NOT_APPLIED",
        meaning="the measurement is stored but its NEWS2 escalation could not be applied; send the same "
        "measurement again (the retry applies it, once)",
    )
    REPLAY_STORE_UNAVAILABLE = _entry(
        S.UNAVAILABLE,
        reason="REPLAY_STORE_UNAVAILABLE",
        meaning="single use of a proof or assertion cannot be checked; retry with a fresh proof",
    )
    CHANGE_NOT_CONFIRMED = _entry(
        S.UNAVAILABLE,
        reason="CHANGE_NOT_CONFIRMED",
        meaning="a rule change committed, but its arrival at every gateway replica could not be confirmed",
    )
    POLICY_BOOK_UNAVAILABLE = _entry(
        S.UNAVAILABLE,
        reason="POLICY_BOOK_UNAVAILABLE",
        meaning="a policy watch's subscription or renewal cannot be recorded",
    )
    TOO_MANY_SUBSCRIBERS = _entry(
        S.UNAVAILABLE, reason="TOO_MANY_SUBSCRIBERS", meaning="the consent replica serves its limit of policy watches"
    )
    WATCH_LEASE_LAPSED = _entry(
        S.UNAVAILABLE,
        reason="WATCH_LEASE_LAPSED",
        meaning="consent ended a policy watch whose lease ran out (the gateway subscribes again, its cache empty)",
    )
    WATCH_TOO_FAR_BEHIND = _entry(
        S.UNAVAILABLE,
        reason="WATCH_TOO_FAR_BEHIND",
        meaning="consent ended a policy watch that fell too far behind (the gateway subscribes again, its cache empty)",
    )
    WATCH_CHANGES_MISSED = _entry(
        S.UNAVAILABLE,
        reason="WATCH_CHANGES_MISSED",
        meaning="consent ended a policy watch whose changes aged out of the feed (the gateway subscribes again, its "
        "cache empty)",
    )
    WEB_AUDIT_VKEY_MISSING = _entry(
        S.UNAVAILABLE,
        reason="WEB_AUDIT_VKEY_MISSING",
        meaning="the auditor console or a patient's proof page has no pinned audit log verifier key",
    )
    WEB_SESSION_BUSY = _entry(
        S.UNAVAILABLE,
        reason="WEB_SESSION_BUSY",
        meaning="a web session's page state kept changing under five tries to take a value from it",
    )
    WEB_LOGINS_FULL = _entry(
        S.UNAVAILABLE, reason="WEB_LOGINS_FULL", meaning="too many web logins are under way; try again in a few minutes"
    )
    WEB_LOGIN_UNAVAILABLE = _entry(
        S.UNAVAILABLE,
        reason="WEB_LOGIN_UNAVAILABLE",
        meaning="the login service (the token issuer) cannot be reached, or the session's token is being renewed",
    )

    # UNIMPLEMENTED
    METHOD_NOT_FOUND = _entry(
        S.UNIMPLEMENTED,
        reason="METHOD_NOT_FOUND",
        meaning="the server has no such method (gRPC's own answer would carry no ErrorInfo)",
    )
    HTTP_METHOD_NOT_ALLOWED = _entry(
        S.UNIMPLEMENTED,
        reason="HTTP_METHOD_NOT_ALLOWED",
        meaning="the JSON API route does not take this HTTP method",
        http_status=405,
    )

    # INTERNAL
    INTERNAL = _entry(
        S.INTERNAL,
        reason="INTERNAL",
        meaning="anything unexpected in a handler: a generic message, logged once as one line with the exception's "
        "class and frames, never its message",
    )
    GATEWAY_ASSERTION_REFUSED = _entry(
        S.INTERNAL,
        reason="GATEWAY_ASSERTION_REFUSED",
        meaning="a backend refused the gateway's own assertion: keys or clocks disagree",
    )


_MISNAMED = [r.name for r in Reason if r.name != r.value]
if _MISNAMED:  # pragma: no cover - a typo in the table above
    raise ImportError(f"catalogue entries whose reason is not their name: {_MISNAMED}")


def catalogued(reason: str, code: grpc.StatusCode) -> Reason | None:
    """The catalogue's entry for a reason received with `code`; None for a reason not in the
    catalogue or one that came with another code (a peer's own)."""
    entry = Reason._value2member_map_.get(reason)
    return entry if isinstance(entry, Reason) and entry.code == code else None
