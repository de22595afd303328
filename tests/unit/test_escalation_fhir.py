"""An escalation episode as FHIR R4 (docs/escalation.md, "FHIR export"): a Task following the
episode and a Communication per delivery and per recorder message, each Bundle checked with the
fhir.resources R4B models (R4B left Task and Communication as R4 had them) as the patient export is.
Episodes are built through the core's own transitions with an injected clock, their deliveries
taken from the transitions' effects as the store records them."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from fhir.resources.R4B.communication import Communication
from fhir.resources.R4B.task import Task
from hypothesis import event, given, settings
from hypothesis import strategies as st

from services.platform.errors import ServiceError
from services.platform.naming_systems import NAMING_SYSTEMS, IdentifierType
from services.summary import fhir
from services.summary.escalation_deliveries import MAX_DELIVERIES_LISTED, Delivery, RecorderNote
from services.summary.escalation_episodes import (
    Episode,
    Notify,
    NotifyReason,
    Outcome,
    RecorderMessage,
    State,
    TellRecorder,
    TimerKind,
    Transition,
    acknowledge,
    decline,
    fire_timer,
    plan_reassessment,
    record_measurement,
    resolve,
)
from services.summary.escalation_fhir import (
    CATEGORIES,
    DELIVERY_ID,
    ESCALATION_ID,
    NOTIFY_REASON_CODES,
    ORIGIN_CODES,
    OUTCOME_CODES,
    PRIORITY,
    RECORDER_MESSAGE_CODES,
    TASK_INTENT,
    TASK_STATUS,
    escalation_bundle,
)
from services.summary.escalation_rules import AcknowledgeWithin, Level, evaluate
from services.summary.news2 import Spo2Scale
from services.summary.patients import Patient
from services.summary.trend import TrendPoint
from services.summary.vitals import Measurement, assess
from tests.fixtures import people
from tests.fixtures.escalation import (
    HOME_NURSING,
    LEGEVAKT,
    PATIENT,
    PATIENT_BORN,
    RECORDER,
    T0,
    actor,
    first_concern,
    measurement,
    minutes,
    routes,
)
from tests.fixtures.fhir_bundles import validated_bundle
from tests.fixtures.hypothesis_profiles import examples

WITHIN = AcknowledgeWithin()
GENERATED_AT = datetime(2026, 11, 5, 12, 0, tzinfo=UTC)
ORGNR = NAMING_SYSTEMS[IdentifierType.ENH]
HPR = NAMING_SYSTEMS[IdentifierType.HPR]
MODELS = {"Task": Task, "Communication": Communication}
TOR = Patient(PATIENT, "Tor Tenktsen", "1804", Spo2Scale.SCALE_1)  # seeds/patients.json
# NEWS2 totals that open each level (URGENT_REVIEW: a 3 in one parameter); REVIEW needs a rise.
OPENING = {Level.URGENT_REVIEW: (3, True), Level.URGENT: (5, False), Level.EMERGENCY: (7, False)}


class Recorded:
    """An episode driven through the core with an injected clock, its effects kept as the store
    keeps them: a Delivery per Notify (numbered in order), a RecorderNote per TellRecorder."""

    def __init__(self, routes_kwargs: dict[str, bool] | None = None) -> None:
        self.now = T0
        self.episode: Episode | None = None
        self.deliveries: list[Delivery] = []
        self.notes: list[RecorderNote] = []
        self.measurements: list[Measurement] = []
        self.points: list[TrendPoint] = []
        self.routes_kwargs = routes_kwargs or {}
        self.requests = 0

    def request_id(self) -> str:
        self.requests += 1
        return f"r{self.requests}"

    @property
    def open(self) -> Episode:
        assert self.episode is not None
        return self.episode

    @property
    def responsible(self) -> str:
        """The organisation that took it, else the first that may take it."""
        if (taken := self.open.acknowledgement) is not None:
            return taken.orgnr
        return next((t.orgnr for t in self.open.targets if t.can_take), HOME_NURSING)

    def later(self, delta: timedelta) -> datetime:
        self.now += delta
        return self.now

    def apply(self, step: Transition) -> Recorded:
        self.episode = step.episode or self.episode
        for effect in step.effects:
            if isinstance(effect, Notify):
                self.deliveries.append(Delivery(len(self.deliveries) + 1, effect, self.now))
            elif isinstance(effect, TellRecorder):
                self.notes.append(RecorderNote(effect, self.now))
        return self

    def measure(self, total: int, *, red: bool = False, ago: timedelta = timedelta(0)) -> Recorded:
        m = measurement(self.now - ago, total, red=red, mid=f"m{len(self.measurements) + 1}")
        evaluation = evaluate(m, PATIENT_BORN, self.points)
        assert evaluation.result is not None
        self.points.append(TrendPoint(m.measured_at, evaluation.result.total))
        self.measurements.append(m)
        return self.apply(
            record_measurement(
                self.episode,
                measurement_id=m.measurement_id,
                measured_at=m.measured_at,
                evaluation=evaluation,
                new_episode_id="esc-0001",
                patient_id=PATIENT,
                source_orgnr=RECORDER,
                routes=routes(self.now, **self.routes_kwargs),
                now=self.now,
                within=WITHIN,
            )
        )

    def at_level(self, level: Level) -> Recorded:
        if level is Level.REVIEW:
            return self.measure(0, ago=minutes(60)).measure(2)  # a rise of 2 within 24 h
        total, red = OPENING[level]
        return self.measure(total, red=red)

    def acknowledge(self, orgnr: str = "") -> Recorded:
        orgnr = orgnr or self.responsible
        return self.apply(
            acknowledge(self.open, actor=actor(orgnr), request_id=self.request_id(), now=self.later(minutes(3)))
        )

    def plan(self) -> Recorded:
        now = self.later(minutes(5))
        step = plan_reassessment(
            self.open,
            actor=actor(self.responsible),
            reassess_at=now + timedelta(hours=4),
            note="",
            request_id=self.request_id(),
            now=now,
        )
        return self.apply(step)

    def resolve(self, outcome: Outcome = Outcome.MANAGED_IN_PLACE, note: str = "") -> Recorded:
        now = self.later(minutes(20))
        step = resolve(
            self.open, actor=actor(self.responsible), outcome=outcome, note=note, request_id=self.request_id(), now=now
        )
        return self.apply(step)

    def decline(self) -> Recorded:
        now = self.later(minutes(2))
        step = decline(
            self.open,
            actor=actor(self.responsible),
            reason="Ikke vår",
            request_id=self.request_id(),
            now=now,
            within=WITHIN,
        )
        return self.apply(step)

    def time_out(self) -> Recorded:
        timer = self.open.timer(TimerKind.ACKNOWLEDGE)
        assert timer is not None
        self.now = timer.due_at
        return self.apply(fire_timer(self.open, timer, now=self.now, within=WITHIN))

    def bundle(self, generated_at: datetime = GENERATED_AT) -> dict:
        bundle = escalation_bundle(
            self.open, deliveries=self.deliveries, recorder_notes=self.notes, generated_at=generated_at
        )
        return validated_bundle(bundle, MODELS, fhir.instant(generated_at))


def task_of(bundle: dict) -> dict:
    [task] = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Task"]
    assert bundle["entry"][0]["resource"] is task
    return task


def communications(bundle: dict, *, deliveries: bool) -> list[dict]:
    """The Communications for deliveries (identified by delivery id), or the recorder messages."""
    found = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Communication"]
    return [c for c in found if ("identifier" in c) == deliveries]


def code(concept: dict) -> tuple[str, str]:
    [coding] = concept["coding"]
    return coding["system"], coding["code"]


def organisation(orgnr: str) -> dict:
    return {"type": "Organization", "identifier": {"system": ORGNR, "value": orgnr}}


def text_of(payload: dict) -> tuple[str, str]:
    attachment = payload["contentAttachment"]
    assert attachment["contentType"] == "text/plain; charset=utf-8"
    return attachment["language"], base64.b64decode(attachment["data"]).decode()


@pytest.mark.parametrize(
    ("level", "priority"),
    [(Level.REVIEW, "routine"), (Level.URGENT_REVIEW, "urgent"), (Level.URGENT, "asap"), (Level.EMERGENCY, "stat")],
)
def test_each_level_has_its_priority_and_each_state_its_task_status(level: Level, priority: str) -> None:
    recorded = Recorded().at_level(level)
    assert recorded.open.level is level
    statuses = [(recorded.open.state, task_of(recorded.bundle()))]
    statuses.append((recorded.acknowledge().open.state, task_of(recorded.bundle())))
    if level is not Level.EMERGENCY:  # never planned for an emergency
        statuses.append((recorded.plan().open.state, task_of(recorded.bundle())))
    statuses.append((recorded.resolve().open.state, task_of(recorded.bundle())))
    expected = [
        (State.OPEN, "requested"),
        (State.ACKNOWLEDGED, "accepted"),
        *([(State.REASSESSMENT_PLANNED, "on-hold")] if level is not Level.EMERGENCY else []),
        (State.RESOLVED, "completed"),
    ]
    assert [(state, task["status"]) for state, task in statuses] == expected
    assert {task["priority"] for _, task in statuses} == {priority}
    assert {task["intent"] for _, task in statuses} == {"order"}
    assert {code(task["reasonCode"]) for _, task in statuses} == {(ORIGIN_CODES, "SCORE")}


def test_the_owner_is_the_acknowledging_organisation_only_once_acknowledged() -> None:
    recorded = Recorded().at_level(Level.URGENT)
    task = task_of(recorded.bundle())
    assert "owner" not in task
    assert task["requester"] == organisation(RECORDER)
    assert task["restriction"] == {"period": {"end": fhir.instant(T0 + WITHIN.urgent)}}  # acknowledge by
    task = task_of(recorded.acknowledge(LEGEVAKT).bundle())
    assert task["owner"] == organisation(LEGEVAKT)
    assert task["executionPeriod"] == {"start": fhir.instant(T0 + minutes(3))}
    assert "restriction" not in task
    # A higher level voids the acknowledgement: nobody owns it until someone takes it again.
    task = task_of(recorded.measure(7).bundle())
    assert (task["status"], task["priority"], "owner" in task) == ("requested", "stat", False)
    task = task_of(recorded.acknowledge(HOME_NURSING).resolve().bundle())
    assert (task["status"], task["owner"]) == ("completed", organisation(HOME_NURSING))


def test_focus_and_for_are_the_patient_exports_news2_observation_of_the_newest_measurement_and_patient() -> None:
    recorded = Recorded().measure(5)
    recorded.later(minutes(10))
    recorded.measure(6)  # the newest: appended without a notification
    recorded.later(minutes(10))
    recorded.measure(5, ago=minutes(30))  # measured before both, arriving late
    newest = recorded.measurements[1]
    task = task_of(recorded.bundle())
    patient_bundle = fhir.patient_bundle(
        TOR,
        services=None,
        measurements=[(m, assess(m, PATIENT_BORN)) for m in recorded.measurements],
        today=date(2026, 11, 4),
        generated_at=GENERATED_AT,
    )
    by_url = {e["fullUrl"]: e["resource"] for e in patient_bundle["entry"]}
    observation = by_url[task["focus"]["reference"]]
    assert task["focus"]["type"] == "Observation"
    assert (observation["code"]["coding"][0]["code"], observation["valueInteger"]) == ("1104051000000101", 6)
    assert observation["effectiveDateTime"] == fhir.instant(newest.measured_at)
    assert by_url[task["for"]["reference"]]["resourceType"] == "Patient"
    assert observation["subject"] == {"reference": task["for"]["reference"]}
    assert task["for"]["identifier"] == by_url[task["for"]["reference"]]["identifier"][0]


def test_one_communication_per_delivery_to_the_organisation_about_the_task() -> None:
    recorded = Recorded(dict(follow_up=False)).at_level(Level.URGENT_REVIEW)  # home nursing, then the legevakt
    recorded.time_out()
    bundle = recorded.bundle()
    task_url = bundle["entry"][0]["fullUrl"]
    sent = communications(bundle, deliveries=True)
    assert len(recorded.deliveries) == len(sent) == 2
    for delivery, communication in zip(recorded.deliveries, sent, strict=True):
        assert communication["identifier"] == [{"system": DELIVERY_ID, "value": str(delivery.delivery_id)}]
        assert communication["status"] == "completed"
        assert communication["sent"] == fhir.instant(delivery.created_at)
        assert communication["recipient"] == [organisation(delivery.notify.orgnr)]
        assert communication["about"] == [{"reference": task_url, "type": "Task"}]
        assert communication["priority"] == "urgent"
        assert "subject" not in communication  # the inbox carries no patient data
    assert [(c["recipient"][0]["identifier"]["value"], code(c["reasonCode"][0])) for c in sent] == [
        (HOME_NURSING, (NOTIFY_REASON_CODES, "OPENED")),
        (LEGEVAKT, (NOTIFY_REASON_CODES, "TIMEOUT")),
    ]
    assert {code(c["category"][0])[1] for c in sent} == {"alert"}
    assert sent[1]["payload"] == [
        {
            "contentString": f"URGENT_REVIEW escalation, responsible organisation; acknowledge by {fhir.instant(recorded.now + WITHIN.urgent_review)}."
        }
    ]
    # A REVIEW is listed, not pushed: a notification, not an alert.
    review = Recorded().at_level(Level.REVIEW).bundle()
    assert {code(c["category"][0])[1] for c in communications(review, deliveries=True)} == {"notification"}


def test_the_recorders_messages_are_communications_to_its_organisation_in_both_languages() -> None:
    recorded = Recorded().at_level(Level.EMERGENCY)
    recorded.acknowledge()
    told = communications(recorded.bundle(), deliveries=False)
    assert [code(c["reasonCode"][0]) for c in told] == [
        (RECORDER_MESSAGE_CODES, RecorderMessage.PHONE_113.value),
        (RECORDER_MESSAGE_CODES, RecorderMessage.ACKNOWLEDGED.value),
    ]
    assert [code(c["category"][0])[1] for c in told] == ["instruction", "notification"]
    assert {json.dumps(c["recipient"]) for c in told} == {json.dumps([organisation(RECORDER)])}
    phone = recorded.notes[0].tell.text
    assert [text_of(p) for p in told[0]["payload"]] == [("nb", phone.nb), ("en", phone.en)]
    assert "113" in phone.en


def test_notes_say_who_acknowledged_planned_and_resolved_and_the_outcome_is_the_output() -> None:
    recorded = Recorded().at_level(Level.URGENT).acknowledge().plan()
    task = task_of(recorded.bundle())
    planned_for = recorded.now + timedelta(hours=4)
    author = {
        "type": "Practitioner",
        "identifier": {"system": HPR, "value": people.LARS_HPR},
        "display": "Lars Legevaktsen",
    }
    assert task["note"] == [
        {
            "authorReference": author,
            "time": fhir.instant(T0 + minutes(3)),
            "text": f"Acknowledged for organisation {HOME_NURSING}.",
        },
        {
            "authorReference": author,
            "time": fhir.instant(recorded.now),
            "text": f"Reassessment planned for {fhir.instant(planned_for)} by organisation {HOME_NURSING}.",
        },
    ]
    assert task["businessStatus"] == {
        "text": f"URGENT: acknowledged, reassessment planned for {fhir.instant(planned_for)}"
    }
    task = task_of(recorded.resolve(Outcome.OTHER, "Fastlege kontaktet").bundle())
    assert (
        task["note"][-1]["text"]
        == f"Resolved by organisation {HOME_NURSING}: Other (see the note). Note: Fastlege kontaktet"
    )
    assert len(task["note"]) == 2  # the plan is no longer in force
    assert [code(o["valueCodeableConcept"]) for o in task["output"]] == [(OUTCOME_CODES, "OTHER")]
    assert task["executionPeriod"] == {"start": fhir.instant(T0 + minutes(3)), "end": fhir.instant(recorded.now)}
    assert task["lastModified"] == fhir.instant(recorded.now)
    assert task["authoredOn"] == fhir.instant(T0)


def test_an_automatic_resolution_has_no_author() -> None:
    recorded = Recorded().at_level(Level.URGENT).acknowledge()
    timer = recorded.open.timer(TimerKind.AUTO_RESOLVE)
    assert timer is not None
    recorded.now = timer.due_at
    task = task_of(recorded.apply(fire_timer(recorded.open, timer, now=recorded.now, within=WITHIN)).bundle())
    assert task["note"][-1] == {
        "time": fhir.instant(timer.due_at),
        "text": "Resolved: Resolved by itself: 24 h after the acknowledgement without a higher level.",
    }
    assert task["businessStatus"]["text"] == "URGENT: resolved (AUTO_NO_WORSENING)"


def test_business_status_says_the_level_and_where_the_chain_stands() -> None:
    recorded = Recorded(dict(follow_up=False)).at_level(Level.URGENT_REVIEW)
    due = T0 + WITHIN.urgent_review
    before = recorded.bundle(generated_at=due - minutes(1))
    assert task_of(before)["businessStatus"]["text"] == (
        f"URGENT_REVIEW: waiting for acknowledgement by {fhir.instant(due)}; 1 more in the chain"
    )
    assert task_of(recorded.bundle(generated_at=due))["businessStatus"]["text"] == (
        f"URGENT_REVIEW: overdue, not acknowledged by {fhir.instant(due)}; 1 more in the chain"
    )
    recorded.time_out()
    recorded.time_out()
    task = task_of(recorded.bundle())
    assert (task["status"], task["businessStatus"]["text"]) == (
        "requested",
        "URGENT_REVIEW: chain exhausted, nobody left to add; overdue until someone takes it",
    )
    nobody = Recorded(dict(follow_up=False, home_nursing=False, legevakt=False)).at_level(Level.URGENT)
    task = task_of(nobody.bundle())
    assert (
        task["businessStatus"]["text"]
        == "URGENT: undeliverable, nobody responsible found; the recorder was told to phone"
    )
    assert communications(nobody.bundle(), deliveries=True) == []


def test_a_concern_without_a_measurement_has_no_focus() -> None:
    recorded = Recorded()
    step = first_concern(actor(RECORDER), Level.URGENT, "Virker forvirret", T0, new_episode_id="esc-0002")
    task = task_of(recorded.apply(step).bundle())
    assert "focus" not in task
    assert code(task["reasonCode"]) == (ORIGIN_CODES, "CONCERN")
    assert task["identifier"] == [{"system": ESCALATION_ID, "value": "esc-0002"}]


def test_refuses_a_delivery_of_another_episode_and_more_than_the_store_lists() -> None:
    recorded = Recorded().at_level(Level.URGENT)
    [first, *_] = recorded.deliveries
    other = Delivery(
        99, Notify("esc-other", LEGEVAKT, first.notify.role, Level.URGENT, NotifyReason.OPENED, True, None), T0
    )
    with pytest.raises(ValueError, match="another episode"):
        escalation_bundle(recorded.open, deliveries=[other], recorder_notes=[], generated_at=GENERATED_AT)
    with pytest.raises(ValueError, match=f"at most {MAX_DELIVERIES_LISTED} deliveries"):
        escalation_bundle(
            recorded.open,
            deliveries=[first] * (MAX_DELIVERIES_LISTED + 1),
            recorder_notes=[],
            generated_at=GENERATED_AT,
        )


def test_the_same_episode_gives_the_same_bundle_sharing_nothing() -> None:
    recorded = Recorded().at_level(Level.EMERGENCY)
    first, second = recorded.bundle(), recorded.bundle()
    assert json.dumps(first) == json.dumps(second)
    first["entry"][1]["resource"]["recipient"][0]["identifier"]["value"] = "changed by a caller"
    assert second["entry"][1]["resource"]["recipient"][0]["identifier"]["value"] != "changed by a caller"
    assert first["entry"][2]["resource"]["recipient"][0]["identifier"]["value"] != "changed by a caller"


# Weighted towards taking the episode, so that histories end in every state (the statistics show it).
ACTIONS = st.lists(
    st.sampled_from(
        ["acknowledge"] * 3
        + ["plan"] * 2
        + ["measure-low"] * 2
        + ["measure-urgent", "measure-emergency", "decline", "resolve", "timeout"]
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=examples(60))
@given(level=st.sampled_from(list(Level)), actions=ACTIONS)
def test_any_history_exports_a_valid_bundle_following_the_episode(level: Level, actions: list[str]) -> None:
    recorded = Recorded().at_level(level)
    steps = {
        "measure-urgent": lambda: recorded.measure(5),
        "measure-emergency": lambda: recorded.measure(7),
        "measure-low": lambda: recorded.measure(0),
        "acknowledge": recorded.acknowledge,
        "decline": recorded.decline,
        "plan": recorded.plan,
        "resolve": recorded.resolve,
        "timeout": lambda: recorded.time_out() if recorded.open.timer(TimerKind.ACKNOWLEDGE) else recorded,
    }
    for action in actions:
        recorded.later(minutes(7))
        try:
            steps[action]()
        except ServiceError:
            pass  # refused (resolved, not acknowledged, ...): nothing changed
    episode = recorded.open
    event(f"{episode.state.name} {'owned' if episode.acknowledgement else 'not owned'}")
    bundle = recorded.bundle()
    task = task_of(bundle)
    assert (task["status"], task["priority"]) == (TASK_STATUS[episode.state], PRIORITY[episode.level])
    assert ("owner" in task) == (episode.acknowledgement is not None)
    assert len(communications(bundle, deliveries=True)) == len(recorded.deliveries)
    assert len(communications(bundle, deliveries=False)) == len(recorded.notes)
    assert task["focus"]["reference"] == fhir.news2_observation_full_url(
        PATIENT, episode.measurements[-1].measurement_id
    )


def test_the_codes_chosen_are_in_fhir_r4s_value_sets() -> None:
    # The models check structure, not required bindings: FHIR R4's value sets, as published.
    task_status = {"draft", "requested", "received", "accepted", "rejected", "ready", "cancelled", "in-progress"}
    task_status |= {"on-hold", "failed", "completed", "entered-in-error"}
    request_priority = {"routine", "urgent", "asap", "stat"}
    task_intent = {"unknown", "proposal", "plan", "order", "original-order", "reflex-order", "filler-order"}
    task_intent |= {"instance-order", "option"}
    assert set(TASK_STATUS) == set(State) and set(TASK_STATUS.values()) <= task_status
    assert set(PRIORITY) == set(Level) and set(PRIORITY.values()) == request_priority
    assert TASK_INTENT in task_intent
    assert set(CATEGORIES) <= {"alert", "notification", "reminder", "instruction"}  # communication-category
