"""Person pseudonyms in logs are keyed (issue 12, point 8): HMAC-SHA-256 under
SAMHANDLING_LOG_PSEUDONYM_KEY, so a tag cannot be reversed by trying every person number
without the key, and production refuses to start without one."""

from __future__ import annotations

import hashlib
import json
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from services.platform.ids import pseudonymise
from services.platform.log_pseudonyms import DEV_KEY_FILE, log_pseudonym_key
from services.platform.production import check_backend_production, production_problems
from services.platform.settings import Settings, SettingsError
from tests.fixtures import people

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
KEY = b"k" * 32
OTHER_KEY = b"o" * 32


def seeded_person_numbers() -> list[str]:
    patients = json.loads((SEEDS / "patients.json").read_text())
    staff = json.loads((SEEDS / "personnel.json").read_text()) + json.loads((SEEDS / "auditors.json").read_text())
    return [p["patient_id"] for p in patients] + [p["pid"] for p in staff]


def test_the_pseudonym_is_stable_under_one_key_and_differs_by_key() -> None:
    tag = pseudonymise(people.ESKIL, KEY)
    assert tag == pseudonymise(people.ESKIL, KEY)
    assert tag != pseudonymise(people.RAGNHILD, KEY)
    assert tag != pseudonymise(people.ESKIL, OTHER_KEY)
    assert tag.startswith("p:") and len(tag) == 18 and people.ESKIL not in tag


def test_without_the_key_no_candidate_number_gives_the_tag() -> None:
    """What reversed the old tag in 13 s: hash every candidate and compare. With the key it
    still finds the person (so the key is a secret); with any other key, or none, nobody."""
    tag = pseudonymise(people.ESKIL, KEY)
    candidates = seeded_person_numbers()
    assert people.ESKIL in candidates

    def unkeyed(pid: str, prefix: bytes) -> str:
        return "p:" + hashlib.sha256(prefix + pid.encode()).hexdigest()[:16]

    assert [pid for pid in candidates if pseudonymise(pid, KEY) == tag] == [people.ESKIL]
    assert [pid for pid in candidates if pseudonymise(pid, OTHER_KEY) == tag] == []
    for prefix in (b"", b"samhandling/log-pseudonym/v1\x00", b"samhandling/log-pseudonym/v2\x00"):
        assert [pid for pid in candidates if unkeyed(pid, prefix) == tag] == []


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        pseudonymise(people.ESKIL, b"short")
    with pytest.raises(SettingsError, match="shorter than 32"):
        log_pseudonym_key("short", var_dir=None, production=False)


@pytest.fixture
def production() -> Settings:
    return replace(Settings(), env="production", tls_by_mesh=True, log_pseudonym_key="s" * 32)


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (None, "SAMHANDLING_LOG_PSEUDONYM_KEY or SAMHANDLING_LOG_PSEUDONYM_KEY_FILE must hold a secret of at least 32"),
        ("too-short", "SAMHANDLING_LOG_PSEUDONYM_KEY is shorter than 32 characters"),
    ],
)
def test_production_refuses_a_missing_or_short_key_in_every_component(
    production: Settings, key: str | None, expected: str
) -> None:
    assert any(expected in p for p in production_problems(replace(production, log_pseudonym_key=key)))
    assert not any("LOG_PSEUDONYM" in p for p in production_problems(production))
    with pytest.raises(SettingsError, match=expected):
        check_backend_production(replace(production, log_pseudonym_key=key))
    with pytest.raises(SettingsError, match="must be set in production mode"):
        log_pseudonym_key(None, var_dir=production.var_dir, production=True)


def test_production_never_falls_back_to_the_development_key(tmp_path: Path) -> None:
    dev_key = log_pseudonym_key(None, var_dir=tmp_path, production=False)
    assert (tmp_path / DEV_KEY_FILE).exists()
    with pytest.raises(SettingsError):
        log_pseudonym_key(None, var_dir=tmp_path, production=True)
    assert log_pseudonym_key("s" * 32, var_dir=tmp_path, production=True) != dev_key


def test_the_development_key_is_random_private_and_kept_per_var_dir(tmp_path: Path) -> None:
    first = log_pseudonym_key(None, var_dir=tmp_path / "a", production=False)
    assert log_pseudonym_key(None, var_dir=tmp_path / "a", production=False) == first
    assert log_pseudonym_key(None, var_dir=tmp_path / "b", production=False) != first
    assert stat.S_IMODE((tmp_path / "a" / DEV_KEY_FILE).stat().st_mode) == 0o600
    assert len(first) == 32
    assert log_pseudonym_key(None, var_dir=None, production=False) != log_pseudonym_key(
        None, var_dir=None, production=False
    )


def test_the_key_is_read_from_the_environment_and_never_shown() -> None:
    settings = Settings.from_env({"SAMHANDLING_LOG_PSEUDONYM_KEY": "s" * 40})
    assert settings.log_pseudonym_key == "s" * 40
    assert "s" * 40 not in repr(settings)
    assert Settings.from_env({}).log_pseudonym_key is None
