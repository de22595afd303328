"""Signing-key rotation: the pure rules, the store file, and how the running STS rereads it."""

import json
import logging
from pathlib import Path

import pytest

from services.sts.config import StsConfig
from services.sts.key_rotation import (
    PUBLICATION_SECONDS,
    KeyStore,
    KeyStoreError,
    StoredKey,
    initial_store,
    retention_seconds,
    rotate,
    store_from_json,
    store_to_json,
)
from services.sts.key_store import SigningKeys, key_store_path, open_key_store, rotate_signing_keys
from services.sts.keys import generate_signing_key, load_private_jwk_file

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
SEED_FILES = StsConfig(seeds_dir=SEEDS).signing_key_paths()
T0 = 1_800_000_000
RETENTION = retention_seconds(600)


def seed_store() -> KeyStore:
    return initial_store([load_private_jwk_file(p) for p in SEED_FILES], T0)


def kids(keys) -> list[str]:
    return [k.kid for k in keys]


def test_the_first_seed_key_signs_and_both_are_published() -> None:
    store = seed_store()

    assert store.signing_key(T0).kid == "sts-signing-1"
    assert kids(store.published(T0 + 10**6, RETENTION)) == ["sts-signing-1", "sts-signing-2"]


def test_rotation_signs_with_a_new_es256_key_and_keeps_the_old_ones_until_their_tokens_expired() -> None:
    rotated = rotate(seed_store(), T0, RETENTION)

    new = rotated.newest_key
    assert new.kid.startswith("sts-") and new.get("alg") == "ES256" and new.get("crv") == "P-256" and new.is_private
    # Published at once, signing only once resource servers can have fetched it.
    assert kids(rotated.published(T0, RETENTION)) == [new.kid, "sts-signing-1", "sts-signing-2"]
    assert rotated.signing_key(T0 + PUBLICATION_SECONDS - 1).kid == "sts-signing-1"
    assert rotated.signing_key(T0 + PUBLICATION_SECONDS).kid == new.kid
    active = T0 + PUBLICATION_SECONDS
    assert kids(rotated.published(active + RETENTION - 1, RETENTION)) == [new.kid, "sts-signing-1", "sts-signing-2"]
    assert kids(rotated.published(active + RETENTION, RETENTION)) == [new.kid]
    assert RETENTION == 600 + 60 and PUBLICATION_SECONDS > 10  # the gateway's unknown-kid refresh interval


def test_each_key_retires_when_it_stops_signing_and_is_dropped_after_its_retention() -> None:
    first = rotate(seed_store(), T0, RETENTION)
    second = rotate(first, T0 + 100, RETENTION)
    third = rotate(second, T0 + PUBLICATION_SECONDS + RETENTION + 1, RETENTION)

    p = PUBLICATION_SECONDS
    assert [(k.key.kid, k.retired_at) for k in second.keys][1:] == [
        (first.newest_key.kid, T0 + 100 + p),
        ("sts-signing-1", T0 + p),
        ("sts-signing-2", T0 + p),
    ]
    # The seed keys are gone; the first generated key stays until T0 + 100 + p + retention.
    assert kids(k.key for k in third.keys) == [third.newest_key.kid, second.newest_key.kid, first.newest_key.kid]


def test_two_rotations_in_one_second_get_distinct_kids() -> None:
    store = rotate(rotate(seed_store(), T0, RETENTION), T0, RETENTION)

    assert len({k.key.kid for k in store.keys}) == 4


def test_store_json_round_trip_marks_every_key_dev_only() -> None:
    store = rotate(seed_store(), T0, RETENTION)

    data = store_to_json(store)
    again = store_from_json(json.loads(json.dumps(data)))

    assert all(entry["jwk"]["dev_only"] is True for entry in data["keys"])
    assert [(k.key.as_dict(private=True), k.created_at, k.retired_at, k.active_from) for k in again.keys] == [
        (k.key.as_dict(private=True), k.created_at, k.retired_at, k.active_from) for k in store.keys
    ]


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda d: d.update(version=2), id="unknown-version"),
        pytest.param(lambda d: d.update(keys=[]), id="no-keys"),
        pytest.param(lambda d: d["keys"][0].update(retired_at=T0), id="signing-key-retired"),
        pytest.param(lambda d: d["keys"][1].update(jwk=d["keys"][0]["jwk"]), id="kid-twice"),
        pytest.param(lambda d: d["keys"][0]["jwk"].pop("d"), id="public-key-only"),
        pytest.param(lambda d: d["keys"][0].update(created_at="yesterday"), id="bad-time"),
    ],
)
def test_malformed_stores_are_refused(change) -> None:
    data = store_to_json(seed_store())
    change(data)

    with pytest.raises(KeyStoreError):
        store_from_json(data)


def test_a_stored_key_must_be_signing_first() -> None:
    key = generate_signing_key("k")

    with pytest.raises(KeyStoreError):
        KeyStore((StoredKey(key, T0, retired_at=T0),))


def test_rotate_signing_keys_creates_the_store_from_the_seeds_then_rotates(tmp_path: Path) -> None:
    kid = rotate_signing_keys(tmp_path, SEEDS, now=T0)

    path = key_store_path(tmp_path)
    assert path == tmp_path / "sts" / "signing-keys.json"
    assert path.stat().st_mode & 0o777 == 0o600
    store = open_key_store(path, SEED_FILES, T0 + 5)
    assert kids(k.key for k in store.keys) == [kid, "sts-signing-1", "sts-signing-2"]
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_the_running_sts_rereads_the_store_at_most_once_a_second(tmp_path: Path) -> None:
    clock = Clock(T0)
    keys = SigningKeys.open(StsConfig(seeds_dir=SEEDS, var_dir=tmp_path), clock)
    assert keys.signing_key().kid == "sts-signing-1"

    kid = rotate_signing_keys(tmp_path, SEEDS, now=T0)
    clock.now += 0.5
    before_a_second = keys.published()
    clock.now += 0.6
    after_a_second = keys.published()

    assert kids(before_a_second) == ["sts-signing-1", "sts-signing-2"]
    assert kids(after_a_second) == [kid, "sts-signing-1", "sts-signing-2"]
    assert keys.signing_key().kid == "sts-signing-1"  # published first, signing later
    clock.now = T0 + PUBLICATION_SECONDS
    assert keys.signing_key().kid == kid
    clock.now = T0 + PUBLICATION_SECONDS + RETENTION
    assert kids(keys.published()) == [kid]


def test_a_broken_store_file_keeps_the_last_good_keys(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock(T0)
    keys = SigningKeys.open(StsConfig(seeds_dir=SEEDS, var_dir=tmp_path), clock)

    key_store_path(tmp_path).write_text("{not json")
    clock.now += 2

    assert keys.signing_key().kid == "sts-signing-1"
    assert "keeping the current ones" in caplog.text


def test_without_a_var_dir_the_seed_keys_are_held_in_memory(tmp_path: Path) -> None:
    keys = SigningKeys.open(StsConfig(seeds_dir=SEEDS), Clock(T0))

    assert keys.signing_key().kid == "sts-signing-1"
    assert kids(keys.published()) == ["sts-signing-1", "sts-signing-2"]


def test_logs_name_kids_but_hold_no_key_material(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    rotate_signing_keys(tmp_path, SEEDS, now=T0)

    store = json.loads(key_store_path(tmp_path).read_text())
    assert "new kid sts-" in caplog.text
    for entry in store["keys"]:
        assert entry["jwk"]["d"] not in caplog.text
