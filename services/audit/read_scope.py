"""Who may read which audit events (the caller's read scope on the log, not an OAuth scope: those are
gateway/oauth_scopes.py), pure (Normen fact sheet 15: organisations review their own
accesses, patients see who accessed their data)."""

from __future__ import annotations

from dataclasses import dataclass

from services.platform.vocabulary import ActorKind


@dataclass(frozen=True)
class ReadScope:
    """The events about one patient a reader may see."""

    patient_id: str
    # Only events whose actor belongs to this legal entity; None: every event about the patient.
    actor_orgnr_parent: str | None
    # Personnel's person numbers are not shown to patients; name, HPR number and org remain.
    shows_actor_pid: bool

    @property
    def shows_justification(self) -> bool:
        """A health person's justification of an emergency access is for the auditors who see
        staff person numbers, never for the patient (who sees the access itself, flagged)."""
        return self.shows_actor_pid


def read_scope(
    reader_kind: ActorKind | None,
    reader_orgnr_parent: str,
    reader_pid: str,
    patient_id: str,
    *,
    consent_permitted: bool = False,
) -> ReadScope | None:
    """The reader's scope on the patient's events; None when the reader may see none of them.

    A person (kind PATIENT) reads a log when it is their own, or when the gateway's consent
    decision permitted the access log for this patient (`consent_permitted`: the assertion names
    ACCESS_LOG) — that is how a guardian or an attorney reads the log of whom they represent;
    the consent service, not this one, knows who represents whom."""
    if reader_kind is ActorKind.AUDITOR and reader_orgnr_parent:
        return ReadScope(patient_id, actor_orgnr_parent=reader_orgnr_parent, shows_actor_pid=True)
    if reader_kind is ActorKind.PATIENT and reader_pid and (reader_pid == patient_id or consent_permitted):
        return ReadScope(patient_id, actor_orgnr_parent=None, shows_actor_pid=False)
    return None


@dataclass(frozen=True)
class LeafScope:
    """Whose events' leaf data a reader of the whole log (GetLeaves) sees; every leaf hash is
    public to such readers, the events behind them are not."""

    # Only events whose actor belongs to this legal entity; None: no event's data.
    actor_orgnr_parent: str | None

    def shows(self, event_actor_orgnr_parent: str) -> bool:
        return self.actor_orgnr_parent is not None and event_actor_orgnr_parent == self.actor_orgnr_parent


def leaf_scope(reader_kind: ActorKind | None, reader_orgnr_parent: str) -> LeafScope:
    """An auditor sees the data of their own organisation's events (as in read_scope, across
    patients: checking them is what the auditor verifies the log for); anyone else only hashes."""
    if reader_kind is ActorKind.AUDITOR and reader_orgnr_parent:
        return LeafScope(reader_orgnr_parent)
    return LeafScope(None)
