"""What the auditor console checks about the log (gateway/web/logcheck.py): an event proof read
with the pinned key (and refused with another), checkpoints opened with it, consistency links
between checkpoints an auditor saw, and the pinned key's setting."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from gateway.web import logcheck
from services.audit import merkle
from services.platform.settings import Settings, SettingsError
from tests.fixtures import people
from tests.fixtures.log_checks import OTHER_VKEY, SIGNER, VKEY, proof, tree


def test_a_proof_read_with_the_pinned_key_gives_the_event_and_its_tree() -> None:
    event = logcheck.read_event_proof(proof(3, 7), VKEY)

    assert (event.sequence, event.tree_size) == (4, 7)
    assert event.get("justification") == "akutt" and event.get("flagged") is True
    assert event.get("actor_hpr_number") == people.LARS_HPR
    assert event.occurred_at == datetime(2026, 12, 4, 21, 30, tzinfo=UTC)


def test_a_proof_is_refused_with_another_key_or_changed() -> None:
    with pytest.raises(logcheck.LogCheckFailed):
        logcheck.read_event_proof(proof(3, 7), OTHER_VKEY)
    text = proof(3, 7)
    forged = text.replace("index 3\n", "index 2\n", 1)
    with pytest.raises(logcheck.LogCheckFailed):
        logcheck.read_event_proof(forged, VKEY)


def test_checkpoints_open_only_with_the_pinned_key() -> None:
    _, root = tree(5)
    note = SIGNER.sign(5, root)
    assert logcheck.open_pinned(note, VKEY).size == 5
    with pytest.raises(logcheck.LogCheckFailed):
        logcheck.open_pinned(note, OTHER_VKEY)


def test_a_link_holds_when_the_log_only_grew_and_fails_otherwise() -> None:
    nodes, root9 = tree(9)
    _, root4 = tree(4)
    newer = logcheck.open_pinned(SIGNER.sign(9, root9), VKEY)
    seen = logcheck.Seen(4, root4, 100)

    logcheck.check_link(seen, newer, merkle.consistency_proof(4, 9, nodes))
    logcheck.check_link(logcheck.Seen(9, root9, 100), newer, [])  # the same tree
    with pytest.raises(logcheck.LogCheckFailed, match="different roots"):
        logcheck.check_link(logcheck.Seen(9, root4, 100), newer, [])
    with pytest.raises(logcheck.LogCheckFailed, match="shrank"):
        logcheck.check_link(logcheck.Seen(10, root4, 100), newer, [])
    _, other4 = tree(3)
    with pytest.raises(logcheck.LogCheckFailed):  # a rewritten history does not prove consistent
        logcheck.check_link(logcheck.Seen(4, other4, 100), newer, merkle.consistency_proof(4, 9, nodes))


def test_the_chain_is_kept_bounded_and_survives_its_text_form() -> None:
    chain: list[logcheck.Seen] = []
    for size in range(1, 10):
        _, root = tree(size)
        chain = logcheck.extend(chain, logcheck.open_pinned(SIGNER.sign(size, root), VKEY), size)
    again = logcheck.extend(chain, logcheck.open_pinned(SIGNER.sign(9, tree(9)[1]), VKEY), 99)

    assert again == chain  # the same checkpoint is not appended twice
    assert len(logcheck.parse_chain(logcheck.format_chain(chain * 3))) == logcheck.MAX_CHAIN
    assert logcheck.parse_chain(logcheck.format_chain(chain)) == chain
    assert logcheck.parse_chain("not json") == [] and logcheck.parse_chain(None) == []


def test_the_pinned_key_is_the_setting_or_in_development_the_dev_log_key() -> None:
    dev = Settings()
    derived = logcheck.pinned_vkey(dev)
    assert derived.startswith("samhandling.dev/audit+")
    assert logcheck.pinned_vkey(replace(dev, audit_log_vkey=VKEY)) == VKEY
    with pytest.raises(SettingsError, match="SAMHANDLING_AUDIT_LOG_VKEY"):
        logcheck.pinned_vkey(replace(dev, audit_log_vkey="samhandling.dev/audit+00000000+AAAA"))
    with pytest.raises(SettingsError, match="SAMHANDLING_AUDIT_LOG_VKEY"):
        logcheck.pinned_vkey(replace(dev, env="production"))
