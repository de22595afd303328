"""Secrets from files (services/platform/secret_files.py): SAMHANDLING_LOG_PSEUDONYM_KEY_FILE
and SAMHANDLING_DATABASE_PASSWORD_FILE as Settings.from_env reads them. The database password
on a real server: tests/integration/test_database_password_file.py."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from services.platform.production import check_backend_production, production_problems
from services.platform.secret_files import MAX_SECRET_BYTES
from services.platform.settings import Settings, SettingsError

KEY = "k" * 32
URL = "postgresql+psycopg://samhandling@db.example.no:5432/summary"


def _file(tmp_path: Path, content: str | bytes, name: str = "secret") -> str:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, newline="")
    return str(path)


@pytest.mark.parametrize("content", [KEY, KEY + "\n", KEY + "\r\n"])
def test_the_log_pseudonym_key_comes_from_its_file_without_the_trailing_newline(tmp_path: Path, content: str):
    settings = Settings.from_env({"SAMHANDLING_LOG_PSEUDONYM_KEY_FILE": _file(tmp_path, content)})
    assert settings.log_pseudonym_key == KEY
    assert KEY not in repr(settings)


def test_only_one_trailing_newline_is_stripped(tmp_path: Path):
    settings = Settings.from_env({"SAMHANDLING_LOG_PSEUDONYM_KEY_FILE": _file(tmp_path, f" {KEY}\n\n")})
    assert settings.log_pseudonym_key == f" {KEY}\n"


def test_the_key_and_its_file_together_are_refused(tmp_path: Path):
    with pytest.raises(
        SettingsError, match="set SAMHANDLING_LOG_PSEUDONYM_KEY or SAMHANDLING_LOG_PSEUDONYM_KEY_FILE, not both"
    ):
        Settings.from_env(
            {"SAMHANDLING_LOG_PSEUDONYM_KEY": KEY, "SAMHANDLING_LOG_PSEUDONYM_KEY_FILE": _file(tmp_path, KEY)}
        )


@pytest.mark.parametrize("mode", ["dev", "production"])
def test_a_short_key_in_its_file_is_refused_in_every_mode(tmp_path: Path, mode: str):
    path = _file(tmp_path, "k" * 31 + "\n")
    with pytest.raises(
        SettingsError, match=f"SAMHANDLING_LOG_PSEUDONYM_KEY_FILE: {path} holds fewer than 32 characters"
    ):
        Settings.from_env({"SAMHANDLING_ENV": mode, "SAMHANDLING_LOG_PSEUDONYM_KEY_FILE": path})


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "is empty"),
        ("\n", "is empty"),
        (b"\xff" * 40, "is not UTF-8 text"),
        ("k" * (MAX_SECRET_BYTES + 1), f"is longer than {MAX_SECRET_BYTES} bytes"),
    ],
)
def test_an_unusable_key_file_is_refused_naming_the_file(tmp_path: Path, content: str | bytes, expected: str):
    path = _file(tmp_path, content)
    with pytest.raises(SettingsError, match=f"SAMHANDLING_LOG_PSEUDONYM_KEY_FILE: {path} {expected}"):
        Settings.from_env({"SAMHANDLING_LOG_PSEUDONYM_KEY_FILE": path})


def test_a_missing_key_file_is_refused(tmp_path: Path):
    with pytest.raises(SettingsError, match="SAMHANDLING_LOG_PSEUDONYM_KEY_FILE: cannot read .*missing"):
        Settings.from_env({"SAMHANDLING_LOG_PSEUDONYM_KEY_FILE": str(tmp_path / "missing")})


def test_production_without_the_key_or_its_file_is_refused(tmp_path: Path):
    without = replace(Settings(), env="production", tls_by_mesh=True)
    expected = (
        "SAMHANDLING_LOG_PSEUDONYM_KEY or SAMHANDLING_LOG_PSEUDONYM_KEY_FILE must hold a secret "
        "of at least 32 characters"
    )
    assert any(expected in p for p in production_problems(without))
    with pytest.raises(SettingsError, match=expected):
        check_backend_production(without)
    from_file = Settings.from_env(
        {
            "SAMHANDLING_ENV": "production",
            "SAMHANDLING_TLS_BY_MESH": "1",
            "SAMHANDLING_LOG_PSEUDONYM_KEY_FILE": _file(tmp_path, KEY + "\n"),
        }
    )
    assert not any("LOG_PSEUDONYM" in p for p in production_problems(from_file))


def test_the_dev_default_is_unchanged():
    assert Settings.from_env({}).log_pseudonym_key is None  # log_pseudonyms: the var dir's random key


def test_the_database_password_file_is_named_and_read_at_start(tmp_path: Path):
    path = _file(tmp_path, "s3cret\n")
    settings = Settings.from_env({"SAMHANDLING_SUMMARY_DATABASE_URL": URL, "SAMHANDLING_DATABASE_PASSWORD_FILE": path})
    assert settings.database.password_file == Path(path)
    assert "s3cret" not in repr(settings)
    assert Settings.from_env({}).database.password_file is None


@pytest.mark.parametrize(("content", "expected"), [(None, "cannot read"), ("\n", "is empty")])
def test_an_unreadable_or_empty_password_file_refuses_the_start(tmp_path: Path, content: str | None, expected: str):
    path = _file(tmp_path, content) if content is not None else str(tmp_path / "missing")
    with pytest.raises(SettingsError, match=f"SAMHANDLING_DATABASE_PASSWORD_FILE: .*{expected}"):
        Settings.from_env({"SAMHANDLING_SUMMARY_DATABASE_URL": URL, "SAMHANDLING_DATABASE_PASSWORD_FILE": path})


@pytest.mark.parametrize("variable", ["SAMHANDLING_AUDIT_DATABASE_URL", "SAMHANDLING_AUDIT_SESSION_DATABASE_URL"])
def test_a_password_in_a_url_and_the_file_together_are_refused(tmp_path: Path, variable: str):
    env = {
        "SAMHANDLING_AUDIT_DATABASE_URL": URL,
        "SAMHANDLING_DATABASE_PASSWORD_FILE": _file(tmp_path, "s3cret"),
        variable: URL.replace("samhandling@", "samhandling:in-the-url@"),
    }
    with pytest.raises(SettingsError, match="database URLs of audit carry a password too: keep one") as refused:
        Settings.from_env(env)
    assert "in-the-url" not in str(refused.value) and "s3cret" not in str(refused.value)
