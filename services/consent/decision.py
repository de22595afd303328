"""The access decision (policy decision point), pure: a patient's policy and one request in;
permit or deny, its basis, the rules that decided, the obligations and the reasoning out.

Evaluation order — the first step that applies decides (docs/consent.md "How consent decides"). A rule is *in force*
when its current version is ACTIVE and `now` lies in [valid_from, valid_until); it *covers*
a request when its categories and purposes are empty or contain the request's.

 1. A patient-kind actor: their own person number -> PERMIT OWN_DATA (default:own-data);
    a valid representative of the patient -> PERMIT REPRESENTATIVE (the representation id);
    anyone else -> DENY NONE (default:not-the-patient). Rules do not bind the patient, and
    a write changes nothing here (what a patient writes is their own sharing rules).
    A representation is valid within its period; a guardian's only while the patient is
    under 12 (from 12 parental access is limited and from 16 the young person decides alone,
    so a guardian acts no longer; a power of attorney is needed).
 2. CONSENT and ACCESS_LOG belong to the patient: an auditor asking to read ACCESS_LOG
    -> PERMIT AUDIT (default:audit; the audit service limits it to the auditor's
    organisation); anyone else -> DENY NONE (default:patient-only-category).
 3. Only systems and health personnel have care relationships: other kinds -> DENY NONE
    (default:no-care-relationship).
 4. No purpose of use -> DENY NONE (default:no-purpose).
 5. A reservation in force -> DENY RESERVATION. Nothing opens it: not an emergency, not
    consent at the moment, not an explicit permit. Nor is a reserved patient's data written
    into the shared overview.
 6. A block in force naming the actor's HPR number -> DENY BLOCK. Nothing opens it either.
 7. A write (create, update, delete) is decided here, whatever the steps below say. Restrictions
    and explicit permits play no part in a write: they limit who sees the data, not who records
    it (a restriction is not opened and nothing is flagged; a permit widens reading only).
    a. MUNICIPAL_SERVICES are written by the data holder only (NHN's OKT): an actor whose
       orgnr_parent is the patient's home organisation (the legal entity of the municipality
       the patient lives in) -> PERMIT CARE_RELATIONSHIP (default:data-holder); anyone else,
       and anyone when the home organisation is unknown -> DENY NONE (default:not-data-holder).
    b. VITAL_SIGNS are recorded on the care relationship, from any organisation and whatever
       the home organisation (the acute chain: hospital, ambulance/AMK, inter-municipal
       legevakt; a hospital clinician setting the SpO2 scale): an actor with an organisation
       (orgnr_parent) -> PERMIT CARE_RELATIONSHIP (default:care-relationship); without one
       -> DENY NONE (default:no-care-relationship).
 8. No basis at all: neither an organisation (orgnr_parent, the statutory care relationship)
    nor an explicit permit in force covering the request and selecting the actor -> DENY NONE
    (default:no-care-relationship). A restriction only narrows: opening it gives no basis the
    actor did not have.
 9. A restriction in force covering the request:
    a. consent at the moment declared by health personnel (kind PERSONNEL; a system cannot
       declare it) -> PERMIT CONSENT_AT_MOMENT, no justification needed;
    b. an emergency purpose (ETREAT or BTG) with a non-blank justification, declared by
       health personnel -> PERMIT EMERGENCY;
    c. otherwise -> DENY RESTRICTION; an explicit permit does not open a restriction.
    An opening carries FLAG_FOR_AUDIT and NOTIFY_PATIENT; decided_by names the restrictions.
10. An explicit permit in force covering the request and selecting the actor (HPR number,
    organisation as parent or child, HPR authorization, anyone) -> PERMIT EXPLICIT_PERMIT.
11. Otherwise the statutory default. MUNICIPAL_SERVICES are read within the patient's parent
    organisation only (NHN's OKT): when the actor's orgnr_parent is not the patient's home
    organisation (or that is unknown), they are opened only as a restriction is (9a, 9b:
    consent at the moment or a justified emergency, declared by health personnel -> PERMIT
    CONSENT_AT_MOMENT or EMERGENCY with FLAG_FOR_AUDIT and NOTIFY_PATIENT), otherwise -> DENY
    NONE; decided_by is default:outside-parent-organisation either way. Everything else
    (VITAL_SIGNS from any organisation, MUNICIPAL_SERVICES within the home organisation)
    -> PERMIT CARE_RELATIONSHIP (default:care-relationship).

A permit for purpose BTG always carries FLAG_FOR_AUDIT. Where several rules of the deciding
kind apply, decided_by lists them all (ordered by rule id).

Two implementations decide alike. `decide` is the reference: it reads every rule of the
policy on every call, in the order above. `decide_compiled` decides over `CompiledRules`, the
rules of one policy revision compiled once into an index (per period of validity: by rule
type, then by category and purpose, then by selector), so a decision looks up a few buckets
instead of reading every rule; tests/unit/test_consent_compiled.py checks that both give the
same decision, field by field, explanation included.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import chain

from services.platform.actors import Actor
from services.platform.ids import InvalidIdentifier, validate_person_number
from services.platform.norway_date import age_on, day_in_norway
from services.platform.vocabulary import (
    EMERGENCY_PURPOSES,
    AccessBasis,
    ActorKind,
    DataCategory,
    Decision,
    PurposeOfUse,
)

from .domain import (
    SHAREABLE,
    AccessRequest,
    Obligation,
    Representation,
    RepresentationKind,
    RepresentationStatus,
    Rule,
    RuleState,
    RuleType,
    SelectorKind,
)

# Named defaults reported as decided_by when no rule or representation of the patient decided.
OWN_DATA = "default:own-data"
NOT_THE_PATIENT = "default:not-the-patient"
AUDIT = "default:audit"
PATIENT_ONLY = "default:patient-only-category"
NO_CARE_RELATIONSHIP = "default:no-care-relationship"
NO_PURPOSE = "default:no-purpose"
CARE_RELATIONSHIP = "default:care-relationship"
OUTSIDE_PARENT_ORGANISATION = "default:outside-parent-organisation"
DATA_HOLDER = "default:data-holder"
NOT_DATA_HOLDER = "default:not-data-holder"

GUARDIAN_UNTIL_AGE = 12

_CARE_KINDS = frozenset({ActorKind.SYSTEM, ActorKind.PERSONNEL})
_SHARING_RULES_DO_NOT_WRITE = "the patient's restrictions and permits decide who sees the data, not who records it."
_OPENED = (Obligation.FLAG_FOR_AUDIT, Obligation.NOTIFY_PATIENT)


@dataclass(frozen=True)
class Policy:
    """A patient's rules (current version of each) and representations at one revision, and
    their home organisation: the legal entity of the municipality they live in (None: unknown)."""

    patient_id: str
    rules: tuple[Rule, ...] = ()
    representations: tuple[Representation, ...] = ()
    revision: int = 0
    home_orgnr: str | None = None


@dataclass(frozen=True)
class AccessDecision:
    decision: Decision
    basis: AccessBasis
    decided_by: tuple[str, ...]
    obligations: tuple[Obligation, ...] = ()
    explanation: tuple[str, ...] = ()


def decide(policy: Policy, request: AccessRequest, now: datetime) -> AccessDecision:
    """Decides one request over the patient's policy; see the module docstring for the order."""
    steps = [_asked(request)]

    def done(
        decision: Decision,
        basis: AccessBasis,
        by: tuple[str, ...],
        because: str,
        obligations: tuple[Obligation, ...] = (),
    ) -> AccessDecision:
        if decision is Decision.PERMIT and request.purpose is PurposeOfUse.BTG:
            obligations = _flagged(obligations)
        steps.append(because)
        steps.append(_conclusion(decision, basis, obligations))
        return AccessDecision(decision, basis, by, obligations, tuple(steps))

    actor = request.actor
    if actor.kind is ActorKind.PATIENT:
        if actor.pid and actor.pid == request.patient_id:
            return done(Decision.PERMIT, AccessBasis.OWN_DATA, (OWN_DATA,), "The actor is the patient.")
        for rep in policy.representations:
            if represents(rep, actor, request.patient_id, now):
                return done(
                    Decision.PERMIT,
                    AccessBasis.REPRESENTATIVE,
                    (rep.representation_id,),
                    f"The actor is a valid representative ({_REPRESENTATION[rep.kind]}) of the patient.",
                )
        return done(
            Decision.DENY,
            AccessBasis.NONE,
            (NOT_THE_PATIENT,),
            "The actor is neither the patient nor a valid representative of the patient.",
        )
    if request.category not in SHAREABLE:
        if actor.kind is ActorKind.AUDITOR and request.category is DataCategory.ACCESS_LOG and not request.write:
            return done(
                Decision.PERMIT,
                AccessBasis.AUDIT,
                (AUDIT,),
                "An auditor may review the access log of their own organisation.",
            )
        return done(
            Decision.DENY,
            AccessBasis.NONE,
            (PATIENT_ONLY,),
            f"Only the patient and their representatives see the patient's {describe_category(request.category)}.",
        )
    if actor.kind not in _CARE_KINDS:
        return done(
            Decision.DENY,
            AccessBasis.NONE,
            (NO_CARE_RELATIONSHIP,),
            "Only health personnel and their systems can have a care relationship.",
        )
    if request.purpose is None:
        return done(Decision.DENY, AccessBasis.NONE, (NO_PURPOSE,), "No purpose of use was given.")

    in_force = sorted(
        (r for r in policy.rules if r.patient_id == request.patient_id and r.in_force(now)), key=lambda r: r.rule_id
    )
    steps.append(f"The patient's policy revision {policy.revision} has {_count(len(in_force))} in force.")

    if reservations := _ids(r for r in in_force if r.rule_type is RuleType.RESERVATION):
        return done(
            Decision.DENY,
            AccessBasis.RESERVATION,
            reservations,
            _reserved(reservations),
        )
    steps.append(_NO_RESERVATION)

    if blocks := _ids(
        r
        for r in in_force
        if r.rule_type is RuleType.BLOCK_PERSON and r.content.selector is not None and r.content.selector.selects(actor)
    ):
        return done(
            Decision.DENY,
            AccessBasis.BLOCK,
            blocks,
            _blocked(blocks),
        )
    steps.append(_NO_BLOCK)

    if request.write:
        return done(*_write(policy, actor, request.category))

    permits = _ids(
        r
        for r in in_force
        if r.rule_type is RuleType.PERMIT
        and r.covers(request.category, request.purpose)
        and r.content.selector is not None
        and r.content.selector.selects(actor)
    )
    if not permits and not actor.orgnr_parent:
        return done(
            Decision.DENY,
            AccessBasis.NONE,
            (NO_CARE_RELATIONSHIP,),
            _NO_BASIS,
        )

    if restrictions := _ids(
        r for r in in_force if r.rule_type is RuleType.RESTRICTION and r.covers(request.category, request.purpose)
    ):
        steps.append(_restricted(request.category, restrictions))
        if opened := _opening(request, "the restriction", steps):
            return done(Decision.PERMIT, opened[0], restrictions, opened[1], _OPENED)
        return done(
            Decision.DENY,
            AccessBasis.RESTRICTION,
            restrictions,
            _RESTRICTION_CLOSED,
        )
    steps.append(_not_restricted(request.category))

    if permits:
        return done(
            Decision.PERMIT,
            AccessBasis.EXPLICIT_PERMIT,
            permits,
            _permitted(permits),
        )
    home = _home(policy, actor)
    if request.category is DataCategory.MUNICIPAL_SERVICES and not home.inside:
        steps.append(_outside_home(home))
        if opened := _opening(request, "municipal services to another organisation", steps):
            return done(Decision.PERMIT, opened[0], (OUTSIDE_PARENT_ORGANISATION,), opened[1], _OPENED)
        return done(
            Decision.DENY,
            AccessBasis.NONE,
            (OUTSIDE_PARENT_ORGANISATION,),
            _OUTSIDE_CLOSED,
        )
    return done(
        Decision.PERMIT,
        AccessBasis.CARE_RELATIONSHIP,
        (CARE_RELATIONSHIP,),
        _BY_LAW,
    )


class _Selecting:
    """Rule ids (ordered) by what their selector selects; a rule without a selector selects
    nobody (as `ActorSelector.selects` is never asked for it)."""

    __slots__ = ("_hpr", "_org", "_authorization", "_anyone", "empty")

    def __init__(self, rules: Sequence[Rule]) -> None:  # ordered by rule id
        self._hpr: dict[str, tuple[str, ...]] = {}
        self._org: dict[str, tuple[str, ...]] = {}
        self._authorization: dict[str, tuple[str, ...]] = {}
        anyone: list[str] = []
        for rule in rules:
            selector = rule.content.selector
            if selector is None:
                continue
            match selector.kind:
                case SelectorKind.HPR_NUMBER:
                    if selector.value:  # an empty HPR number selects nobody
                        self._hpr[selector.value] = (*self._hpr.get(selector.value, ()), rule.rule_id)
                case SelectorKind.ORG_NUMBER:
                    self._org[selector.value] = (*self._org.get(selector.value, ()), rule.rule_id)
                case SelectorKind.AUTHORIZATION:
                    self._authorization[selector.value] = (*self._authorization.get(selector.value, ()), rule.rule_id)
                case SelectorKind.ANYONE:
                    anyone.append(rule.rule_id)
        self._anyone = tuple(anyone)
        self.empty = not (self._hpr or self._org or self._authorization or self._anyone)

    def select(self, actor: Actor) -> tuple[str, ...]:
        """The ids of the rules whose selector selects `actor`, ordered by rule id."""
        if self.empty:
            return ()
        found: list[tuple[str, ...]] = []
        if self._hpr and actor.hpr_number and (ids := self._hpr.get(actor.hpr_number)):
            found.append(ids)
        if self._org:
            if ids := self._org.get(actor.orgnr_parent):
                found.append(ids)
            if actor.orgnr_child != actor.orgnr_parent and (ids := self._org.get(actor.orgnr_child)):
                found.append(ids)
        if (
            self._authorization
            and actor.kind is ActorKind.PERSONNEL
            and (ids := self._authorization.get(actor.authorization))
        ):
            found.append(ids)
        if self._anyone:
            found.append(self._anyone)
        if not found:
            return ()
        return found[0] if len(found) == 1 else tuple(sorted(chain.from_iterable(found)))


class _Index:
    """One patient's rules in force during one period, by rule type, category and purpose."""

    __slots__ = ("count", "reservations", "blocks", "covering")

    def __init__(self, in_force: Iterable[Rule]) -> None:
        rules = sorted(in_force, key=lambda r: r.rule_id)
        self.count = len(rules)
        self.reservations = _ids(r for r in rules if r.rule_type is RuleType.RESERVATION)
        self.blocks = _Selecting([r for r in rules if r.rule_type is RuleType.BLOCK_PERSON])
        permits = [r for r in rules if r.rule_type is RuleType.PERMIT]
        restrictions = [r for r in rules if r.rule_type is RuleType.RESTRICTION]
        # By the names of the category and purpose: an Enum member hashes in Python, its name in C.
        self.covering = {
            category.name: {
                purpose.name: _Covering(
                    _Selecting([r for r in permits if r.covers(category, purpose)]),
                    _ids(r for r in restrictions if r.covers(category, purpose)),
                )
                for purpose in PurposeOfUse
            }
            for category in SHAREABLE
        }


@dataclass(frozen=True, slots=True)
class _Covering:
    """The permits (by selector) and restrictions that cover one category and purpose."""

    permits: _Selecting
    restrictions: tuple[str, ...]


class _Timeline:
    """One patient's active rules, indexed per period in which the same rules are in force:
    the periods lie between the rules' valid_from and valid_until instants. A period's index
    is built when a decision falls in it; at most KEPT_PERIODS are kept (time moves on: the
    current period and the one before, for a request that was slow to arrive)."""

    __slots__ = ("_rules", "_bounds", "_indexes")
    KEPT_PERIODS = 2

    def __init__(self, rules: Sequence[Rule]) -> None:
        self._rules = rules
        self._bounds = sorted(
            {moment for r in rules for moment in (r.content.valid_from, r.content.valid_until) if moment is not None}
        )
        self._indexes: dict[int, _Index] = {}

    def at(self, now: datetime) -> _Index:
        # Period p is [bounds[p-1], bounds[p]): every bound up to now, none after it.
        period = bisect_right(self._bounds, now) if self._bounds else 0
        index = self._indexes.get(period)
        if index is None:
            if len(self._indexes) >= self.KEPT_PERIODS:
                del self._indexes[min(self._indexes)]  # the earliest period: time has left it
            index = self._indexes[period] = _Index(r for r in self._rules if self._in_force(r, period))
        return index

    def _in_force(self, rule: Rule, period: int) -> bool:
        """`rule.in_force(now)` for every `now` in the period (all are alike: each bound is one)."""
        start, end = rule.content.valid_from, rule.content.valid_until
        if start is not None and (period == 0 or start > self._bounds[period - 1]):
            return False  # starts after the period begins
        return end is None or (period < len(self._bounds) and end >= self._bounds[period])


class CompiledRules:
    """A policy's rules at one revision, compiled for `decide_compiled`; the rules of a
    revision never change (every change raises the revision), so one compilation serves every
    decision until the next change. Only ACTIVE versions are kept (a revoked one is in force
    never); the rules are grouped by patient, as a decision reads only its patient's."""

    __slots__ = ("revision", "_timelines")

    def __init__(self, rules: Iterable[Rule], revision: int) -> None:
        self.revision = revision
        by_patient: dict[str, list[Rule]] = {}
        for rule in rules:
            if rule.state is RuleState.ACTIVE:
                by_patient.setdefault(rule.patient_id, []).append(rule)
        self._timelines = {patient: _Timeline(rules) for patient, rules in by_patient.items()}

    def at(self, patient_id: str, now: datetime) -> _Index:
        timeline = self._timelines.get(patient_id)
        return _NO_RULES if timeline is None else timeline.at(now)


def compile_rules(policy: Policy) -> CompiledRules:
    return CompiledRules(policy.rules, policy.revision)


def decide_compiled(policy: Policy, rules: CompiledRules, request: AccessRequest, now: datetime) -> AccessDecision:
    """The decision `decide(policy, request, now)` makes, over `rules` compiled from
    `policy.rules` (the representations and home organisation are read from `policy`). The
    steps and texts are the reference's; only the rules are looked up rather than read, the
    home organisation is described only where a text says it, and the conclusions that do not
    depend on the request are written once (module end)."""
    actor = request.actor
    category, purpose = request.category, request.purpose
    if actor.kind not in _CARE_KINDS or category not in SHAREABLE or purpose is None:
        return decide(policy, request, now)  # decided before any rule is read (steps 1 to 4)
    steps = [_asked(request)]

    def done(
        decision: Decision,
        basis: AccessBasis,
        by: tuple[str, ...],
        because: str,
        conclusion: str,
        obligations: tuple[Obligation, ...] = (),
    ) -> AccessDecision:
        if decision is Decision.PERMIT and purpose is PurposeOfUse.BTG:
            obligations = _flagged(obligations)
            conclusion = _conclusion(decision, basis, obligations)
        steps.append(because)
        steps.append(conclusion)
        return AccessDecision(decision, basis, by, obligations, tuple(steps))

    index = rules.at(request.patient_id, now)
    steps.append(f"The patient's policy revision {policy.revision} has {_count(index.count)} in force.")

    if reservations := index.reservations:
        return done(
            Decision.DENY,
            AccessBasis.RESERVATION,
            reservations,
            _reserved(reservations),
            _DENY_RESERVATION,
        )
    steps.append(_NO_RESERVATION)

    if blocks := index.blocks.select(actor):
        return done(
            Decision.DENY,
            AccessBasis.BLOCK,
            blocks,
            _blocked(blocks),
            _DENY_BLOCK,
        )
    steps.append(_NO_BLOCK)

    if request.write:
        found = _write(policy, actor, category)  # a permit's basis is the care relationship, a denial's none
        return done(*found, _PERMIT_CARE_RELATIONSHIP if found[0] is Decision.PERMIT else _DENY_NONE)

    covering = index.covering[category._name_][purpose._name_]
    permits = covering.permits.select(actor)
    if not permits and not actor.orgnr_parent:
        return done(
            Decision.DENY,
            AccessBasis.NONE,
            (NO_CARE_RELATIONSHIP,),
            _NO_BASIS,
            _DENY_NONE,
        )

    if restrictions := covering.restrictions:
        steps.append(_restricted(category, restrictions))
        if opened := _opening(request, "the restriction", steps):
            return done(Decision.PERMIT, opened[0], restrictions, opened[1], _PERMIT_OPENED[opened[0]], _OPENED)
        return done(
            Decision.DENY,
            AccessBasis.RESTRICTION,
            restrictions,
            _RESTRICTION_CLOSED,
            _DENY_RESTRICTION,
        )
    steps.append(_not_restricted(category))

    if permits:
        return done(
            Decision.PERMIT,
            AccessBasis.EXPLICIT_PERMIT,
            permits,
            _permitted(permits),
            _PERMIT_EXPLICIT,
        )
    home = policy.home_orgnr
    if category is DataCategory.MUNICIPAL_SERVICES and not (home and actor.orgnr_parent == home):
        steps.append(_outside_home(_home(policy, actor)))
        if opened := _opening(request, "municipal services to another organisation", steps):
            return done(
                Decision.PERMIT,
                opened[0],
                (OUTSIDE_PARENT_ORGANISATION,),
                opened[1],
                _PERMIT_OPENED[opened[0]],
                _OPENED,
            )
        return done(
            Decision.DENY,
            AccessBasis.NONE,
            (OUTSIDE_PARENT_ORGANISATION,),
            _OUTSIDE_CLOSED,
            _DENY_NONE,
        )
    return done(
        Decision.PERMIT,
        AccessBasis.CARE_RELATIONSHIP,
        (CARE_RELATIONSHIP,),
        _BY_LAW,
        _PERMIT_CARE_RELATIONSHIP,
    )


@dataclass(frozen=True)
class _Home:
    inside: bool  # the actor belongs to the patient's home organisation
    text: str  # that finding in plain language


def _home(policy: Policy, actor: Actor) -> _Home:
    if not policy.home_orgnr:
        return _Home(False, "The patient's home organisation is not known.")
    if actor.orgnr_parent == policy.home_orgnr:
        return _Home(True, f"The actor belongs to the patient's home organisation {policy.home_orgnr}.")
    return _Home(False, f"The actor does not belong to the patient's home organisation {policy.home_orgnr}.")


# What a step decides, before its conclusion is written: decision, basis, decided_by, the reason.
# A plain tuple: decide_compiled returns one per write, and a NamedTuple costs more to build.
_Finding = tuple[Decision, AccessBasis, tuple[str, ...], str]


def _write(policy: Policy, actor: Actor, category: DataCategory) -> _Finding:
    """Step 7: a write, decided by the data holder (municipal services) or the care relationship
    (vital signs); restrictions and permits play no part."""
    if category is DataCategory.MUNICIPAL_SERVICES:
        home = _home(policy, actor)
        if home.inside:
            return (
                Decision.PERMIT,
                AccessBasis.CARE_RELATIONSHIP,
                (DATA_HOLDER,),
                f"{home.text} It holds the patient's municipal services and records them; "
                f"{_SHARING_RULES_DO_NOT_WRITE}",
            )
        return (
            Decision.DENY,
            AccessBasis.NONE,
            (NOT_DATA_HOLDER,),
            f"{home.text} Only the patient's home organisation, which holds the municipal services, records them.",
        )
    if actor.orgnr_parent:  # VITAL_SIGNS, the other shareable category
        return (
            Decision.PERMIT,
            AccessBasis.CARE_RELATIONSHIP,
            (CARE_RELATIONSHIP,),
            f"The actor acts for organisation {actor.orgnr_parent}: a care relationship, on which vital "
            "signs are recorded in or outside the patient's home organisation; "
            f"{_SHARING_RULES_DO_NOT_WRITE}",
        )
    return (
        Decision.DENY,
        AccessBasis.NONE,
        (NO_CARE_RELATIONSHIP,),
        "The actor names no organisation, so there is no care relationship to record vital signs "
        "on; a permit of the patient widens reading only.",
    )


# The findings both ways of deciding state, each written once.
_NO_RESERVATION = "No reservation is in force."
_NO_BLOCK = "No block names this health person."
_NO_BASIS = (
    "The actor names no organisation and no permit of the patient selects them, so there is no basis for access."
)
_RESTRICTION_CLOSED = (
    "Only consent at the moment or a justified emergency opens a restriction; an explicit permit does not."
)
_OUTSIDE_CLOSED = (
    "Outside the patient's home organisation only consent at the moment or a justified emergency opens municipal "
    "services."
)
_BY_LAW = (
    "By law, health personnel with a care relationship and a work-related need may access relevant information "
    "(helsepersonelloven § 45)."
)


def _reserved(ids: tuple[str, ...]) -> str:
    return f"The patient has reserved against all sharing ({_list(ids)}); not even an emergency opens a reservation."


def _blocked(ids: tuple[str, ...]) -> str:
    return f"The patient has blocked this health person ({_list(ids)}); not even an emergency opens a block."


def _permitted(ids: tuple[str, ...]) -> str:
    return f"The patient has explicitly permitted this actor ({_list(ids)})."


def _restricted(category: DataCategory, ids: tuple[str, ...]) -> str:
    return f"The patient has restricted {_CATEGORY[category]} ({_list(ids)})."


def _not_restricted(category: DataCategory) -> str:
    return f"No restriction covers {_CATEGORY[category]} for this purpose."


def _outside_home(home: _Home) -> str:
    return f"Municipal services are shared within the patient's home (parent) organisation. {home.text}"


def _opening(request: AccessRequest, what: str, steps: list[str]) -> tuple[AccessBasis, str] | None:
    """Consent at the moment or a justified emergency, both declared by health personnel,
    opens `what`; None when neither does (the reasons added to `steps`)."""
    personnel = request.actor.kind is ActorKind.PERSONNEL
    if request.consent_at_moment and personnel:
        return (
            AccessBasis.CONSENT_AT_MOMENT,
            f"The health person declares that the patient consents at this moment, which opens {what}.",
        )
    if request.consent_at_moment:
        steps.append("Consent at the moment counts only when a health person declares it, not a system.")
    emergency = request.purpose in EMERGENCY_PURPOSES
    if emergency and request.justification.strip() and personnel:
        return (
            AccessBasis.EMERGENCY,
            f"A health person declares an emergency with a justification, which opens {what}.",
        )
    if emergency and not personnel:
        steps.append(f"An emergency opens {what} only for a health person who answers for it, not a system.")
    elif emergency:
        steps.append(f"An emergency opens {what} only with a justification, and none was given.")
    return None


def representation_status(rep: Representation, now: datetime) -> RepresentationStatus:
    """Whether the representation is in force at `now`: within its period and, for a guardian,
    while the child is under 12, counted by the date in Norway as every age rule of the suite
    counts it (the child turns 12 at Oslo midnight, not UTC's). A child whose birth date cannot
    be read from the person number is taken as no longer represented (fail closed)."""
    today = day_in_norway(now)  # refuses a naive time
    if now < rep.valid_from:
        return RepresentationStatus.NOT_YET_VALID
    if rep.valid_until is not None and now >= rep.valid_until:
        return RepresentationStatus.ENDED
    if rep.kind is RepresentationKind.GUARDIAN:
        try:
            born = validate_person_number(rep.patient_id, today=today).birth_date
        except InvalidIdentifier:
            return RepresentationStatus.ENDED
        if age_on(born, today) >= GUARDIAN_UNTIL_AGE:
            return RepresentationStatus.CHILD_TURNED_12
    return RepresentationStatus.IN_FORCE


def represents(rep: Representation, actor: Actor, patient_id: str, now: datetime) -> bool:
    """Whether `actor` may act for the patient through this representation at `now`: it names
    them both, and `representation_status` finds it in force (the one rule for both)."""
    if not (
        rep.patient_id == patient_id
        and actor.kind is ActorKind.PATIENT
        and actor.pid
        and actor.pid == rep.representative_pid
    ):
        return False
    return representation_status(rep, now) is RepresentationStatus.IN_FORCE


def _ids(rules: Iterable[Rule]) -> tuple[str, ...]:
    return tuple(r.rule_id for r in rules)


def _list(ids: tuple[str, ...]) -> str:
    return ("rule " if len(ids) == 1 else "rules ") + ", ".join(ids)


def _count(n: int) -> str:
    return "no rules" if n == 0 else "1 rule" if n == 1 else f"{n} rules"


# Plain-language names for explanations and notifications; never person numbers.
_CATEGORY = {
    DataCategory.MUNICIPAL_SERVICES: "municipal services",
    DataCategory.VITAL_SIGNS: "vital signs",
    DataCategory.CONSENT: "sharing rules",
    DataCategory.ACCESS_LOG: "access log",
}
_PURPOSE = {
    PurposeOfUse.TREAT: "treatment",
    PurposeOfUse.ETREAT: "emergency treatment",
    PurposeOfUse.COC: "coordination of care",
    PurposeOfUse.BTG: "break the glass",
}
_REPRESENTATION = {RepresentationKind.GUARDIAN: "guardian", RepresentationKind.POWER_OF_ATTORNEY: "power of attorney"}
_BASIS = {
    AccessBasis.OWN_DATA: "the patient's own data",
    AccessBasis.REPRESENTATIVE: "representation of the patient",
    AccessBasis.AUDIT: "audit of the organisation's access log",
    AccessBasis.CONSENT_AT_MOMENT: "consent at the moment",
    AccessBasis.EMERGENCY: "emergency",
    AccessBasis.EXPLICIT_PERMIT: "the patient's explicit permit",
    AccessBasis.CARE_RELATIONSHIP: "a care relationship",
    AccessBasis.RESERVATION: "the patient's reservation",
    AccessBasis.BLOCK: "the patient's block",
    AccessBasis.RESTRICTION: "the patient's restriction",
    AccessBasis.NONE: "no basis for access",
}
_OBLIGATION = {
    Obligation.FLAG_FOR_AUDIT: "the access is flagged for audit",
    Obligation.NOTIFY_PATIENT: "the patient is notified",
}


def describe_category(category: DataCategory) -> str:
    return _CATEGORY[category]


def describe(actor: Actor) -> str:
    """The actor in plain language, by name, HPR number and organisation; never a person number."""
    at = (
        " at organisation " + "/".join(o for o in (actor.orgnr_parent, actor.orgnr_child) if o)
        if actor.orgnr_parent or actor.orgnr_child
        else ""
    )
    match actor.kind:
        case ActorKind.PERSONNEL:
            who = "health personnel" + (f" {actor.name}" if actor.name else "")
            details = [f"HPR number {actor.hpr_number}"] if actor.hpr_number else []
            details += [f"authorization {actor.authorization}"] if actor.authorization else []
            return who + (f" ({', '.join(details)})" if details else "") + at
        case ActorKind.SYSTEM:
            return f"the system {actor.client_name or actor.client_id or 'without a name'}{at}"
        case ActorKind.PATIENT:
            return "a logged-in person" + (f" ({actor.name})" if actor.name else "")
        case ActorKind.AUDITOR:
            return "an auditor" + at
    return "a caller of unknown kind"


def _asked(request: AccessRequest) -> str:
    """The first step of every explanation: what was asked, by whom."""
    asked = "Asked to write" if request.write else "Asked"
    return f"{asked}: {_CATEGORY[request.category]} for {_purpose(request)} by {describe(request.actor)}."


def _flagged(obligations: tuple[Obligation, ...]) -> tuple[Obligation, ...]:
    """A permit for purpose BTG always carries FLAG_FOR_AUDIT (first, once)."""
    return tuple(dict.fromkeys((Obligation.FLAG_FOR_AUDIT, *obligations)))


def _purpose(request: AccessRequest) -> str:
    if request.purpose is None:
        return "no stated purpose"
    text = f"{_PURPOSE[request.purpose]} ({request.purpose.name})"
    if request.justification.strip():
        text += " with a justification"
    if request.consent_at_moment:
        text += ", declaring the patient's consent at the moment"
    return text


def _conclusion(decision: Decision, basis: AccessBasis, obligations: tuple[Obligation, ...]) -> str:
    verdict = "permit" if decision is Decision.PERMIT else "deny"
    duties = "; " + " and ".join(_OBLIGATION[o] for o in obligations) if obligations else ""
    return f"Decision: {verdict} on {_BASIS[basis]}{duties}."


_NO_RULES = _Index(())  # a patient without active rules
# The conclusions of decide_compiled that depend on nothing in the request, written once.
_DENY_RESERVATION = _conclusion(Decision.DENY, AccessBasis.RESERVATION, ())
_DENY_BLOCK = _conclusion(Decision.DENY, AccessBasis.BLOCK, ())
_DENY_RESTRICTION = _conclusion(Decision.DENY, AccessBasis.RESTRICTION, ())
_DENY_NONE = _conclusion(Decision.DENY, AccessBasis.NONE, ())
_PERMIT_CARE_RELATIONSHIP = _conclusion(Decision.PERMIT, AccessBasis.CARE_RELATIONSHIP, ())
_PERMIT_EXPLICIT = _conclusion(Decision.PERMIT, AccessBasis.EXPLICIT_PERMIT, ())
_PERMIT_OPENED = {
    basis: _conclusion(Decision.PERMIT, basis, _OPENED)
    for basis in (AccessBasis.CONSENT_AT_MOMENT, AccessBasis.EMERGENCY)
}
