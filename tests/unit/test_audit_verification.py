"""verify_log: what an auditor's offline check finds in leaves and a signed checkpoint. The logs here
mix version-1 leaves (events stored before version 2) and version-2 leaves, as an upgraded log does."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from services.audit.checkpoints import NoteSigner
from services.audit.events import AuditRecord
from services.audit.leaves import Salts, leaf_bytes
from services.audit.merkle import Frontier, leaf_hash
from services.audit.signer import LogSigner
from services.audit.verification import LeafRecord, verify_log
from services.platform.vocabulary import Decision
from tests.fixtures.samples import BLANK_RECORD

ORIGIN = "samhandling.example/audit"
LOG = LogSigner(ORIGIN, NoteSigner.generate(ORIGIN))
VKEY = LOG.verifier.vkey


def record(key: str) -> AuditRecord:
    return replace(
        BLANK_RECORD,
        idempotency_key=key,
        occurred_at=datetime(2026, 1, 5, 8, 30, tzinfo=UTC),
        actor_client_id="demo-ehr",
        action=None,
        decision=Decision.PERMIT,
        decided_by="default",
    )


def data(i: int) -> bytes:
    """Leaf i: version 1 for even i, version 2 for odd i."""
    salts = Salts(bytes([i]) * 32, bytes([i + 100]) * 32) if i % 2 else None
    return leaf_bytes(record(f"k-{i}"), event_id=f"event-{i}", sequence=i + 1, salts=salts)


def log_of(size: int) -> tuple[list[LeafRecord], str]:
    leaves = [LeafRecord(i, leaf_hash(data(i)), data(i)) for i in range(size)]
    frontier = Frontier.empty()
    for leaf in leaves:
        frontier, _ = frontier.append(leaf.leaf_hash)
    return leaves, LOG.sign(size, frontier.root())


def test_an_intact_log_verifies_with_or_without_the_data():
    leaves, note = log_of(7)
    assert [leaf.data[0] for leaf in leaves] == [1, 2, 1, 2, 1, 2, 1]
    assert verify_log(leaves, note, VKEY, ORIGIN) == []
    assert verify_log([LeafRecord(x.index, x.leaf_hash) for x in leaves], note, VKEY, ORIGIN) == []
    assert verify_log(reversed(leaves), note, VKEY, ORIGIN) == []  # order of the list does not matter


def test_a_checkpoint_of_another_key_or_log_is_refused():
    leaves, note = log_of(3)
    other = NoteSigner.generate(ORIGIN).verifier.vkey
    assert verify_log(leaves, note, other, ORIGIN)[0].startswith("the checkpoint does not verify")
    assert verify_log(leaves, note, VKEY, "elsewhere/audit")[0].startswith("the checkpoint does not verify")
    assert verify_log(leaves, note.replace("\n3\n", "\n2\n"), VKEY, ORIGIN)[0].startswith(
        "the checkpoint does not verify"
    )


def test_changed_data_names_its_leaf():
    leaves, note = log_of(5)
    changed = data(2).replace(b'"PERMIT"', b'"DENY"')
    leaves[2] = LeafRecord(2, leaves[2].leaf_hash, changed)
    assert verify_log(leaves, note, VKEY, ORIGIN) == [
        "leaf 2: the event's data does not match its leaf hash: the event was changed"
    ]


def test_a_changed_hash_removed_inserted_or_swapped_leaf_breaks_the_root():
    leaves, note = log_of(5)
    changed = data(2).replace(b'"PERMIT"', b'"DENY"')
    rehashed = [*leaves[:2], LeafRecord(2, leaf_hash(changed), changed), *leaves[3:]]
    assert "do not hash to the signed root" in " ".join(verify_log(rehashed, note, VKEY, ORIGIN))
    assert "1 of the checkpoint's 5 leaves are missing" in " ".join(verify_log(leaves[:4], note, VKEY, ORIGIN))
    extra = [*leaves, LeafRecord(5, leaf_hash(data(5)), data(5))]
    assert verify_log(extra, note, VKEY, ORIGIN) == ["leaf 5 is outside the checkpoint's tree of 5 leaves"]
    swapped = [LeafRecord(0, leaves[1].leaf_hash), LeafRecord(1, leaves[0].leaf_hash), *leaves[2:]]
    assert "do not hash to the signed root" in " ".join(verify_log(swapped, note, VKEY, ORIGIN))


def test_a_leaf_whose_data_names_another_sequence_is_named():
    claim = b"\x01" + json.dumps({"sequence": 9}).encode()
    leaves_with_claim, _ = log_of(2)
    leaves_with_claim[1] = LeafRecord(1, leaf_hash(claim), claim)
    frontier = Frontier.empty()
    for leaf in leaves_with_claim:
        frontier, _ = frontier.append(leaf.leaf_hash)
    problems = verify_log(leaves_with_claim, LOG.sign(2, frontier.root()), VKEY, ORIGIN)
    assert problems == ["leaf 1: the data is the event of sequence 9, not 2"]


@pytest.mark.parametrize("bad", [LeafRecord(0, b"short"), LeafRecord(0, bytes(32)), LeafRecord(-1, bytes(32))])
def test_duplicate_malformed_or_negative_leaves_are_problems(bad):
    leaves, note = log_of(2)
    assert verify_log([*leaves, bad], note, VKEY, ORIGIN)  # twice, or outside the tree
    assert verify_log([bad, leaves[1]], note, VKEY, ORIGIN)


def test_a_leaf_of_an_unknown_version_is_named():
    leaves, _ = log_of(3)
    changed = b"\x03" + leaves[1].data[1:]
    leaves[1] = LeafRecord(1, leaf_hash(changed), changed)
    frontier = Frontier.empty()
    for leaf in leaves:
        frontier, _ = frontier.append(leaf.leaf_hash)
    assert verify_log(leaves, LOG.sign(3, frontier.root()), VKEY, ORIGIN) == [
        "leaf 1: the leaf is not an audit event of version 1 or 2"
    ]
