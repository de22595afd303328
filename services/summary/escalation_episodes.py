"""An escalation episode as an immutable value, and its transitions as pure functions
(docs/escalation.md, "Episodes"). Each transition returns the new episode and the effects to
carry out: notifications to deliver, timers to set or cancel, messages for the recorder. A store
saves the episode and its effects in one transaction; its sweeper fires due timers.

Every transition is idempotent: the same measurement (by id), the same action (by request id)
or the same timer applied again returns the episode unchanged and no effects, so a sweeper that
crashed after a commit, or a second replica, repeats nothing. A request id used again for
something else is refused (ALREADY_EXISTS REQUEST_ID_REUSED).

Pure: no I/O, no clock (`now` is passed in), no proto.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from services.platform.error_reasons import Reason
from services.platform.errors import ServiceError, invalid_argument
from services.platform.ids import InvalidIdentifier, validate_hpr_number
from services.platform.text import TextField, text_problem

from .escalation_routing import MAX_TARGETS_PER_EPISODE, Chain, Routes, Target, TargetRole
from .escalation_rules import (
    RULES_VERSION,
    AcknowledgeWithin,
    Evaluation,
    Level,
    NoEscalation,
    OnTimeout,
    RecorderText,
    rule_for,
)
from .vitals import Performer

__all__ = [
    "MAX_EVENTS_PER_EPISODE",
    "MAX_MEASUREMENTS_KEPT",
    "MAX_REASSESS_HOURS",
    "NOTIFY_AT_MOST_EVERY",
    "PHONE_113",
    "PHONE_LEGEVAKT",
    "Responder",
    "AddedBecause",
    "CancelTimer",
    "Effect",
    "Episode",
    "EpisodeTarget",
    "Event",
    "EventKind",
    "MeasurementRef",
    "Notify",
    "NotifyReason",
    "Origin",
    "Outcome",
    "RecorderMessage",
    "SetTimer",
    "State",
    "TellRecorder",
    "Timer",
    "TimerKind",
    "Transition",
    "acknowledge",
    "decline",
    "escalation_not_found",
    "fire_timer",
    "plan_reassessment",
    "raise_concern",
    "record_measurement",
    "resolve",
]

PHONE_113 = "113"  # medical emergencies (AMK)
PHONE_LEGEVAKT = "116117"  # the legevakt, national number
# At most one notification per target per episode in this time, but for upgrades, timeouts and
# anything at EMERGENCY (never suppressed).
NOTIFY_AT_MOST_EVERY = timedelta(minutes=15)
# Events an episode holds. People's actions (acknowledge, decline, plan, concern) are refused
# once an episode has MAX_EVENTS_PER_EPISODE - _RESERVED_EVENTS; what the system adds itself is
# bounded by the chain (an opening, at most three upgrades, a timeout per target, an exhaustion
# per level, one reassessment due, one resolution) and fits in the reserve.
MAX_EVENTS_PER_EPISODE = 100
_RESERVED_EVENTS = 20
# Measurements an episode lists (the newest; older ones are counted in measurements_left_out).
MAX_MEASUREMENTS_KEPT = 50
# A reassessment is planned for at most this far ahead.
MAX_REASSESS_HOURS = 24
_MAX_REASSESS_AFTER = timedelta(hours=MAX_REASSESS_HOURS)
# Auto-resolution: this many later measurements below every trigger, or this long without a higher level.
_BELOW_TRIGGER_TO_RESOLVE = 2
_QUIET_TO_RESOLVE = timedelta(hours=24)

REQUEST_ID = TextField(64, required=True)
PERSON_NAME = TextField(200, required=True)
NOTE = TextField(1000, multiline=True)
REASON = TextField(500, multiline=True, required=True)


class State(enum.Enum):
    OPEN = "OPEN"  # waiting for an acknowledgement
    ACKNOWLEDGED = "ACKNOWLEDGED"
    REASSESSMENT_PLANNED = "REASSESSMENT_PLANNED"
    RESOLVED = "RESOLVED"


_TAKEN = (State.ACKNOWLEDGED, State.REASSESSMENT_PLANNED)


class Origin(enum.Enum):
    SCORE = "SCORE"  # opened by a measurement's NEWS2
    CONCERN = "CONCERN"  # raised by hand by a health person


class Outcome(enum.Enum):
    MANAGED_IN_PLACE = "MANAGED_IN_PLACE"
    SENT_TO_LEGEVAKT = "SENT_TO_LEGEVAKT"
    ADMITTED_TO_HOSPITAL = "ADMITTED_TO_HOSPITAL"
    AMBULANCE_CALLED = "AMBULANCE_CALLED"
    NO_ACTION_NEEDED = "NO_ACTION_NEEDED"
    OTHER = "OTHER"  # a note says what
    # Set only by the episode itself, after an acknowledgement:
    AUTO_IMPROVED = "AUTO_IMPROVED"  # two later measurements below every trigger
    AUTO_NO_WORSENING = "AUTO_NO_WORSENING"  # 24 h since the acknowledgement without a higher level


_AUTOMATIC_OUTCOMES = frozenset({Outcome.AUTO_IMPROVED, Outcome.AUTO_NO_WORSENING})


class AddedBecause(enum.Enum):
    OPENED = "OPENED"
    UPGRADE = "UPGRADE"
    TIMEOUT = "TIMEOUT"
    DECLINE = "DECLINE"


class TimerKind(enum.Enum):
    ACKNOWLEDGE = "ACKNOWLEDGE"  # the acknowledge-within deadline
    AUTO_RESOLVE = "AUTO_RESOLVE"  # 24 h after an acknowledgement
    REASSESSMENT = "REASSESSMENT"  # the planned reassessment is due


class EventKind(enum.Enum):
    OPENED = "OPENED"
    UPGRADED = "UPGRADED"
    CONCERN = "CONCERN"
    TIMEOUT = "TIMEOUT"
    CHAIN_EXHAUSTED = "CHAIN_EXHAUSTED"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    DECLINED = "DECLINED"
    REASSESSMENT_PLANNED = "REASSESSMENT_PLANNED"
    REASSESSMENT_DUE = "REASSESSMENT_DUE"
    RESOLVED = "RESOLVED"


class NotifyReason(enum.Enum):
    OPENED = "OPENED"
    UPGRADED = "UPGRADED"
    TIMEOUT = "TIMEOUT"  # added to the chain when the deadline passed
    PASSED_ON = "PASSED_ON"  # added because a target declined
    CONCERN = "CONCERN"  # a health person raised a concern on the open episode
    REASSESSMENT_DUE = "REASSESSMENT_DUE"


_NEVER_LIMITED = frozenset({NotifyReason.UPGRADED, NotifyReason.TIMEOUT})


class RecorderMessage(enum.Enum):
    SENT = "SENT"
    PHONE_113 = "PHONE_113"
    PHONE_LEGEVAKT = "PHONE_LEGEVAKT"
    UNDELIVERABLE = "UNDELIVERABLE"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    RESOLVED = "RESOLVED"


@dataclass(frozen=True, slots=True)
class Responder:
    """A health person acting on an escalation for an organisation (not the actor of a call,
    `services/platform/actors.py`, from which the API will fill it)."""

    orgnr: str
    person: Performer


@dataclass(frozen=True, slots=True)
class EpisodeTarget:
    target: Target
    added_at: datetime
    added_because: AddedBecause
    last_notified_at: datetime | None = None
    declined: bool = False

    @property
    def orgnr(self) -> str:
        return self.target.orgnr

    @property
    def can_take(self) -> bool:
        """May acknowledge or decline: responsible, and has not passed it on."""
        return self.target.role is TargetRole.RESPONSIBLE and not self.declined


@dataclass(frozen=True, slots=True)
class Timer:
    """A durable timer the store keeps; identified by (episode, kind, sequence)."""

    episode_id: str
    kind: TimerKind
    sequence: int
    due_at: datetime


@dataclass(frozen=True, slots=True)
class Event:
    kind: EventKind
    at: datetime
    level: Level
    orgnr: str = ""  # who acted or was told ("" for the system)
    person: Performer | None = None
    request_id: str = ""
    text: str = ""  # a note or reason
    outcome: Outcome | None = None
    planned_for: datetime | None = None


@dataclass(frozen=True, slots=True)
class MeasurementRef:
    measurement_id: str
    measured_at: datetime
    level: Level | None  # the level it triggered, None when none


@dataclass(frozen=True, slots=True)
class Episode:
    episode_id: str
    patient_id: str
    source_orgnr: str  # the recorder's organisation (never a target)
    origin: Origin
    level: Level
    state: State
    rules_version: str
    opened_at: datetime
    targets: tuple[EpisodeTarget, ...]
    pending: tuple[Target, ...]  # added one by one on each timeout or decline, in order
    deadline: datetime | None  # acknowledge by; None once acknowledged or when undeliverable
    # Nobody is left to add and nobody has taken it (the last deadline passed, or every responsible
    # target declined): the episode stays open, listed as overdue, until someone takes or resolves it.
    chain_exhausted: bool
    undeliverable: bool  # nobody responsible can be reached: the recorder was told to phone
    timers: tuple[Timer, ...]  # at most one per kind
    timer_sequence: int
    events: tuple[Event, ...]
    measurements: tuple[MeasurementRef, ...]  # oldest first, the newest MAX_MEASUREMENTS_KEPT
    measurements_left_out: int = 0
    newest_measured_at: datetime | None = None
    below_trigger_since_ack: int = 0
    acknowledgement: Event | None = None  # the one in force (cleared by an upgrade)
    resolution: Event | None = None

    def target(self, orgnr: str) -> EpisodeTarget | None:
        return next((t for t in self.targets if t.orgnr == orgnr), None)

    def timer(self, kind: TimerKind) -> Timer | None:
        return next((t for t in self.timers if t.kind is kind), None)

    @property
    def recorder_orgnr(self) -> str:
        """The organisation the recorder's messages go to: the one whose measurement or concern set
        the episode's current level (the source, until another organisation upgrades it)."""
        recorder, level = self.source_orgnr, None
        for event in self.events:
            if event.kind is EventKind.OPENED:
                level = event.level
            elif event.kind is EventKind.UPGRADED or (
                event.kind is EventKind.CONCERN and level is not None and event.level > level
            ):
                recorder, level = event.orgnr or recorder, event.level
        return recorder


# Effects: what a store carries out after saving the episode. None carries patient data.
@dataclass(frozen=True, slots=True)
class Notify:
    episode_id: str
    orgnr: str
    role: TargetRole
    level: Level
    reason: NotifyReason
    push: bool  # False: listed in the inbox only (REVIEW)
    deadline: datetime | None


@dataclass(frozen=True, slots=True)
class SetTimer:
    timer: Timer


@dataclass(frozen=True, slots=True)
class CancelTimer:
    timer: Timer


@dataclass(frozen=True, slots=True)
class TellRecorder:
    episode_id: str
    orgnr: str
    message: RecorderMessage
    text: RecorderText
    phone_numbers: tuple[str, ...] = ()


Effect = Notify | SetTimer | CancelTimer | TellRecorder


@dataclass(frozen=True, slots=True)
class Transition:
    episode: Episode | None  # None: no episode (a measurement that opened nothing)
    effects: tuple[Effect, ...] = ()


_TEXTS = {
    RecorderMessage.SENT: RecorderText(
        nb="Varselet er sendt til teamet som har ansvaret for pasienten.",
        en="The alert has been sent to the team responsible for the patient.",
    ),
    RecorderMessage.PHONE_113: RecorderText(
        nb="Ring 113 nå. Varselet er også sendt til legevakten og teamet som har ansvaret.",
        en="Phone 113 now. The alert has also been sent to the legevakt and the team responsible.",
    ),
    RecorderMessage.PHONE_LEGEVAKT: RecorderText(
        nb="Ingen har tatt varselet innen fristen. Ring legevakten på 116117.",
        en="Nobody has taken the alert in time. Phone the legevakt on 116117.",
    ),
    RecorderMessage.UNDELIVERABLE: RecorderText(
        nb="Varselet kan ikke leveres: ingen ansvarlig mottaker er funnet. Ring legevakten på 116117, "
        "eller 113 ved akutt fare.",
        en="The alert cannot be delivered: nobody responsible was found. Phone the legevakt on 116117, "
        "or 113 in an emergency.",
    ),
    RecorderMessage.ACKNOWLEDGED: RecorderText(
        nb="Varselet er tatt av teamet som har ansvaret.", en="The alert has been taken by the team responsible."
    ),
    RecorderMessage.RESOLVED: RecorderText(nb="Varselet er avsluttet.", en="The alert has been closed."),
}
_PHONES = {
    RecorderMessage.PHONE_113: (PHONE_113,),
    RecorderMessage.PHONE_LEGEVAKT: (PHONE_LEGEVAKT,),
    RecorderMessage.UNDELIVERABLE: (PHONE_LEGEVAKT, PHONE_113),
}


def _tell(episode: Episode, message: RecorderMessage) -> TellRecorder:
    """A message for the recorder: the organisation whose measurement or concern set the current level."""
    # An emergency's recorder is always given 113, whatever else it is told.
    phones = _PHONES.get(message, ())
    if episode.level is Level.EMERGENCY and message is RecorderMessage.UNDELIVERABLE:
        phones = (PHONE_113, PHONE_LEGEVAKT)
    return TellRecorder(episode.episode_id, episode.recorder_orgnr, message, _TEXTS[message], phones)


def _tell_later(episode: Episode, message: RecorderMessage) -> tuple[TellRecorder, ...]:
    """A message for the recorder later than the call that made it the recorder (a timeout, an
    exhaustion, an acknowledgement, a resolution): also to the source when the recorder is neither
    the source nor a target, since access to an escalation, and the "sent" box, go by those."""
    tell = _tell(episode, message)
    if tell.orgnr == episode.source_orgnr or episode.target(tell.orgnr) is not None:
        return (tell,)
    return (tell, replace(tell, orgnr=episode.source_orgnr))


# --- errors ---------------------------------------------------------------------------------------


def _resolved() -> ServiceError:
    return Reason.ESCALATION_RESOLVED.error("the escalation is resolved")


def _already_acknowledged() -> ServiceError:
    return Reason.ESCALATION_ALREADY_ACKNOWLEDGED.error("the escalation is already acknowledged")


def _not_acknowledged() -> ServiceError:
    return Reason.ESCALATION_NOT_ACKNOWLEDGED.error("a reassessment is planned only after an acknowledgement")


def _not_responsible() -> ServiceError:
    return Reason.ESCALATION_NOT_RESPONSIBLE.error("only a responsible target that has not declined may do this")


def _emergency_no_plan() -> ServiceError:
    return Reason.ESCALATION_EMERGENCY_NO_PLAN.error("an emergency is never left to a planned reassessment")


def _events_limit() -> ServiceError:
    return Reason.ESCALATION_EVENTS_LIMIT.error(
        f"the escalation holds its limit of {MAX_EVENTS_PER_EPISODE - _RESERVED_EVENTS} events from people; resolve it"
    )


def _request_id_reused() -> ServiceError:
    return Reason.REQUEST_ID_REUSED.error("the request_id was used for another change of this escalation")


def escalation_not_found() -> ServiceError:
    """The same as for an id that does not exist: an organisation neither target nor source learns nothing."""
    return Reason.ESCALATION_NOT_FOUND.error("no such escalation")


# --- validation -----------------------------------------------------------------------------------


def _check(actor: Responder, request_id: str, texts: dict[str, tuple[str, TextField]]) -> None:
    problems: dict[str, str] = {}
    try:
        validate_hpr_number(actor.person.hpr_number)
    except InvalidIdentifier as exc:
        problems["hpr_number"] = str(exc)
    for path, (value, spec) in {
        "request_id": (request_id, REQUEST_ID),
        "name": (actor.person.name, PERSON_NAME),
        **texts,
    }.items():
        if (problem := text_problem(value, spec)) is not None:
            problems[path] = problem
    if problems:
        raise invalid_argument(problems)


def _repeat(episode: Episode, request_id: str, same: Event) -> bool:
    """True when the request was already applied as `same` (then nothing changes); raises when
    the request id was used for something else."""
    for event in episode.events:
        if event.request_id == request_id:
            # The time and the episode's level then may differ; a concern's level is its request's.
            level = event.level if same.kind is EventKind.CONCERN else same.level
            if replace(event, at=same.at, level=level) == same:
                return True
            raise _request_id_reused()
    return False


def _room_for_action(episode: Episode) -> None:
    if len(episode.events) >= MAX_EVENTS_PER_EPISODE - _RESERVED_EVENTS:
        raise _events_limit()


# --- building blocks ------------------------------------------------------------------------------


def _with_timer(episode: Episode, kind: TimerKind, due_at: datetime | None) -> tuple[Episode, list[Effect]]:
    """The episode with its timer of `kind` replaced by one due at `due_at` (or removed, None)."""
    effects: list[Effect] = []
    old = episode.timer(kind)
    timers = tuple(t for t in episode.timers if t.kind is not kind)
    if old is not None:
        effects.append(CancelTimer(old))
    sequence = episode.timer_sequence
    if due_at is not None:
        sequence += 1
        new = Timer(episode.episode_id, kind, sequence, due_at)
        timers += (new,)
        effects.append(SetTimer(new))
    return replace(episode, timers=timers, timer_sequence=sequence), effects


def _without_timers(episode: Episode) -> tuple[Episode, list[Effect]]:
    effects: list[Effect] = [CancelTimer(t) for t in episode.timers]
    return replace(episode, timers=()), effects


def _notify(
    episode: Episode, orgnrs: Iterable[str], reason: NotifyReason, now: datetime
) -> tuple[Episode, list[Effect]]:
    """Notifications to these targets, but none to a target told within NOTIFY_AT_MOST_EVERY
    unless it is an upgrade, a timeout or an EMERGENCY."""
    wanted = set(orgnrs)
    exempt = reason in _NEVER_LIMITED or episode.level is Level.EMERGENCY
    effects: list[Effect] = []
    targets: list[EpisodeTarget] = []
    for target in episode.targets:
        told = target.last_notified_at
        if target.orgnr in wanted and (exempt or told is None or now - told >= NOTIFY_AT_MOST_EVERY):
            effects.append(
                Notify(
                    episode.episode_id,
                    target.orgnr,
                    target.target.role,
                    episode.level,
                    reason,
                    push=episode.level is not Level.REVIEW,
                    deadline=episode.deadline,
                )
            )
            target = replace(target, last_notified_at=now)
        targets.append(target)
    return replace(episode, targets=tuple(targets)), effects


def _add_event(episode: Episode, event: Event) -> Episode:
    return replace(episode, events=(*episode.events, event))


def _add_measurement(episode: Episode, ref: MeasurementRef) -> Episode:
    kept = tuple(sorted((*episode.measurements, ref), key=lambda m: m.measured_at))
    left_out = len(kept) - MAX_MEASUREMENTS_KEPT
    newest = max(episode.newest_measured_at or ref.measured_at, ref.measured_at)
    if left_out <= 0:
        return replace(episode, measurements=kept, newest_measured_at=newest)
    return replace(
        episode,
        measurements=kept[left_out:],
        newest_measured_at=newest,
        measurements_left_out=episode.measurements_left_out + left_out,
    )


def _deliverable(episode: Episode, besides: str = "") -> bool:
    """Someone responsible can be reached (other than `besides`, the organisation acting)."""
    return bool(episode.pending) or any(t.can_take and t.orgnr != besides for t in episode.targets)


def _exhausted(episode: Episode, now: datetime, told_by_decline: bool) -> tuple[Episode, list[Effect]]:
    """Nobody is left to add: the episode stays open, its chain exhausted; the recorder is told what the
    level's row says (REVIEW stays on the list only, unless everyone declined it)."""
    episode, effects = _with_timer(episode, TimerKind.ACKNOWLEDGE, None)
    episode = _add_event(replace(episode, chain_exhausted=True), Event(EventKind.CHAIN_EXHAUSTED, now, episode.level))
    on_timeout = rule_for(episode.level).on_timeout
    if on_timeout is OnTimeout.RECORDER_PHONES_113:
        effects += _tell_later(episode, RecorderMessage.PHONE_113)
    elif on_timeout is not OnTimeout.STAYS_OVERDUE or told_by_decline:
        effects += _tell_later(episode, RecorderMessage.PHONE_LEGEVAKT)
    return episode, effects


def _without_source(chain: Chain, source_orgnr: str) -> Chain:
    """The chain less the recorder's organisation (routing leaves it out already; this holds even
    when routes were made for another recorder)."""
    return replace(
        chain,
        first=tuple(t for t in chain.first if t.orgnr != source_orgnr),
        on_timeout=tuple(t for t in chain.on_timeout if t.orgnr != source_orgnr),
        on_decline=tuple(t for t in chain.on_decline if t.orgnr != source_orgnr),
    )


def _merge_chain(episode: Episode, chain: Chain, now: datetime) -> Episode:
    """The episode's targets with the chain's first targets added (or made responsible) and its
    pending list replaced by the chain's, less those already targets. Bounded."""
    targets = list(episode.targets)
    for new in chain.first:
        index = next((i for i, t in enumerate(targets) if t.orgnr == new.orgnr), None)
        if index is None:
            if len(targets) < MAX_TARGETS_PER_EPISODE:
                targets.append(EpisodeTarget(new, now, AddedBecause.UPGRADE))
        elif new.role is TargetRole.RESPONSIBLE:
            targets[index] = replace(targets[index], target=new, declined=False)
    known = {t.orgnr for t in targets}
    pending = tuple(t for t in chain.pending if t.orgnr not in known)
    return replace(episode, targets=tuple(targets), pending=pending)


def _open(
    episode_id: str,
    patient_id: str,
    source_orgnr: str,
    origin: Origin,
    level: Level,
    routes: Routes,
    now: datetime,
    within: AcknowledgeWithin,
    first_event: Event | None,
) -> Transition:
    chain = _without_source(routes.chain(level), source_orgnr)
    targets = tuple(EpisodeTarget(t, now, AddedBecause.OPENED) for t in chain.first[:MAX_TARGETS_PER_EPISODE])
    episode = Episode(
        episode_id=episode_id,
        patient_id=patient_id,
        source_orgnr=source_orgnr,
        origin=origin,
        level=level,
        state=State.OPEN,
        rules_version=RULES_VERSION,
        opened_at=now,
        targets=targets,
        pending=chain.pending,
        deadline=None,
        chain_exhausted=False,
        undeliverable=False,
        timers=(),
        timer_sequence=0,
        events=(Event(EventKind.OPENED, now, level),),
        measurements=(),
    )
    if first_event is not None:
        episode = _add_event(episode, first_event)
    effects: list[Effect] = []
    if rule_for(level).recorder_phones_113_first:
        effects.append(_tell(episode, RecorderMessage.PHONE_113))
    if not _deliverable(episode):
        episode = replace(episode, undeliverable=True)
        effects.append(_tell(episode, RecorderMessage.UNDELIVERABLE))
    else:
        episode = replace(episode, deadline=chain.deadline(now, within))
        episode, timer_effects = _with_timer(episode, TimerKind.ACKNOWLEDGE, episode.deadline)
        effects += timer_effects
        if not rule_for(level).recorder_phones_113_first:
            effects.append(_tell(episode, RecorderMessage.SENT))
    episode, notes = _notify(episode, (t.orgnr for t in episode.targets), NotifyReason.OPENED, now)
    return Transition(episode, (*effects, *notes))


def _upgrade(
    episode: Episode, level: Level, routes: Routes, now: datetime, within: AcknowledgeWithin, event: Event
) -> Transition:
    """A higher level, set by `event.orgnr` (the organisation whose measurement or concern it is): every
    other target is told again (even those that acknowledged or declined), the acknowledgement no
    longer holds, and the deadline is the new level's (never later than one already running). The
    acting organisation is the recorder now: it gets the recorder's messages (113 first for an
    EMERGENCY) and is never added or notified as a target of its own action."""
    acting = event.orgnr
    chain = _without_source(_without_source(routes.chain(level), episode.source_orgnr), acting)
    previous_deadline = episode.deadline if episode.state is State.OPEN and not episode.chain_exhausted else None
    episode = replace(
        episode, level=level, state=State.OPEN, acknowledgement=None, chain_exhausted=False, below_trigger_since_ack=0
    )
    episode = _merge_chain(episode, chain, now)
    episode = replace(episode, targets=tuple(replace(t, declined=False) for t in episode.targets))
    episode = _add_event(episode, event)
    episode, effects = _without_timers(episode)
    effects_after: list[Effect] = []
    if rule_for(level).recorder_phones_113_first:
        effects_after.append(_tell(episode, RecorderMessage.PHONE_113))
    if not _deliverable(episode, besides=acting):
        episode = replace(episode, undeliverable=True, deadline=None)
        effects_after.append(_tell(episode, RecorderMessage.UNDELIVERABLE))
    else:
        deadline = chain.deadline(now, within)
        if previous_deadline is not None and previous_deadline > now:
            deadline = min(deadline, previous_deadline)
        episode = replace(episode, undeliverable=False, deadline=deadline)
        episode, timer_effects = _with_timer(episode, TimerKind.ACKNOWLEDGE, deadline)
        effects += timer_effects
        if not rule_for(level).recorder_phones_113_first:
            effects_after.append(_tell(episode, RecorderMessage.SENT))
    others = (t.orgnr for t in episode.targets if t.orgnr != acting)
    episode, notes = _notify(episode, others, NotifyReason.UPGRADED, now)
    return Transition(episode, (*effects, *effects_after, *notes))


def _resolve(episode: Episode, event: Event) -> Transition:
    episode, effects = _without_timers(episode)
    episode = replace(_add_event(episode, event), state=State.RESOLVED, resolution=event, deadline=None)
    return Transition(episode, (*effects, *_tell_later(episode, RecorderMessage.RESOLVED)))


# --- transitions ----------------------------------------------------------------------------------


def record_measurement(
    current: Episode | None,
    *,
    measurement_id: str,
    measured_at: datetime,
    evaluation: Evaluation,
    new_episode_id: str,
    patient_id: str,
    source_orgnr: str,
    routes: Routes,
    now: datetime,
    within: AcknowledgeWithin,
) -> Transition:
    """A measurement of the patient was recorded and evaluated (escalation_rules.evaluate).
    `current` is the patient's open episode, if any. Without one, a level opens an episode with
    `new_episode_id`; with one, a newer measurement at a higher level upgrades it and any other is
    appended without a notification. `source_orgnr` is the organisation recording this measurement:
    it opens the episode as its source, or, upgrading it, becomes its recorder (never a target of
    its own alert). Applying the same measurement again changes nothing."""
    if current is not None and any(m.measurement_id == measurement_id for m in current.measurements):
        return Transition(current)
    if current is None or current.state is State.RESOLVED:
        if evaluation.level is None:
            return Transition(None)
        return _measured(
            _open(new_episode_id, patient_id, source_orgnr, Origin.SCORE, evaluation.level, routes, now, within, None),
            measurement_id,
            measured_at,
            evaluation.level,
        )
    episode = current
    full = len(episode.measurements) >= MAX_MEASUREMENTS_KEPT
    if full and measured_at < episode.measurements[0].measured_at:
        return Transition(episode)  # older than all it lists: it could change nothing
    # One measured at the same time as the newest may still upgrade (never suppress a higher level
    # for a tie); only a strictly newer one counts towards auto-resolution.
    newest = episode.newest_measured_at
    newer = newest is None or measured_at >= newest
    level = evaluation.level if newer else None
    if level is not None and level > episode.level:
        event = Event(EventKind.UPGRADED, now, level, source_orgnr)
        return _measured(_upgrade(episode, level, routes, now, within, event), measurement_id, measured_at, level)
    episode = _add_measurement(episode, MeasurementRef(measurement_id, measured_at, level))
    if not newer:
        return Transition(episode)
    # One that would have triggered but arrived too old to escalate is not below the trigger either.
    if level is not None or evaluation.no_escalation is NoEscalation.TOO_OLD:
        return Transition(replace(episode, below_trigger_since_ack=0))
    acknowledged = episode.acknowledgement
    if (
        episode.state in _TAKEN
        and episode.origin is Origin.SCORE
        and acknowledged is not None
        and evaluation.no_escalation is NoEscalation.BELOW_TRIGGER
        and measured_at > acknowledged.at
        and (newest is None or measured_at > newest)
    ):
        count = episode.below_trigger_since_ack + 1
        episode = replace(episode, below_trigger_since_ack=count)
        if count >= _BELOW_TRIGGER_TO_RESOLVE:
            return _resolve(episode, Event(EventKind.RESOLVED, now, episode.level, outcome=Outcome.AUTO_IMPROVED))
    return Transition(episode)


def _measured(transition: Transition, measurement_id: str, measured_at: datetime, level: Level) -> Transition:
    assert transition.episode is not None
    return Transition(
        _add_measurement(transition.episode, MeasurementRef(measurement_id, measured_at, level)), transition.effects
    )


def raise_concern(
    current: Episode | None,
    *,
    actor: Responder,
    level: Level,
    note: str,
    request_id: str,
    new_episode_id: str,
    patient_id: str,
    routes: Routes,
    now: datetime,
    within: AcknowledgeWithin,
) -> Transition:
    """A health person raises a concern at a chosen level, whatever the score (also for under-16s
    and in pregnancy, which are never escalated automatically). It opens an episode, upgrades the
    open one, or, at its level or lower, tells the targets again (within the notification limit)."""
    _check(actor, request_id, {"note": (note, replace(NOTE, required=True))})
    event = Event(EventKind.CONCERN, now, level, actor.orgnr, actor.person, request_id, note)
    if current is None or current.state is State.RESOLVED:
        return _open(new_episode_id, patient_id, actor.orgnr, Origin.CONCERN, level, routes, now, within, event)
    if _repeat(current, request_id, event):
        return Transition(current)
    _room_for_action(current)
    if level > current.level:
        return _upgrade(current, level, routes, now, within, event)
    episode = _add_event(current, event)
    others = (t.orgnr for t in episode.targets if t.can_take and t.orgnr != actor.orgnr)
    episode, notes = _notify(episode, others, NotifyReason.CONCERN, now)
    return Transition(episode, tuple(notes))


def _acting_target(episode: Episode, actor: Responder) -> EpisodeTarget:
    target = episode.target(actor.orgnr)
    if target is None:
        if actor.orgnr == episode.source_orgnr:
            raise _not_responsible()
        raise escalation_not_found()
    return target


def _taking_repeated(episode: Episode, actor: Responder, request_id: str, event: Event) -> bool:
    """The preconditions of taking the escalation or passing it on (acknowledge, decline): True
    when the request was already applied as `event` (then nothing changes); raises when the
    episode is resolved or taken, the actor is not a responsible target that may take it, or
    the episode has no room for another event."""
    target = _acting_target(episode, actor)
    if _repeat(episode, request_id, event):
        return True
    if episode.state is State.RESOLVED:
        raise _resolved()
    if episode.state in _TAKEN:
        raise _already_acknowledged()
    if not target.can_take:
        raise _not_responsible()
    _room_for_action(episode)
    return False


def acknowledge(episode: Episode, *, actor: Responder, request_id: str, now: datetime) -> Transition:
    """A responsible target takes the escalation: the chain stops, the recorder is told, and the
    episode resolves by itself 24 h later unless a higher level arrives."""
    _check(actor, request_id, {})
    event = Event(EventKind.ACKNOWLEDGED, now, episode.level, actor.orgnr, actor.person, request_id)
    if _taking_repeated(episode, actor, request_id, event):
        return Transition(episode)
    episode = replace(
        _add_event(episode, event),
        state=State.ACKNOWLEDGED,
        acknowledgement=event,
        deadline=None,
        chain_exhausted=False,
        below_trigger_since_ack=0,
    )
    episode, effects = _with_timer(episode, TimerKind.ACKNOWLEDGE, None)
    episode, more = _with_timer(episode, TimerKind.AUTO_RESOLVE, now + _QUIET_TO_RESOLVE)
    return Transition(episode, (*effects, *more, *_tell_later(episode, RecorderMessage.ACKNOWLEDGED)))


def decline(
    episode: Episode, *, actor: Responder, reason: str, request_id: str, now: datetime, within: AcknowledgeWithin
) -> Transition:
    """A responsible target passes it on with a reason: the next in the chain is added at once
    with a new deadline; with nobody left, the chain is exhausted and the recorder told."""
    _check(actor, request_id, {"reason": (reason, REASON)})
    event = Event(EventKind.DECLINED, now, episode.level, actor.orgnr, actor.person, request_id, reason)
    if _taking_repeated(episode, actor, request_id, event):
        return Transition(episode)
    targets = tuple(replace(t, declined=True) if t.orgnr == actor.orgnr else t for t in episode.targets)
    episode = _add_event(replace(episode, targets=targets), event)
    if episode.pending:
        return _add_next(episode, AddedBecause.DECLINE, NotifyReason.PASSED_ON, now, within)
    if any(t.can_take for t in episode.targets):
        return Transition(episode)
    episode, effects = _exhausted(episode, now, told_by_decline=True)
    return Transition(episode, tuple(effects))


def _add_next(
    episode: Episode, because: AddedBecause, reason: NotifyReason, now: datetime, within: AcknowledgeWithin
) -> Transition:
    """The next pending target joins with a new deadline (the level's time, counted in real time)."""
    new, *rest = episode.pending
    deadline = now + within.for_level(episode.level)
    episode = replace(
        episode,
        pending=tuple(rest),
        deadline=deadline,
        chain_exhausted=False,
        targets=(*episode.targets, EpisodeTarget(new, now, because)),
    )
    episode, effects = _with_timer(episode, TimerKind.ACKNOWLEDGE, deadline)
    episode, notes = _notify(episode, (new.orgnr,), reason, now)
    return Transition(episode, (*effects, *notes))


def plan_reassessment(
    episode: Episode, *, actor: Responder, reassess_at: datetime, note: str, request_id: str, now: datetime
) -> Transition:
    """After an acknowledgement (never for EMERGENCY): a reassessment is planned; if no newer
    measurement has arrived when it is due, the planner is reminded. The plan holds the episode
    open: the auto-resolution timer is cancelled, and re-armed for 24 h after the reassessment is due."""
    _check(actor, request_id, {"note": (note, NOTE)})
    event = Event(
        EventKind.REASSESSMENT_PLANNED,
        now,
        episode.level,
        actor.orgnr,
        actor.person,
        request_id,
        note,
        planned_for=reassess_at,
    )
    target = _acting_target(episode, actor)
    if _repeat(episode, request_id, event):
        return Transition(episode)
    if not now < reassess_at <= now + _MAX_REASSESS_AFTER:
        raise invalid_argument({"reassess_at": f"must be after now and at most {MAX_REASSESS_HOURS} h ahead"})
    if episode.state is State.RESOLVED:
        raise _resolved()
    if episode.level is Level.EMERGENCY:
        raise _emergency_no_plan()
    if episode.state not in _TAKEN:
        raise _not_acknowledged()
    if target.target.role is not TargetRole.RESPONSIBLE:
        raise _not_responsible()
    _room_for_action(episode)
    episode = replace(_add_event(episode, event), state=State.REASSESSMENT_PLANNED)
    # The plan holds the episode open until it is due: no auto-resolution before (re-armed when due).
    episode, effects = _with_timer(episode, TimerKind.AUTO_RESOLVE, None)
    episode, more = _with_timer(episode, TimerKind.REASSESSMENT, reassess_at)
    return Transition(episode, (*effects, *more))


def resolve(
    episode: Episode, *, actor: Responder, outcome: Outcome, note: str, request_id: str, now: datetime
) -> Transition:
    """A responsible target, or the recorder's organisation, closes the episode with an outcome
    (OTHER needs a note). Open timers are cancelled."""
    spec = replace(NOTE, required=outcome is Outcome.OTHER)
    _check(actor, request_id, {"note": (note, spec)})
    if outcome in _AUTOMATIC_OUTCOMES:
        raise invalid_argument({"outcome": "is set only by the escalation itself"})
    event = Event(EventKind.RESOLVED, now, episode.level, actor.orgnr, actor.person, request_id, note, outcome)
    if actor.orgnr != episode.source_orgnr:
        target = _acting_target(episode, actor)
        if target.target.role is not TargetRole.RESPONSIBLE:
            raise _not_responsible()
    if _repeat(episode, request_id, event):
        return Transition(episode)
    if episode.state is State.RESOLVED:
        raise _resolved()
    return _resolve(episode, event)


def fire_timer(episode: Episode, timer: Timer, *, now: datetime, within: AcknowledgeWithin) -> Transition:
    """A due timer. One the episode no longer holds (cancelled, replaced, already fired) or one
    not yet due changes nothing, so the sweeper may fire a timer any number of times."""
    if timer not in episode.timers or now < timer.due_at or episode.state is State.RESOLVED:
        return Transition(episode)
    episode, effects = _with_timer(episode, timer.kind, None)
    if timer.kind is TimerKind.ACKNOWLEDGE:
        episode = _add_event(episode, Event(EventKind.TIMEOUT, now, episode.level))
        if episode.pending:
            # A level whose timeout only leaves it overdue (REVIEW) keeps its pending targets for a
            # decline: the episode is overdue (its deadline passed), its chain not exhausted.
            if rule_for(episode.level).on_timeout is OnTimeout.STAYS_OVERDUE:
                return Transition(episode, tuple(effects))
            step = _add_next(episode, AddedBecause.TIMEOUT, NotifyReason.TIMEOUT, now, within)
            return Transition(step.episode, (*effects, *step.effects))
        episode, more = _exhausted(episode, now, told_by_decline=False)
        return Transition(episode, (*effects, *more))
    if timer.kind is TimerKind.AUTO_RESOLVE:
        event = Event(EventKind.RESOLVED, now, episode.level, outcome=Outcome.AUTO_NO_WORSENING)
        step = _resolve(episode, event)
        return Transition(step.episode, (*effects, *step.effects))
    # REASSESSMENT: the planner is reminded unless a newer measurement arrived since the plan, and
    # the quiet time before auto-resolution starts again from now.
    plan = next(e for e in reversed(episode.events) if e.kind is EventKind.REASSESSMENT_PLANNED)
    episode = replace(
        _add_event(episode, Event(EventKind.REASSESSMENT_DUE, now, episode.level, plan.orgnr)), state=State.ACKNOWLEDGED
    )
    episode, rearmed = _with_timer(episode, TimerKind.AUTO_RESOLVE, now + _QUIET_TO_RESOLVE)
    effects += rearmed
    newest = episode.newest_measured_at
    if newest is not None and newest > plan.at:
        return Transition(episode, tuple(effects))
    episode, notes = _notify(episode, (plan.orgnr,), NotifyReason.REASSESSMENT_DUE, now)
    return Transition(episode, (*effects, *notes))
